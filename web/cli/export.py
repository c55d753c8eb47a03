"""``tracenet export fsma204``: the FDA's FSMA 204 electronic sortable spreadsheet of the
ledger's critical tracking events, through the same library call as the API
(:mod:`ledger.export.fsma204`), as the operator (who sees every event)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session

from ledger.export import fsma204
from web.cli.context import with_ledger
from web.runtime import Runtime

__all__ = ["export"]


@click.group()
def export() -> None:
    """Export ledger records as a regulator's spreadsheet (FSMA 204)."""


@export.command("fsma204")
@click.option("--from", "start", required=True, metavar="DATE",
              help="First event date, YYYY-MM-DD (the event's date as recorded).")
@click.option("--to", "end", required=True, metavar="DATE", help="Last event date, inclusive.")
@click.option("--lot", help="Only this lot's events.")
@click.option("--gtin", help="Only this GTIN's events (14 digits).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE: .xlsx for a workbook, .csv for CSV (default: CSV to stdout).")
@with_ledger
def fsma204_command(runtime: Runtime, session: Session, start: str, end: str,
                    lot: str | None, gtin: str | None, out: Path | None) -> None:
    """Write the FSMA 204 sortable spreadsheet: one row per critical tracking event."""
    request = fsma204.parse_request(start=start, end=end, lot=lot, gtin=gtin)
    suffix = out.suffix.lower() if out is not None else ".csv"
    if suffix not in (".csv", ".xlsx"):
        raise click.BadParameter("the file must end in .csv or .xlsx", param_hint="--out")
    rows = fsma204.export_rows(session, request, viewer=None)
    if out is None:
        count = fsma204.write_csv(rows, sys.stdout)
    elif suffix == ".xlsx":
        with out.open("wb") as stream:
            count = fsma204.write_xlsx(rows, stream)
    else:
        with out.open("w", encoding="utf-8", newline="") as stream:
            count = fsma204.write_csv(rows, stream)
    if out is not None:
        click.echo(f"{count} events written to {out}", err=True)
