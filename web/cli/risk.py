"""``tracenet risk scan|plan|draw|check-draw|standards``: early warning, spot-check draws and
standards warnings from the command line, through the same library calls as the console
(:mod:`ledger.risk`); plans and draws are signed with the regulator's custodial key."""

from __future__ import annotations

import re

import click
from sqlalchemy.orm import Session

from ledger.errors import NotFoundError
from ledger.risk.draws import draw_spot_check, plan_details, plan_spot_check, reproduce_draw
from ledger.risk.standards import standards_warnings
from ledger.risk.warning import scan as scan_alerts
from ledger.supervision.models import SpotCheckPlanRow
from ledger.supervision.recall_levels import CHINA
from web.cli.context import with_ledger
from web.cli.terminal import print_json
from web.runtime import Runtime

__all__ = ["risk"]

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_SEED = re.compile(r"[0-9a-f]{64}")


@click.group()
def risk() -> None:
    """Early warning, spot-check draws (双随机抽查) and standards warnings."""


def _seed(_ctx: click.Context, _param: click.Parameter, value: str | None) -> bytes | None:
    if value is None:
        return None
    if not _SEED.fullmatch(value):
        raise click.BadParameter("expected 64 lower-case hex digits (32 bytes)")
    return bytes.fromhex(value)


@risk.command("scan")
@click.option("--month", "months", multiple=True, metavar="YYYY-MM",
              help="Only this month (repeat for several; default: every month).")
@with_ledger
def scan(runtime: Runtime, session: Session, months: tuple[str, ...]) -> None:
    """Raise the early-warning alerts the rule fires for that were not raised before."""
    for month in months:
        if not _MONTH.fullmatch(month):
            raise click.BadParameter(f"expected YYYY-MM, got {month!r}", param_hint="--month")
    raised = scan_alerts(session, now=runtime.ledger.clock(), months=list(months) or None)
    session.commit()
    click.echo(f"{len(raised)} new alerts")
    for alert in raised:
        click.echo(f"  {alert.id}  {alert.month}  {alert.dimension} {alert.key}: "
                   f"{alert.failures}/{alert.inspections} failed (baseline "
                   f"{alert.baseline_failures}/{alert.baseline_inspections}), "
                   f"p = {alert.p_value:.1e}")


@risk.command("plan")
@click.option("--regulator", required=True, help="USCC of the regulator (its key signs).")
@click.option("--title", required=True)
@click.option("--enterprises", type=click.IntRange(1, 10_000), required=True,
              help="How many enterprises to draw.")
@click.option("--lots", type=click.IntRange(0, 20), default=1, show_default=True,
              help="Lots to draw from each enterprise drawn.")
@click.option("--district", help="Only enterprises in this district (a prefix).")
@click.option("--category", "categories", multiple=True, help="Only these category codes.")
@click.option("--seed", callback=_seed, help="The 32-byte seed as hex (default: a fresh one).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@with_ledger
def plan(runtime: Runtime, session: Session, regulator: str, title: str, enterprises: int,
         lots: int, district: str | None, categories: tuple[str, ...], seed: bytes | None,
         as_json: bool) -> None:
    """Publish a spot-check plan: the frame and the commitment to its seed (kept for the draw)."""
    made = plan_spot_check(session, runtime.ledger, runtime.vault, regulator=regulator,
                           title=title, enterprises=enterprises, lots_per_enterprise=lots,
                           district=district, categories=list(categories) or None, seed=seed)
    session.commit()
    if as_json:
        print_json({"plan": made.seq, "frame": made.frame.payload(),
                    "exempt": made.frame.exempt})
        return
    click.echo(f"plan {made.seq} published: frame of {len(made.frame.units)} enterprises, "
               f"{len(made.frame.exempt)} exempt; draw it with: tracenet risk draw {made.seq}")


@risk.command("draw")
@click.argument("plan_seq", metavar="PLAN", type=int)
@click.option("--seed", callback=_seed, help="The seed, if this server did not keep it.")
@with_ledger
def draw(runtime: Runtime, session: Session, plan_seq: int, seed: bytes | None) -> None:
    """Reveal the plan's seed and record what it draws."""
    seq = draw_spot_check(session, runtime.ledger, runtime.vault, plan=plan_seq, seed=seed)
    session.commit()
    (shown,) = [p for p in plan_details(session, limit=10_000) if p["seq"] == plan_seq]
    click.echo(f"plan {plan_seq} drawn at seq {seq} with seed {shown['seed']}")
    for item in shown["selected"]:
        lots = ", ".join(f"{lot['gtin']}/{lot['lot']}" for lot in item["lots"]) or "on site"
        click.echo(f"  {item['uscc']}  {item['name']}: {lots}")


@risk.command("check-draw")
@click.argument("plan_seq", metavar="PLAN", type=int)
@with_ledger
def check_draw(runtime: Runtime, session: Session, plan_seq: int) -> None:
    """Re-run a draw from its two entries; exit 1 if it does not match."""
    row = session.get(SpotCheckPlanRow, plan_seq)
    if row is None or row.seed is None:
        raise NotFoundError(f"no drawn spot-check plan at seq {plan_seq}", field=("plan",))
    again = reproduce_draw(session, plan_seq, bytes.fromhex(row.seed))
    (shown,) = [p for p in plan_details(session, limit=10_000) if p["seq"] == plan_seq]
    recorded = [(item["uscc"], [(lot["gtin"], lot["lot"]) for lot in item["lots"]])
                for item in shown["selected"]]
    if sorted(again) != sorted(recorded):
        click.echo(f"plan {plan_seq}: the recorded draw differs from the seed's", err=True)
        raise SystemExit(1)
    click.echo(f"plan {plan_seq}: the draw at seq {row.draw_seq} is what seed {row.seed} "
               f"draws from the published frame")


@risk.command("standards")
@with_ledger
def standards(runtime: Runtime, session: Session) -> None:
    """Print the standards warnings as JSON: withdrawn or to-be-replaced standards cited."""
    print_json(standards_warnings(session, on=runtime.ledger.clock().astimezone(CHINA).date()))
