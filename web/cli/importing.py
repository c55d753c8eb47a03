"""``tracenet import FILE --enterprise USCC [--type TYPE]``: a sheet as one ledger batch;
``tracenet import DOC.json[ld] --enterprise USCC|operator [--proceed]``: an EPCIS 2.0 document
captured as ``POST /epcis/capture`` would."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import click
from sqlalchemy.orm import Session

from ledger.accounts.roles import ADMIN, PRODUCER
from ledger.epcis.schema import SchemaUnavailable
from ledger.log.identity import OPERATOR
from schemas.spreadsheet import (
    SPREADSHEET_TYPES,
    SpreadsheetError,
    infer_type,
    read_rows,
    row_numbers,
    rows_to_events,
)
from web.auth import Principal
from web.cli.context import with_ledger
from web.cli.terminal import progress_bar
from web.console.importing import append_events
from web.epcis.capture import capture, load_document_schema
from web.runtime import Runtime
from web.settings import TIME_ZONE

__all__ = ["import_command"]

#: the import report printed on failure stops after this many problems
_REPORT_LIMIT = 200


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--enterprise", required=True,
              help="USCC whose custodial key signs the records; for an EPCIS document, the "
                   "enterprise whose events it holds, or 'operator' to capture for every "
                   "enterprise owning its locations.")
@click.option("--type", "record_type", type=click.Choice(SPREADSHEET_TYPES),
              help="Record type of every row; default: from the file name, e.g. "
                   "shipment-2026-11.csv.")
@click.option("--proceed", is_flag=True,
              help="EPCIS: store every event that passes and report the others (default: "
                   "all or nothing).")
@with_ledger
def import_command(runtime: Runtime, session: Session, file: Path, enterprise: str,
                   record_type: str | None, proceed: bool) -> None:
    """Import a CSV or XLSX sheet of one record type as one atomic ledger batch.

    Every row is checked first; if any is invalid (or a ledger rule refuses one), nothing is
    appended and the problems are listed by sheet row and column, exit status 1.
    """
    if file.suffix.lower() in (".json", ".jsonld"):
        _capture(runtime, session, file, enterprise, "proceed" if proceed else "rollback")
        return
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


def _capture(runtime: Runtime, session: Session, file: Path, enterprise: str,
             behaviour: str) -> None:
    """Capture an EPCIS 2.0 document (checked against GS1's JSON Schema) through the same
    mapping and rules as ``POST /epcis/capture``."""
    try:
        document = json.loads(file.read_bytes())
    except ValueError as exc:
        raise click.ClickException(f"{file.name} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise click.ClickException(f"{file.name} is not an EPCIS document")
    try:
        load_document_schema().validate(document)
    except SchemaUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    principal = Principal(enterprise, ADMIN if enterprise == OPERATOR else PRODUCER)
    outcome = capture(session, runtime.ledger, runtime.vault, document, principal=principal,
                      behaviour=behaviour)
    if behaviour == "rollback" and not outcome.success:
        session.rollback()
    session.commit()
    stored = sum(1 for seqs in outcome.seqs.values() if seqs)
    click.echo(f"captured {stored} of {len(outcome.events)} EPCIS events from {file.name}")
    for error in outcome.errors[:_REPORT_LIMIT]:
        where = f"event {error['eventIndex']}" if "eventIndex" in error else "document"
        click.echo(f"  {where}: {error['code']}: {error['message']}"
                   + (f" ({error['field']})" if error.get("field") else ""), err=True)
    if not outcome.success:
        raise SystemExit(1)


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
