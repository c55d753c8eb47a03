"""Incident view benchmark: the regulator's search (``ledger.trace.search.find_lots``) and the
traces the lot's page draws, on the 1,000,000-entry trace network.

Run ``.venv/bin/python bench/incident.py`` (``--quick`` for the small network as a smoke
test). The network is :mod:`bench.network`'s, cached by its shape as ``bench/trace.py`` builds
it (``--cache`` to point at another folder); it is copied to a temporary file and migrated
there, so the cache is never written. Nothing is asserted: each figure is a p99 as a ratio to
a limit, printed with its target, and the script exits 0.

What is timed, each call in its own session as a web request would be:

- **search**: ``find_lots`` for each kind of text a bureau types, ``--runs`` distinct queries
  of each kind drawn from the ledger: a product name (matches every lot of the product),
  a lot code's first five characters (many lots), a whole lot code, an enterprise's name, a
  USCC, and text that matches nothing (every condition scanned, nothing found). The limit is
  300 ms, a search box's budget for answering while someone waits;
- **incident**: for lots drawn uniformly, what the lot's page reads from the ledger: the lot
  found by its code, then its downstream and upstream traces. The limit is 1 s.
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

import os
import platform
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.ledger import Figure, cpu_model, heading, load_average, percentile, report
from bench.network import CACHE, Shape, cached_network
from ledger.db import create_ledger_engine, migrate
from ledger.log.storage import EnterpriseRow
from ledger.supervision.models import LotRow, ProductRow
from ledger.trace import TraceStart, trace_downstream, trace_upstream
from ledger.trace.search import find_lots

FULL = Shape(farms=200, processors=40, distributors=30, retailers=300, days=380, seed=1)
QUICK = Shape(farms=10, processors=6, distributors=4, retailers=20, days=20, seed=1)
SEARCH_LIMIT_MS = 300.0
INCIDENT_LIMIT_MS = 1000.0


def _queries(session: Session, rng: random.Random, runs: int) -> dict[str, list[str]]:
    """``runs`` texts of each kind, drawn from what the ledger holds."""
    lots = list(session.scalars(select(LotRow.lot).order_by(func.random()).limit(runs)))
    names = list(session.scalars(select(ProductRow.name).distinct()))
    enterprises = list(session.execute(select(EnterpriseRow.uscc, EnterpriseRow.name)))
    return {
        "product name": [rng.choice(names) for _ in range(runs)],
        "lot code, first 5 characters": [lot[:5] for lot in lots],
        "whole lot code": lots,
        "enterprise name": [rng.choice(enterprises)[1] for _ in range(runs)],
        "USCC": [rng.choice(enterprises)[0] for _ in range(runs)],
        "no match": [f"无此批次-{index}" for index in range(runs)],
    }


def _timed(sessions: sessionmaker[Session], call: Callable[[Session], object]) -> float:
    with sessions() as session:
        started = time.perf_counter()
        call(session)
        return (time.perf_counter() - started) * 1000


def _incident(session: Session, gtin: str, lot: str) -> None:
    find_lots(session, lot)
    start = TraceStart.of_lot(gtin, lot)
    trace_downstream(session, start)
    trace_upstream(session, start)


@click.command()
@click.option("--quick", is_flag=True, help="The small network, as a smoke test.")
@click.option("--runs", type=int, default=None, help="Queries of each kind (default 50; 10 "
              "with --quick).")
@click.option("--cache", type=click.Path(path_type=Path), default=CACHE, show_default=True,
              help="Where bench/trace.py caches its networks.")
def main(quick: bool, runs: int | None, cache: Path) -> None:
    """Time the incident view's search and its lot page's traces."""
    shape = QUICK if quick else FULL
    runs = runs or (10 if quick else 50)
    rng = random.Random(shape.seed)
    click.echo(f"Tracenet incident benchmark: network {shape.slug}{' (quick)' if quick else ''}")
    click.echo(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; Python "
               f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
               f"load average {load_average()}")
    cached = cached_network(shape, cache, lambda _done: None)
    with tempfile.TemporaryDirectory(prefix="tracenet-incident-") as folder:
        path = Path(folder) / "network.db"
        shutil.copyfile(cached, path)
        engine = create_ledger_engine(f"sqlite:///{path}")
        migrate(engine)
        sessions = sessionmaker(engine)
        with sessions() as session:
            lots = session.scalar(select(func.count()).select_from(LotRow)) or 0
            queries = _queries(session, rng, runs)
            sample = list(session.execute(select(LotRow.gtin, LotRow.lot)
                                          .order_by(func.random()).limit(runs)))
        click.echo(f"network: {lots:,} lots; {runs} queries of each kind; "
                   f"shape {asdict(shape)}")
        figures = []
        heading("Search (find_lots), each query in its own session")
        every: list[float] = []
        for kind, texts in queries.items():
            times = [_timed(sessions, lambda s, text=text: find_lots(s, text)) for text in texts]
            every += times
            click.echo(f"  {kind:<32} p50 {percentile(times, .5):7.1f} ms   "
                       f"p99 {percentile(times, .99):7.1f} ms")
        figures.append(report(Figure(
            "search p99 / 300 ms", percentile(every, .99) / SEARCH_LIMIT_MS, 1.0, False,
            f"p50 {percentile(every, .5):.1f} ms, p99 {percentile(every, .99):.1f} ms over "
            f"{len(every)} searches")))
        heading("The lot's page: found by its code, traced both ways")
        times = [_timed(sessions, lambda s, g=gtin, lot=lot: _incident(s, g, lot))
                 for gtin, lot in sample]
        figures.append(report(Figure(
            "incident p99 / 1 s", percentile(times, .99) / INCIDENT_LIMIT_MS, 1.0, False,
            f"p50 {percentile(times, .5):.1f} ms, p99 {percentile(times, .99):.1f} ms over "
            f"{len(times)} lots")))
        engine.dispose()
    click.echo(f"load average at the end: {load_average()} (other processes skew timings)")


if __name__ == "__main__":
    main()
