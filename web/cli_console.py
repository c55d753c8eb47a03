"""CLI commands for the console side: console accounts and spreadsheet import.

``tracenet user add --enterprise USCC --username U --password P --role producer``
``tracenet import FILE --enterprise USCC [--type TYPE]``
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from ledger.accounts.roles import ROLES
from ledger.accounts.users import create_user
from schemas.spreadsheet import (
    SPREADSHEET_TYPES,
    SpreadsheetError,
    infer_type,
    read_rows,
    row_numbers,
    rows_to_events,
)
from web.cli import progress_bar
from web.console.importing import append_events
from web.db import get_ledger, get_session, get_vault

__all__ = ["COMMANDS"]

#: the import report printed on failure stops after this many problems
_REPORT_LIMIT = 200


@click.group()
def user() -> None:
    """Manage console accounts."""


@user.command("add")
@click.option("--enterprise", required=True,
              help="USCC of the enterprise the account acts for ('operator' for ledger admins).")
@click.option("--username", required=True, help="3-60 characters of A-Z a-z 0-9 . _ @ -")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters; prompted for (not echoed) when omitted.")
@click.option("--role", type=click.Choice(ROLES), default="producer", show_default=True)
@with_appcontext
def user_add(enterprise: str, username: str, password: str, role: str) -> None:
    """Add a console account that signs in at /console and writes as ENTERPRISE."""
    session = get_session()
    create_user(session, username=username, password=password, enterprise=enterprise,
                role=role)
    session.commit()
    click.echo(f"added console user {username} ({role}) for {enterprise}")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--enterprise", required=True,
              help="USCC whose custodial key signs the records.")
@click.option("--type", "record_type", type=click.Choice(SPREADSHEET_TYPES),
              help="Record type of every row; default: from the file name, e.g. "
                   "shipment-2026-11.csv.")
@with_appcontext
def import_command(file: Path, enterprise: str, record_type: str | None) -> None:
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
    session = get_session()
    try:
        rows = read_rows(file.name, file.read_bytes())
        with progress_bar(len(rows), f"checking {record_type} rows") as progress:
            events = rows_to_events(record_type, rows, progress=progress,
                                    default_event_time=_now())
        with progress_bar(len(events), "signing and appending") as progress:
            appended = append_events(session, get_ledger(), get_vault(), enterprise, events,
                                     row_numbers(rows), progress=progress)
    except SpreadsheetError as exc:
        session.rollback()  # end the refused batch's transaction (and its write lock) now
        _report(exc)
    session.commit()
    click.echo(f"imported {len(appended)} {record_type} records from {file.name}: "
               f"seq {appended[0].entry.seq}-{appended[-1].entry.seq}")


def _now() -> str:
    # China Standard Time, like the console: the network's time zone, whatever the host's.
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return datetime.now(zone).isoformat(timespec="seconds")


def _report(error: SpreadsheetError) -> None:
    click.secho(f"FAILED: {len(error.problems)} problem(s); nothing was imported", err=True,
                fg="red")
    for problem in error.problems[:_REPORT_LIMIT]:
        where = f"row {problem.row}" if problem.row else "file"
        column = f", {problem.column}" if problem.column else ""
        click.echo(f"  {where}{column}: {problem.message}", err=True)
    if len(error.problems) > _REPORT_LIMIT:
        click.echo(f"  ... and {len(error.problems) - _REPORT_LIMIT} more", err=True)
    raise SystemExit(1)


COMMANDS: tuple[click.Command, ...] = (user, import_command)
