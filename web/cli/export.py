"""``tracenet export fsma204``: the FDA's FSMA 204 electronic sortable spreadsheet of the
ledger's critical tracking events, through the same library call as the API
(:mod:`ledger.export.fsma204`), as the operator (who sees every event); ``tracenet export
epcis``: the ledger's events as a GS1 EPCIS 2.0 EPCISDocument (:mod:`ledger.epcis.query`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session

from ledger.epcis import query as epcis
from ledger.epcis.index import instant
from ledger.export import fsma204
from web.cli.context import with_ledger
from web.runtime import Runtime

__all__ = ["export"]


@click.group()
def export() -> None:
    """Export ledger records as a regulator's spreadsheet (FSMA 204) or as EPCIS 2.0."""


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


def _instant(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return instant(value)
    except ValueError:
        raise click.BadParameter("expected an RFC 3339 time such as 2026-11-26T00:00:00+08:00",
                                 param_hint=option) from None


@export.command("epcis")
@click.option("--from", "start", metavar="TIME", help="Events at or after this RFC 3339 time.")
@click.option("--to", "end", metavar="TIME", help="Events before this RFC 3339 time.")
@click.option("--epc", help="Only events naming this EPC or EPC class anywhere (EPC URI or GS1 "
                            "Digital Link).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (default: stdout).")
@with_ledger
def epcis_command(runtime: Runtime, session: Session, start: str | None, end: str | None,
                  epc: str | None, out: Path | None) -> None:
    """Write the ledger's events (captured ones as received, native records rendered) as one
    GS1 EPCIS 2.0 EPCISDocument, in the order they were recorded."""
    match = {"MATCH_anyEPC": (epc,), "MATCH_anyEPCClass": (epc,)} if epc else {}
    query = epcis.EventFilter(ge_event_time=_instant(start, "--from"),
                              lt_event_time=_instant(end, "--to"))
    events = []
    for name, values in match.items():  # an EPC or a class: the union, in ledger order
        events += list(epcis.every_event(session, epcis.EventFilter(
            **{**query.__dict__, "match": {name: values}}), viewer=None))
    if not match:
        events = list(epcis.every_event(session, query, viewer=None))
    unique = {event["eventID"]: event for event in events}
    ordered = sorted(unique.values(), key=lambda event: event["recordTime"])
    session.commit()  # the index caught up
    document = epcis.epcis_document(ordered, now=runtime.ledger.clock())
    text = json.dumps(document, ensure_ascii=False, indent=1)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        click.echo(f"{len(ordered)} events written to {out}", err=True)
