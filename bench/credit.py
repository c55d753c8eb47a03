"""Quality credit benchmark: keeping grades current as entries arrive, against appending them,
and grading a ~1,000,000-entry ledger from scratch.

Run ``.venv/bin/python bench/credit.py``; ``--quick`` runs the same code paths on small
networks as a smoke test. Every figure is a ratio measured in this run on this machine;
nothing is asserted, the script prints each figure with its target and exits 0.

The ledgers are :mod:`bench.network`'s supply networks (farms -> processors -> distributors
-> retailers: productions, inspections, shipments, receipts, corrections, serialised units),
real entries written through the submit door with client-signed statements.

1. **Incremental** (figure 1, target <= 0.1): a fresh ledger is written batch by batch as
   :func:`bench.network.write_network` writes it (one day's statements, at most 1,000, per
   batch); after each ``submit`` the grading runs (``ledger.credit.engine.catch_up``, as the
   web app runs it before each commit) and the batch is committed. The figure is the time in
   ``catch_up`` divided by the time in ``submit`` plus the commit (which also writes the
   grading's rows, a little in the grading's favour; ``catch_up`` flushes most of its own).
2. **From scratch** (figure 2, target < 1: grading costs less than writing): the cached
   ~1,000,000-entry network of
   ``bench/trace.py`` (built once, about half an hour; ``--network`` names another file) is
   copied, migrated, and graded from nothing by ``ledger.credit.engine.rebuild``: every entry
   read, every fact scored, every grade decided; as entries per second and as the per-entry
   cost over figure 1's per-entry append cost. The network has 570 enterprises (its shape is
   ``bench/trace.py``'s); the grading's cost follows the entries, not the enterprises.
"""

# Run as a script, bench/ is sys.path[0] and bench/ledger.py would shadow the ``ledger``
# package; drop that entry and put the repository first (hence the late imports below).
# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import platform
import shutil
import tempfile
import time
from collections import Counter
from datetime import timedelta

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.ledger import Figure, cpu_model, heading, load_average, report
from bench.network import (
    CACHE,
    START,
    VAULT,
    Shape,
    _gtin,
    _uscc,
    cached_network,
    network_ledger,
    plan_network,
)
from ledger import log
from ledger.accounts.enrolment import enrol_enterprise
from ledger.credit import current_grades
from ledger.credit.engine import catch_up, rebuild
from ledger.credit.models import CreditFactRow
from ledger.db import create_ledger_engine, migrate
from ledger.log.entry import Statement
from ledger.log.storage import EnterpriseRow
from ledger.supervision.names import INSPECTION, PRODUCT_REGISTERED, PRODUCTION
from ledger.supervision.submit import submit

INCREMENTAL = Shape(farms=40, processors=10, distributors=8, retailers=80, days=40, seed=2,
                    corrections=0.0)
INCREMENTAL_QUICK = Shape(farms=6, processors=4, distributors=3, retailers=10, days=8, seed=2,
                          corrections=0.0)
#: the network bench/trace.py builds and caches (a little over 1,000,000 entries)
FROM_SCRATCH = Shape(farms=200, processors=40, distributors=30, retailers=300, days=380, seed=1)
FROM_SCRATCH_QUICK = Shape(farms=10, processors=6, distributors=4, retailers=20, days=20,
                           seed=1)
TARGET = 0.1


def incremental(shape: Shape, directory: Path) -> tuple[Figure, float]:
    """Figure 1; also returns the append cost per entry (µs) for figure 2's comparison."""
    heading(f"1. Keeping grades current while appending ({shape})")
    plan = plan_network(shape)
    engine = create_ledger_engine(f"sqlite:///{directory / 'incremental.db'}")
    migrate(engine)
    ledger = network_ledger(shape)
    appending = grading = 0.0
    entries = changes = 0
    with Session(engine) as session:
        log.initialise(session, ledger)
        session.commit()
        keys = {member.uscc: member.key(shape.seed) for member in plan.members}
        key_ids = {}
        for member in plan.members:
            key_ids[member.uscc] = enrol_enterprise(session, ledger, VAULT, {
                "uscc": member.uscc, "name": member.name, "roles": ["producer"],
                "district": "福建省"}, keys[member.uscc].public_key())
            session.commit()
        catch_up(session, ledger, VAULT)  # the enrolments: not part of the figure
        session.commit()
        for batch in plan.batches():
            signed = [Statement(p.type, p.enterprise, key_ids[p.enterprise], p.event_time,
                                p.payload).sign(keys[p.enterprise]) for p in batch]
            started = time.perf_counter()
            submit(session, ledger, VAULT, signed)
            appended = time.perf_counter()
            result = catch_up(session, ledger, VAULT)
            graded = time.perf_counter()
            session.commit()
            committed = time.perf_counter()
            appending += (appended - started) + (committed - graded)
            grading += graded - appended
            entries += len(batch)
            changes += len(result.changes)
        started = time.perf_counter()
        for _ in range(20):
            catch_up(session, ledger, VAULT)
        idle = (time.perf_counter() - started) / 20
        session.rollback()
        grades = Counter(s.grade for s in current_grades(session).values())
    engine.dispose()
    append_us, grade_us = 1e6 * appending / entries, 1e6 * grading / entries
    click.echo(f"  {entries:,} entries in {entries / max(1, len(plan.days)):.0f}-entry batches "
               f"(one a day): append + commit {append_us:.1f} µs/entry "
               f"({entries / appending:,.0f} entries/s), grading {grade_us:.1f} µs/entry; "
               f"{changes} grade changes appended; grades now {dict(sorted(grades.items()))}; "
               f"a run with nothing new costs {1e3 * idle:.2f} ms")
    return report(Figure("grading cost per appended entry / append cost per entry",
                         grading / appending, TARGET, False,
                         f"{grade_us:.1f} vs {append_us:.1f} µs per entry")), append_us


