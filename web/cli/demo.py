"""``tracenet demo``: load the demo supply network, once (re-running it is a no-op)."""

from __future__ import annotations

import time

import click
from sqlalchemy.orm import Session

from ledger.accounts.totp import SECOND_FACTOR_ROLES
from ledger.demo.load import DemoSummary, DemoUser, create_demo_users, demo_loaded, load_demo
from ledger.demo.network import (
    DEFAULT_SEED,
    DEMO_DISTRICTS,
    MELAMINE_FOUND,
    MELAMINE_LIMIT,
    DemoAlreadyLoaded,
    plan_demo,
)
from ledger.supervision.recall_levels import LEVELS
from web.cli.context import with_ledger
from web.cli.terminal import progress_bar
from web.runtime import Runtime

__all__ = ["demo"]

_ALREADY = "the demo network is already loaded on this ledger; nothing to do"


@click.command("demo")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed of the demo data (quantities, test results); the network is fixed.")
@with_ledger
def demo(runtime: Runtime, session: Session, seed: int) -> None:
    """Load the demo supply network: a Fujian dairy chain with a melamine incident to trace,
    and a child-car-seat chain. Safe to re-run: a loaded demo is left as it is."""
    if demo_loaded(session):
        click.echo(_ALREADY)
        return
    started = time.monotonic()
    with progress_bar(plan_demo(seed).entries, "loading the demo network") as progress:
        try:
            summary = load_demo(session, runtime.ledger, runtime.vault, seed=seed,
                                progress=progress, code_secret=runtime.code_secret)
        except DemoAlreadyLoaded:  # another process got there between the check and the load
            session.rollback()
            click.echo(_ALREADY)
            return
    users = create_demo_users(session)
    session.commit()
    _report(summary, users, time.monotonic() - started)


def _report(summary: DemoSummary, users: list[DemoUser], seconds: float) -> None:
    first, last = summary.period
    click.echo(f"loaded the demo network in {seconds:.1f} s (seed {summary.seed}): "
               f"{len(summary.enterprises)} enterprises, {summary.products} products, "
               f"{summary.lots} lots, {summary.units} serialised units and logistic units, "
               f"{summary.entries} entries (seq {summary.first_seq}-{summary.last_seq}), "
               f"{first.isoformat()} .. {last.isoformat()}")
    click.echo("enterprises:")
    for enterprise in summary.enterprises:
        click.echo(f"  {enterprise.uscc}  {enterprise.name}（{enterprise.kind}，"
                   f"{enterprise.district}）")
    incident = summary.melamine
    click.echo(f"incident to trace: raw milk (生乳) lot {incident.gtin} / {incident.lot} from "
               f"{incident.ranch.name}: melamine (三聚氰胺) {MELAMINE_FOUND} mg/kg, limit "
               f"{MELAMINE_LIMIT}, spot check at seq {incident.inspection_seq}, after it was "
               "used in:")
    for gtin, lot, seq in incident.consumed_by:
        click.echo(f"  {gtin} / {lot} (production at seq {seq})")
    recall = summary.recall
    grade = LEVELS[recall.level]
    click.echo(f"recall ordered by the regulator the evening the result came in: "
               f"{grade.name_zh} ({grade.name_en}) at seq {recall.seq}, the lot and every lot "
               f"made from it, {len(recall.holders)} enterprises notified; progress reported at "
               f"seq {', '.join(map(str, recall.progress))}; see /console/recalls/{recall.seq}")
    created = [user for user in users if user.created]
    if created:
        click.echo(f"console users (password {created[0].password}):")
    for user in created:
        district = DEMO_DISTRICTS.get(user.username)
        scope = f" (district bureau of {district})" if district else ""
        click.echo(f"  {user.username:<10} {user.role:<9} {user.enterprise.name}{scope}")
    for user in users:
        if not user.created:
            click.echo(f"  {user.username}: username already taken, left as it was")
    if any(user.role in SECOND_FACTOR_ROLES for user in created):
        click.echo("  (regulator and admin accounts enrol a TOTP second factor on their first "
                   "sign-in: have an authenticator app ready)")

