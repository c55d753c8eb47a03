"""The quality white paper on a 1,000,000-entry ledger: its figures, its HTML and its PDF.

A bureau downloads the white paper from the console, in one request that a gunicorn worker
must answer within its timeout (30 s by default), so the figures and the PDF are measured as
ratios to it, and the figures also against a floor measured in the same run: one plain query
fetching the same record rows and entry bodies (every live inspection and production) without
looking at them, which any report from the ledger pays.

- R1: ``ledger.reports.build_report`` for the year ÷ 30 s (target ≤ 0.5: half the timeout);
- R2: figures + PDF (``web.reports.render_pdf``) ÷ 30 s (target ≤ 1);
- R3: figures ÷ the fetch floor (target ≤ 3).

The network is ``bench/network.py``'s (the trace benchmark's), built once and cached.
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

import json
import os
import platform
import sqlite3
import time
from dataclasses import asdict
from datetime import UTC, datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.ledger import Figure, cpu_model, heading, load_average, report
from bench.network import CACHE, Shape, cached_network
from ledger.db import create_ledger_engine, migrate
from ledger.log.storage import EntryRow
from ledger.reports import Period, build_report, scope_of
from ledger.supervision.models import RecordRow
from ledger.supervision.names import INSPECTION, PRODUCTION

FULL = Shape(farms=200, processors=40, distributors=30, retailers=300, days=380, seed=1)
QUICK = Shape(farms=10, processors=6, distributors=4, retailers=20, days=20, seed=1)
TIMEOUT = 30.0  # gunicorn's default worker timeout, seconds


def _floor(session: Session) -> tuple[float, int]:
    """Seconds to fetch every live inspection and production row with its entry body."""
    started = time.perf_counter()
    rows = session.execute(select(RecordRow.seq, RecordRow.gtin, RecordRow.lot,
                                  RecordRow.verdict, EntryRow.body)
                           .join(EntryRow, EntryRow.seq == RecordRow.seq)
                           .where(RecordRow.type.in_((INSPECTION, PRODUCTION)),
                                  RecordRow.superseded_by.is_(None))).all()
    return time.perf_counter() - started, len(rows)


@click.command()
@click.option("--quick", is_flag=True, help="A 20-day network (about 50,000 entries).")
@click.option("--year", type=int, default=2026, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=CACHE,
              show_default=True, help="Where built networks are kept.")
def main(quick: bool, year: int, cache: Path) -> None:
    """Time the white paper's figures and PDF on a large ledger."""
    from web.reports import render_html, render_pdf

    shape = QUICK if quick else FULL
    click.echo(f"Tracenet report benchmark: network {shape.slug}{' (quick)' if quick else ''}")
    click.echo(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; Python "
               f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
               f"load average {load_average()}")
    path = cached_network(shape, cache)
    note = json.loads(path.with_suffix(".json").read_text())
    click.echo(f"network: {note['entries']:,} entries ({asdict(shape)['days']} days)")
    engine = create_ledger_engine(f"sqlite:///{path}")
    migrate(engine)  # a network cached before newer migrations gets their (empty) tables
    with Session(engine) as session:
        _floor(session)  # warm the page cache for both, so neither pays the disk alone
        floor, rows = min(_floor(session) for _ in range(2))
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            figures = build_report(session, Period(year), scope_of(session, None),
                                   now=datetime.now(UTC))
            timings.append(time.perf_counter() - started)
        built = min(timings)
    render_html(figures)  # matplotlib's and the template's first use
    started = time.perf_counter()
    pdf = render_pdf(figures)
    rendered = time.perf_counter() - started
    engine.dispose()
    click.echo(f"{year}: {figures.current.lots.total:,} lots inspected, "
               f"{figures.current.recalls.lots_produced:,} produced, index "
               f"{figures.index.value}; floor fetched {rows:,} rows in {floor:.2f} s; "
               f"PDF {len(pdf) // 1024} KiB")
    heading("Summary")
    report(Figure("R1 figures ÷ 30 s worker timeout", built / TIMEOUT, 0.5, False,
                  f"{built:.2f} s"))
    report(Figure("R2 figures + PDF ÷ 30 s worker timeout", (built + rendered) / TIMEOUT, 1.0,
                  False, f"{built:.2f} s + {rendered:.2f} s"))
    report(Figure("R3 figures ÷ fetching their rows", built / floor, 3.0, False,
                  f"{built:.2f} s ÷ {floor:.2f} s"))
    click.echo(f"  load average at the end: {load_average()} (other processes skew timings)")


if __name__ == "__main__":
    main()