#: the first serial (USCC) and GS1 company number of the enterprises --enterprises adds (the
#: network's own stay far below both)
_EXTRA_SERIAL = 5_000_000
_EXTRA_COMPANY = 900_000


def add_enterprises(session: Session, ledger: log.Ledger, total: int) -> int:
    """Enrol enterprises (custodial keys) until ``total`` are registered, each registering a
    product and recording a lot and its self-inspection, so that each one has facts to grade;
    return how many were added. Commits every hundred."""
    have = session.scalar(select(func.count()).select_from(EnterpriseRow)) or 0
    added = 0
    for serial in range(_EXTRA_SERIAL, _EXTRA_SERIAL + max(0, total - have)):
        uscc, gtin = _uscc(serial), _gtin(_EXTRA_COMPANY + serial - _EXTRA_SERIAL, 1)
        enrol_enterprise(session, ledger, VAULT, {
            "uscc": uscc, "name": f"合成企业{serial}", "roles": ["producer"],
            "district": "福建省"})
        made = (START + timedelta(days=serial % 300, hours=8)).isoformat(timespec="seconds")
        lot = f"X{serial}"
        submit(session, ledger, VAULT, [
            Statement(PRODUCT_REGISTERED, uscc, "", made, {
                "gtin": gtin, "name": "合成产品", "category": "08",
                "standard": "GB 25190-2010", "spec": "synthetic"}),
            Statement(PRODUCTION, uscc, "", made, {
                "gtin": gtin, "lot": lot, "quantity": "100", "unit": "kg", "produced_at": made,
                "inputs": [], "additives_used": []}),
            Statement(INSPECTION, uscc, "", made, {
                "gtin": gtin, "lot": lot, "kind": "self", "lab": "企业化验室",
                "lab_uscc": uscc, "verdict": "pass", "report_no": f"QC-{lot}",
                "inspected_at": made,
                "items": [{"name": "蛋白质", "value": "3.1", "limit": "≥2.8",
                           "unit": "g/100g", "pass": True}]})])
        added += 1
        if added % 100 == 0:
            session.commit()
    session.commit()
    return added


def from_scratch(shape: Shape, network: Path | None, directory: Path,
                 append_us: float, enterprises: int = 0) -> Figure:
    """Figure 2: grade a whole (copied) network from nothing; with ``enterprises``, first
    enrol enterprises (each with a product, a lot and its inspection) until that many are
    registered."""
    source = network or cached_network(shape, CACHE)
    heading(f"2. Grading from scratch ({source.name})")
    copy = directory / "from-scratch.db"
    started = time.perf_counter()
    shutil.copyfile(source, copy)
    engine = create_ledger_engine(f"sqlite:///{copy}")
    migrate(engine)
    click.echo(f"  copied and migrated in {time.perf_counter() - started:.1f} s")
    if enterprises:
        started = time.perf_counter()
        with Session(engine) as session:
            added = add_enterprises(session, network_ledger(shape), enterprises)
        click.echo(f"  enrolled {added:,} more enterprises (3 records each) in "
                   f"{time.perf_counter() - started:.1f} s")
    with Session(engine) as session:
        size = log.ledger_size(session)
        started = time.perf_counter()
        result = rebuild(session)
        session.commit()
        seconds = time.perf_counter() - started
        grades = Counter(s.grade for s in current_grades(session).values())
        facts = session.scalar(select(func.count()).select_from(CreditFactRow)) or 0
        enterprises = sum(grades.values())
    engine.dispose()
    per_entry = 1e6 * seconds / size
    click.echo(f"  {size:,} entries, {enterprises:,} enterprises, {facts:,} facts scored: "
               f"{seconds:.1f} s ({size / seconds:,.0f} entries/s, {per_entry:.1f} µs/entry); "
               f"{len(result.missing)} grade changes decided (a network written without the "
               f"grading has none on the ledger yet); grades as recorded "
               f"{dict(sorted(grades.items()))}")
    return report(Figure("grading from scratch, per entry / append cost per entry (figure 1)",
                         per_entry / append_us, 1.0, False,
                         f"{per_entry:.1f} vs {append_us:.1f} µs per entry, "
                         f"{size:,} entries"))


@click.command()
@click.option("--quick", is_flag=True, help="Small networks: a smoke test of the code paths.")
@click.option("--network", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A network database to grade from scratch (default: bench/trace.py's).")
@click.option("--skip-from-scratch", is_flag=True, help="Only figure 1.")
@click.option("--enterprises", type=click.IntRange(0), default=0,
              help="Before grading from scratch, enrol enterprises until this many are "
                   "registered (each with a product, a lot and its inspection).")
def main(quick: bool, network: Path | None, skip_from_scratch: bool, enterprises: int) -> None:
    """Quality credit: incremental grading cost vs append cost, and grading from scratch."""
    click.echo(f"machine: {cpu_model()}, {platform.python_version()}, load {load_average()}")
    with tempfile.TemporaryDirectory(prefix="tracenet-credit-bench-") as tmp:
        figure, append_us = incremental(INCREMENTAL_QUICK if quick else INCREMENTAL, Path(tmp))
        figures = [figure]
        if not skip_from_scratch:
            figures.append(from_scratch(FROM_SCRATCH_QUICK if quick else FROM_SCRATCH,
                                        network, Path(tmp), append_us, enterprises))
    heading("Summary")
    for item in figures:
        click.echo(item.line())


if __name__ == "__main__":
    main()
