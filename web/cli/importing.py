"""``tracenet import FILE --enterprise USCC [--type TYPE]``: a sheet as one ledger batch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import click
from sqlalchemy.orm import Session

from schemas.spreadsheet import (
    SPREADSHEET_TYPES,
    SpreadsheetError,
    infer_type,
    read_rows,
    row_numbers,
    rows_to_events,
)
from web.cli.context import with_ledger
from web.cli.terminal import progress_bar
from web.console.importing import append_events
from web.runtime import Runtime
from web.settings import TIME_ZONE

__all__ = ["import_command"]

#: the import report printed on failure stops after this many problems
_REPORT_LIMIT = 200


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--enterprise", required=True,
              help="USCC whose custodial key signs the records.")
@click.option("--type", "record_type", type=click.Choice(SPREADSHEET_TYPES),
              help="Record type of every row; default: from the file name, e.g. "
                   "shipment-2026-11.csv.")
@with_ledger
def import_command(runtime: Runtime, session: Session, file: Path, enterprise: str,
                   record_type: str | None) -> None:
    """Import a CSV or XLSX sheet of one record type as one atomic ledger batch.

    Every row is checked first; if any is invalid (or a ledger rule refuses one), nothing is
    appended and the problems are listed by sheet row and column, exit status 1.
    """
    if file.suffix.lower() == ".json":
        raise click.ClickException("EPCIS import arrives with the EPCIS issue; for now import "
                                   "CSV or XLSX sheets")
    record_type = record_type or infer_type(file.name)
    if record_type is None:
        raise click.ClickException(
            f"cannot tell the record type from the file name {file.name!r}; name the file "
            f"after its type (e.g. shipment-2026-11.csv) or give --type "
            f"({', '.join(SPREADSHEET_TYPES)})")
    try:
        rows = read_rows(file.name, file.read_bytes())
        with progress_bar(len(rows), f"checking {record_type} rows") as progress:
            events = rows_to_events(record_type, rows, progress=progress,
                                    default_event_time=_now())
        with progress_bar(len(events), "signing and appending") as progress:
            appended = append_events(session, runtime.ledger, runtime.vault, enterprise,
                                     events, row_numbers(rows), progress=progress)
    except SpreadsheetError as exc:
        session.rollback()  # end the refused batch's transaction (and its write lock) now
        _report(exc)
    session.commit()
    click.echo(f"imported {len(appended)} {record_type} records from {file.name}: "
               f"seq {appended[0].entry.seq}-{appended[-1].entry.seq}")


def _now() -> str:
    # The network's time, like the console's, whatever the host's time zone.
    return datetime.now(ZoneInfo(TIME_ZONE)).isoformat(timespec="seconds")


def _report(error: SpreadsheetError) -> NoReturn:
    click.secho(f"FAILED: {len(error.problems)} problem(s); nothing was imported", err=True,
                fg="red")
    for problem in error.problems[:_REPORT_LIMIT]:
        where = f"row {problem.row}" if problem.row else "file"
        column = f", {problem.column}" if problem.column else ""
        click.echo(f"  {where}{column}: {problem.message}", err=True)
    if len(error.problems) > _REPORT_LIMIT:
        click.echo(f"  ... and {len(error.problems) - _REPORT_LIMIT} more", err=True)
    raise SystemExit(1)
