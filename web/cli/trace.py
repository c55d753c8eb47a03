"""``tracenet trace``: a lot, a unit code or an enterprise's intake traced downstream or
upstream, through the same library call as the API (:mod:`ledger.trace`), as the operator (who
sees everything). A readable tree by default, laid out as the console lays it out
(:func:`web.console.trace.tree_rows`); ``--json`` prints what the API answers."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from ledger.supervision.context import unit_code
from ledger.trace import Holding, Trace, TraceStart, parse_as_of, trace_downstream, trace_upstream
from schemas.trace import MAX_DEPTH, MAX_LIMIT, TraceQuerySchema, trace_json
from web.cli.context import with_ledger
from web.cli.terminal import print_json
from web.runtime import Runtime

__all__ = ["trace"]


@click.command()
@click.option("--gtin", help="The lot's GTIN (with --lot or --serial).")
@click.option("--lot", help="The lot number.")
@click.option("--serial", help="A serial number of the GTIN: trace that unit's lot.")
@click.option("--code", help="Any unit code, e.g. an SSCC pallet: trace the lots packed in it.")
@click.option("--enterprise", help="Trace what this enterprise (USCC) took in.")
@click.option("--down/--up", "downstream", default=True, show_default=True,
              help="Where the goods went, or where they came from.")
@click.option("--as-of", help="As the ledger stood then: a size, or an RFC 3339 time.")
@click.option("--depth", type=click.IntRange(0, MAX_DEPTH), help="Steps to follow [32].")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), help="Holdings to report [2000].")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a tree.")
@with_ledger
def trace(runtime: Runtime, session: Session, gtin: str | None, lot: str | None,
          serial: str | None, code: str | None, enterprise: str | None, downstream: bool,
          as_of: str | None, depth: int | None, limit: int | None, as_json: bool) -> None:
    """Trace a lot downstream (--down) or upstream (--up), as a tree or as JSON."""
    given = {"gtin": gtin, "lot": lot, "serial": serial, "code": code,
             "enterprise": enterprise, "as_of": as_of, "depth": depth, "limit": limit}
    query = TraceQuerySchema().load({name: value for name, value in given.items()
                                     if value is not None})
    if query["enterprise"] is not None:
        start = TraceStart.of_intake(query["enterprise"], query["gtin"], query["lot"])
    elif query["code"] is not None or query["serial"] is not None:
        start = TraceStart.of_unit(query["code"] or unit_code(query["gtin"], query["serial"]))
    else:
        start = TraceStart.of_lot(query["gtin"], query["lot"])
    answer = (trace_downstream if downstream else trace_upstream)(
        session, start, as_of=parse_as_of(as_of) if as_of else None, depth=query["depth"],
        limit=query["limit"])
    if as_json:
        print_json(trace_json(answer))
    else:
        _print(answer)


def _holder(holding: Holding) -> str:
    return f"{holding.name or '(off the ledger)'} {holding.holder}"


def _amounts(holding: Holding) -> str:
    shown = [(label, amount) for label, amount in (
        ("produced", holding.produced), ("received", holding.received),
        ("in transit", holding.in_transit), ("used", holding.used),
        ("passed on", holding.passed_on), ("held", holding.held))
        if amount is not None and (amount != "0" or label == "held")]
    return ", ".join(f"{label} {amount}" for label, amount in shown) + f" {holding.unit}"


def _print(answer: Trace) -> None:
    # Imported here: the console's layout brings Flask in, which only this output needs.
    from web.console.trace import tree_rows

    start = answer.start
    what = {"lot": f"{start.gtin}/{start.lot}", "unit": f"unit {start.code}",
            "intake": f"the intake of {start.enterprise}"}[start.kind]
    heading = "下游 downstream" if answer.direction == "downstream" else "上游 upstream"
    click.echo(f"{heading} of {what}, ledger size {answer.size}")
    if answer.start_unit:
        click.echo("  packed: " + " ⊂ ".join(unit.code for unit in answer.start_unit))
    products = {(lot.gtin, lot.lot): lot for lot in answer.lots}
    for row in tree_rows(answer):
        holding, lot = row.holding, products.get((row.holding.gtin, row.holding.lot))
        indent = "    " * row.level
        link = ""
        if row.step is not None:
            seqs = ",".join(f"#{seq}" for seq in row.step.seqs)
            link = f"└─ {row.step.kind} {seqs} ({row.step.quantity} {row.step.unit}) → "
        product = f" {lot.product}" if lot is not None and lot.product else ""
        verdict = f" [{lot.inspection}]" if lot is not None and lot.inspection == "fail" else ""
        line = (f"{indent}{link}{holding.gtin}/{holding.lot}{product}{verdict} at "
                f"{_holder(holding)}")
        if row.repeat:
            click.echo(f"{line} (shown above)")
            continue
        click.echo(f"{line}: {_amounts(holding)}{'  ◀ end' if holding.end else ''}")
    ends = "consumer-facing" if answer.direction == "downstream" else "origins"
    click.echo(f"{len(answer.lots)} lots, {len(answer.holdings)} holdings, "
               f"{len(answer.ends)} {ends}, {len(answer.units)} unit codes")
    if answer.truncated:
        click.echo(f"truncated ({', '.join(answer.truncation)}): there is more than this")
