"""``tracenet recall start|show|close``: recalls from the command line, through the same
library calls as the API (:mod:`ledger.recall`), signed with the enterprise's custodial key."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy.orm import Session

from ledger import recall as recalls
from schemas.recalls import RecallCloseSchema, RecallStartSchema
from web.cli.context import with_ledger
from web.cli.terminal import print_json
from web.runtime import Runtime
from web.settings import TIME_ZONE

__all__ = ["recall"]


@click.group()
def recall() -> None:
    """Start, show and close recalls (缺陷产品召回)."""


def _lot(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
         ) -> list[dict[str, str]]:
    lots = []
    for value in values:
        gtin, slash, lot = value.partition("/")
        if not slash or not gtin or not lot:
            raise click.BadParameter(f"expected GTIN/LOT, got {value!r}")
        lots.append({"gtin": gtin, "lot": lot})
    return lots


@recall.command("start")
@click.option("--enterprise", required=True,
              help="USCC that starts it (its custodial key signs): the lots' producer, or a "
                   "regulator for an ordered recall.")
@click.option("--kind", type=click.Choice(["voluntary", "ordered"]), default="voluntary",
              show_default=True)
@click.option("--level", type=click.IntRange(1, 3), required=True,
              help="1 一级 (24 h / 10 working days), 2 二级 (48 h / 20), 3 三级 (72 h / 30).")
@click.option("--lot", "lots", multiple=True, required=True, metavar="GTIN/LOT",
              callback=_lot, help="A lot to recall (repeat for several).")
@click.option("--reason", required=True)
@click.option("--hazard", required=True)
@click.option("--advice", help="What consumers should do (default: stop and return it).")
@click.option("--producer", help="Ordered recalls: the producer ordered to carry it out.")
@click.option("--no-expand", is_flag=True,
              help="Recall only the lots named, not everything made from them.")
@click.option("--json", "as_json", is_flag=True, help="Print the recall as JSON.")
@with_ledger
def start(runtime: Runtime, session: Session, enterprise: str, kind: str, level: int,
          lots: list[dict[str, str]], reason: str, hazard: str, advice: str | None,
          producer: str | None, no_expand: bool, as_json: bool) -> None:
    """Start a recall; every holder of the lots (and of what was made from them) is notified."""
    body = RecallStartSchema().load({
        "kind": kind, "level": level, "lots": lots, "reason": reason, "hazard": hazard,
        "consumer_advice": advice, "producer": producer, "expand": not no_expand})
    started = recalls.start_recall(
        session, runtime.ledger, runtime.vault, enterprise=enterprise, kind=body["kind"],
        level=body["level"], reason=body["reason"], hazard=body["hazard"],
        lots=[(lot["gtin"], lot["lot"]) for lot in body["lots"]], expand=body["expand"],
        producer=body["producer"], consumer_advice=body["consumer_advice"],
        event_time=datetime.now(ZoneInfo(TIME_ZONE)).isoformat(timespec="seconds"))
    session.commit()
    view = recalls.recall_view(session, started.seq, viewer=None, now=runtime.ledger.clock())
    if as_json:
        print_json(view)
        return
    click.echo(f"recall {started.seq} started: {len(view['scope'])} lots, "
               f"{len(started.notices)} holders notified")
    _print(view)


@recall.command("show")
@click.argument("seq", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the recall as JSON.")
@with_ledger
def show(runtime: Runtime, session: Session, seq: int, as_json: bool) -> None:
    """Show a recall: scope, holders with their progress and deadlines, notices."""
    view = recalls.recall_view(session, seq, viewer=None, now=runtime.ledger.clock())
    if as_json:
        print_json(view)
    else:
        _print(view)


@recall.command("close")
@click.argument("seq", type=int)
@click.option("--enterprise", required=True,
              help="USCC that closes it: the producer, or a regulator (an ordered recall).")
@click.option("--cause", required=True, help="原因 found.")
@click.option("--responsibility", required=True, help="责任 assigned.")
@click.option("--lessons", required=True, help="教育 / lessons recorded.")
@click.option("--corrective-actions", required=True, help="整改措施 in place.")
@click.option("--report", help="The summary report, by reference.")
@with_ledger
def close(runtime: Runtime, session: Session, seq: int, enterprise: str, cause: str,
          responsibility: str, lessons: str, corrective_actions: str,
          report: str | None) -> None:
    """Close a recall with the four-part review (四不放过)."""
    review = RecallCloseSchema().load({
        "cause": cause, "responsibility": responsibility, "lessons": lessons,
        "corrective_actions": corrective_actions, "report": report})
    appended = recalls.close_recall(session, runtime.ledger, runtime.vault,
                                    enterprise=enterprise, recall=seq, review=review,
                                    report=review["report"])
    session.commit()
    click.echo(f"recall {seq} closed by entry {appended.entry.seq}")


def _print(view: dict[str, Any]) -> None:
    products = "、".join(p["name"] or p["gtin"] for p in view["products"])
    click.echo(f"recall {view['id']}: {view['level_name_zh']} {view['level_name_en']} "
               f"({view['kind']}, {view['status']}) — {products}")
    click.echo(f"  producer: {view['producer']['name'] or ''} {view['producer']['uscc']}")
    click.echo(f"  reason: {view['reason']}")
    click.echo(f"  started {view['initiated_at']}; begin by {view['deadlines']['start_by']}, "
               f"complete by {view['deadlines']['complete_by']}")
    progress = view["progress"]
    click.echo(f"  holders: {progress['holders']}, acknowledged {progress['acknowledged']}, "
               f"complete {progress['complete']} ({progress['percent_complete']}%), "
               f"overdue {progress['overdue']}")
    click.echo(f"  lots ({len(view['scope'])}):")
    for lot in view["scope"]:
        click.echo(f"    {lot['gtin']} / {lot['lot']}  ({lot['via']}, seq {lot['via_seq']})")
    click.echo("  holders:")
    for holder in view["holders"]:
        flags = [name for name in ("start_late", "overdue") if holder[name]]
        delivered = ", ".join(d["status"] for d in holder["deliveries"]) or "no webhook"
        click.echo(f"    {holder['enterprise']} {holder['name'] or ''}: {holder['notice']}"
                   f"{' [' + ', '.join(flags) + ']' if flags else ''}; notice: {delivered}")
        for holding in holder["holdings"]:
            click.echo(f"      {holding['gtin']} / {holding['lot']}: held {holding['held']} "
                       f"{holding['unit']}, withdrawn {holding['withdrawn']}, retrieved "
                       f"{holding['retrieved']}, destroyed {holding['destroyed']}, reworked "
                       f"{holding['reworked']}")
    if view["closure"]:
        closure = view["closure"]
        click.echo(f"  closed {closure['closed_at']} by {closure['closed_by']['uscc']}: "
                   f"cause: {closure['cause']}")
