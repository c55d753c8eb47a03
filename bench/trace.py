"""Trace benchmark: ``ledger.trace`` against a plain recursive CTE over the same tables.

Run ``.venv/bin/python bench/trace.py`` (``make bench``); ``--quick`` runs the same code paths
on a small network as a smoke test. Every figure is a ratio measured in this run on this
machine; nothing is asserted, the script prints each figure with its target and exits 0.

The network is :mod:`bench.network`'s (farms -> two tiers of processors -> distributors ->
retailers, with splits, merges, returns, re-routed shipments, serialised units on pallets),
written through the submit door with client-signed statements and cached on disk by its
shape (``bench/results/networks/``); the default shape makes a little over 1,000,000 entries
(building it once takes about an hour on a 2-core machine). PostgreSQL gets the same network:
a throwaway server is started from the machine's binaries (as the tests do), migrated, and
every table of the SQLite file is copied into it with ``COPY``, then ``ANALYZE``d.

For each database, two populations of starting lots:

- 1,000 lots drawn uniformly from every lot on the ledger (``--lots``);
- the 10 widest raw-material lots: of 2,000 lots made from nothing on the ledger (the farms'
  milk; ``--sample``), the 10 whose ``downstream_lots`` reaches the most holdings.

Each lot is traced downstream and upstream by both sides, alternating which goes first, each
call in its own session as a web request would be:

- **ours**: ``trace_downstream`` / ``trace_upstream`` with depth 32 and a limit of 10,000
  holdings: the whole answer (lots with products, holdings with received / held / passed on,
  the steps with their seqs, unit codes and aggregates);
- **the baseline**: one recursive-CTE statement, as a reasonable engineer writes it: the lot's
  holders, then ``UNION`` over ``lot_edges`` joined on the node (holder, GTIN, lot), bounded by
  the same depth, grouped to each node's shortest depth, joined to the holder's name, the
  lot's product and inspection, the stock, and each node's received / passed-on / used sums.
  It computes less than ours (no steps, no unit codes), which favours it.

For a sample of lots the two are checked to reach the same nodes. Figures: the baseline's
p99 divided by ours (target >= 5) for each database, direction and population; the p50s and
p99s in milliseconds beside them (for scale: IBM Food Trust's published mango trace took
2.2 s); and the SQL statements ours issued per trace (the walk reads one batch per level).
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

import gc
import json
import os
import platform
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict
from typing import Any

import click
from sqlalchemy import Boolean, Engine, event, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.ledger import Figure, cpu_model, heading, load_average, percentile, report
from bench.network import CACHE, Shape, cached_network
from ledger.db import Base, create_ledger_engine, migrate
from ledger.supervision.models import LotEdgeRow, LotRow
from ledger.supervision.names import PRODUCTION
from ledger.trace import LotKey, TraceStart, downstream_lots, trace_downstream, trace_upstream

FULL = Shape(farms=200, processors=40, distributors=30, retailers=300, days=380, seed=1)
QUICK = Shape(farms=10, processors=6, distributors=4, retailers=20, days=20, seed=1)
DEPTH = 32
LIMIT = 10_000
TARGET = 5.0
IBM_MANGO_MS = 2200.0

#: the baseline: one recursive CTE, reach then quantities. {a}/{b} are from/to (downstream)
#: or to/from (upstream).
_CTE = """
WITH RECURSIVE
start(holder, gtin, lot) AS (
    SELECT origin, gtin, lot FROM lots WHERE gtin = :gtin AND lot = :lot
    UNION
    SELECT to_holder, to_gtin, to_lot FROM lot_edges
     WHERE to_gtin = :gtin AND to_lot = :lot AND kind <> 'production'
       AND superseded_by IS NULL
    UNION
    SELECT from_holder, from_gtin, from_lot FROM lot_edges
     WHERE from_gtin = :gtin AND from_lot = :lot AND kind <> 'production'
       AND superseded_by IS NULL
),
reach(holder, gtin, lot, depth) AS (
    SELECT holder, gtin, lot, 0 FROM start
    UNION
    SELECT e.{b}_holder, e.{b}_gtin, e.{b}_lot, r.depth + 1
      FROM reach r
      JOIN lot_edges e ON e.{a}_gtin = r.gtin AND e.{a}_lot = r.lot AND e.{a}_holder = r.holder
     WHERE r.depth < :depth AND e.superseded_by IS NULL
       AND e.kind IN ('production', 'shipment', 'material_intake')
),
nodes(holder, gtin, lot, depth) AS (
    SELECT holder, gtin, lot, MIN(depth) FROM reach GROUP BY holder, gtin, lot
)
SELECT n.holder, n.gtin, n.lot, n.depth, en.name, p.name AS product, l.inspection,
       s.quantity AS held,
       (SELECT SUM(CAST(e.quantity AS NUMERIC)) FROM lot_edges e
         WHERE e.to_gtin = n.gtin AND e.to_lot = n.lot AND e.to_holder = n.holder
           AND e.kind IN ('receipt', 'material_intake') AND e.superseded_by IS NULL
       ) AS received,
       (SELECT SUM(CAST(e.quantity AS NUMERIC)) FROM lot_edges e
         WHERE e.from_gtin = n.gtin AND e.from_lot = n.lot AND e.from_holder = n.holder
           AND e.kind = 'shipment' AND e.superseded_by IS NULL) AS passed_on,
       (SELECT SUM(CAST(e.quantity AS NUMERIC)) FROM lot_edges e
         WHERE e.from_gtin = n.gtin AND e.from_lot = n.lot AND e.from_holder = n.holder
           AND e.kind = 'production') AS used
  FROM nodes n
  JOIN lots l ON l.gtin = n.gtin AND l.lot = n.lot
  LEFT JOIN products p ON p.gtin = n.gtin
  LEFT JOIN enterprises en ON en.uscc = n.holder
  LEFT JOIN stock s ON s.enterprise = n.holder AND s.gtin = n.gtin AND s.lot = n.lot
 ORDER BY n.depth, n.gtin, n.lot, n.holder
"""
CTE = {True: text(_CTE.format(a="from", b="to")), False: text(_CTE.format(a="to", b="from"))}


# -- choosing lots ---------------------------------------------------------------------------


def random_lots(session: Session, rng: random.Random, count: int) -> list[LotKey]:
    lots = sorted(LotKey(g, lt) for g, lt in session.execute(select(LotRow.gtin, LotRow.lot)))
    return rng.sample(lots, min(count, len(lots)))


def widest_raw_lots(session: Session, rng: random.Random, sample: int,
                    count: int) -> tuple[list[tuple[LotKey, int]], int]:
    """Of ``sample`` lots made from nothing on the ledger, the ``count`` whose downstream
    reaches the most holdings (with that number), and how many were sampled."""
    made_from_something = select(LotEdgeRow.to_gtin, LotEdgeRow.to_lot).where(
        LotEdgeRow.kind == PRODUCTION).distinct()
    fed = {LotKey(g, lt) for g, lt in session.execute(made_from_something)}
    raw = sorted(LotKey(g, lt) for g, lt in session.execute(
        select(LotRow.gtin, LotRow.lot).where(LotRow.origin_type == PRODUCTION))
        if LotKey(g, lt) not in fed)
    chosen = rng.sample(raw, min(sample, len(raw)))
    with click.progressbar(chosen, label="  measuring raw lots' reach", file=sys.stderr) as bar:
        reach = [(lot, len(downstream_lots(session, *lot).holders)) for lot in bar]
    reach.sort(key=lambda item: (-item[1], item[0]))
    return reach[:count], len(chosen)


# -- timing ----------------------------------------------------------------------------------


@contextmanager
def counting(engine: Engine) -> Iterator[list[int]]:
    """Count the SQL statements ``engine`` runs while the block runs."""
    counter = [0]

    def count(*_: Any) -> None:
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def ours(sessions: sessionmaker[Session], lot: LotKey, downstream: bool) -> tuple[
        float, set[tuple[str, str, str]], bool]:
    walk = trace_downstream if downstream else trace_upstream
    with sessions() as session:
        start = time.perf_counter()
        answer = walk(session, TraceStart.of_lot(*lot), depth=DEPTH, limit=LIMIT)
        elapsed = time.perf_counter() - start
    return elapsed, {(h.holder, h.gtin, h.lot) for h in answer.holdings}, answer.truncated


def baseline(sessions: sessionmaker[Session], lot: LotKey, downstream: bool) -> tuple[
        float, set[tuple[str, str, str]]]:
    with sessions() as session:
        start = time.perf_counter()
        rows = session.execute(CTE[downstream],
                               {"gtin": lot.gtin, "lot": lot.lot, "depth": DEPTH}).all()
        elapsed = time.perf_counter() - start
    return elapsed, {(row.holder, row.gtin, row.lot) for row in rows}


def ms(values: Sequence[float], fraction: float) -> float:
    return percentile(values, fraction) * 1e3


def bench_database(label: str, engine: Engine, lots: list[LotKey],
                   widest: list[tuple[LotKey, int]], checked: int) -> list[Figure]:
    """Both sides on both populations and directions; figures for ``label``."""
    heading(f"{label}: {len(lots):,} random lots and the {len(widest)} widest raw lots")
    sessions = sessionmaker(engine)
    figures = []
    for lot in lots[:5]:  # warm the pool, statement caches and the database's pages
        for downstream in (True, False):
            ours(sessions, lot, downstream)
            baseline(sessions, lot, downstream)
    for population, starts in (("random lots", lots),
                               ("widest raw lots", [lot for lot, _ in widest])):
        for downstream in (True, False):
            direction = "downstream" if downstream else "upstream"
            our_times, cte_times, sizes, mismatched, truncated = [], [], [], 0, 0
            gc.collect()
            gc.freeze()  # earlier garbage must not land in these timings
            with counting(engine) as statements:
                our_statements = 0
                for index, lot in enumerate(starts):
                    first = index % 2 == 0  # alternate who goes first
                    if not first:
                        cte_time, cte_nodes = baseline(sessions, lot, downstream)
                    before = statements[0]
                    our_time, our_nodes, cut = ours(sessions, lot, downstream)
                    our_statements += statements[0] - before
                    if first:
                        cte_time, cte_nodes = baseline(sessions, lot, downstream)
                    our_times.append(our_time)
                    cte_times.append(cte_time)
                    sizes.append(len(our_nodes))
                    truncated += cut
                    if index < checked and not cut and our_nodes != cte_nodes:
                        mismatched += 1
            gc.unfreeze()
            our_p50, our_p99 = ms(our_times, 0.5), ms(our_times, 0.99)
            cte_p50, cte_p99 = ms(cte_times, 0.5), ms(cte_times, 0.99)
            click.echo(f"  {population}, {direction}: ours p50 {our_p50:.2f} ms, p99 "
                       f"{our_p99:.2f} ms; recursive CTE p50 {cte_p50:.2f} ms, p99 "
                       f"{cte_p99:.2f} ms; holdings per trace: median "
                       f"{percentile(sizes, 0.5):,}, max {max(sizes):,}; "
                       f"{our_statements / len(starts):.1f} SQL statements per trace "
                       f"(ours); {truncated} truncated at depth {DEPTH} / limit {LIMIT:,}; "
                       f"{min(checked, len(starts))} checked, {mismatched} reached other "
                       f"nodes than the CTE")
            figures.append(report(Figure(
                f"{label} {direction}, {population}: CTE p99 / ours p99",
                cte_p99 / our_p99, TARGET, True,
                f"ours p50 {our_p50:.2f} / p99 {our_p99:.2f} ms, CTE p50 {cte_p50:.2f} / "
                f"p99 {cte_p99:.2f} ms; IBM mango 2.2 s = {IBM_MANGO_MS / our_p99:,.0f}x "
                f"our p99")))
    return figures


# -- PostgreSQL ------------------------------------------------------------------------------


def copy_to_postgres(source: Path, url: str) -> Engine:
    """A migrated PostgreSQL database holding every row of the SQLite ledger ``source``."""
    engine = create_ledger_engine(url)
    migrate(engine)
    ours_tables = set(inspect(engine).get_table_names())
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with closing(sqlite3.connect(source)) as lite, psycopg.connect(dsn) as pg:
        present = {name for (name,) in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        tables = [t for t in Base.metadata.sorted_tables
                  if t.name in present and t.name in ours_tables]
        for table in tables:
            columns = [column.name for column in table.columns]
            count = lite.execute(f'SELECT COUNT(*) FROM "{table.name}"').fetchone()[0]  # noqa: S608 - names from our metadata
            if not count:
                continue
            # SQLite keeps booleans as 0 / 1; PostgreSQL's COPY wants them as booleans
            booleans = {i for i, column in enumerate(table.columns)
                        if isinstance(column.type, Boolean)}
            rows = lite.execute(f'SELECT {", ".join(columns)} FROM "{table.name}"')  # noqa: S608
            with pg.cursor() as cursor, click.progressbar(
                    length=count, label=f"  COPY {table.name}", file=sys.stderr) as bar, \
                    cursor.copy(f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN') as copy:
                for row in rows:
                    if booleans:
                        row = tuple(bool(value) if i in booleans and value is not None
                                    else value for i, value in enumerate(row))
                    copy.write_row(row)
                    bar.update(1)
        pg.commit()
        pg.execute("ANALYZE")
    return engine


# -- main ------------------------------------------------------------------------------------


@click.command()
@click.option("--quick", is_flag=True, help="A small network, same code paths (a smoke test).")
@click.option("--lots", "lot_count", type=click.IntRange(min=1), default=None,
              help="Random lots to trace [1000; --quick: 100].")
@click.option("--sample", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Raw-material lots measured to find the widest.")
@click.option("--widest", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--check", "checked", type=click.IntRange(min=0), default=100,
              show_default=True, help="Lots per run whose reach is checked against the CTE.")
@click.option("--postgres/--no-postgres", default=True, show_default=True,
              help="Also on PostgreSQL (a throwaway server from the machine's binaries).")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Days of the network (its size) [380: ~1,000,000 entries; --quick: 20].")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=CACHE,
              show_default=True, help="Where built networks are kept.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures to this JSON file.")
def main(quick: bool, lot_count: int | None, sample: int, widest: int, checked: int,
         postgres: bool, days: int | None, seed: int, cache: Path,
         json_path: Path | None) -> None:
    """Trace from random and from the widest lots: ours against a recursive CTE."""
    base = QUICK if quick else FULL
    shape = Shape(**{**asdict(base), "seed": seed, "days": days or base.days})
    lot_count = lot_count or (100 if quick else 1000)
    rng = random.Random(seed)
    click.echo(f"Tracenet trace benchmark: network {shape.slug}{' (quick)' if quick else ''}")
    click.echo(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; Python "
               f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
               f"load average {load_average()}")
    started = time.perf_counter()
    path = cached_network(shape, cache, _progress("building the network (cached after)"))
    note = json.loads(path.with_suffix(".json").read_text())
    click.echo(f"network: {note['entries']:,} entries, {note['raw_lots']:,} raw lots; built "
               f"in {note['seconds']:,.0f} s ({note['entries'] / note['seconds']:,.0f} "
               f"entries/s){' just now' if time.perf_counter() - started > 5 else ', cached'}")
    engine = create_ledger_engine(f"sqlite:///{path}")
    migrate(engine)  # a network cached before newer migrations gets their (empty) tables
    with Session(engine) as session:
        lots = random_lots(session, rng, lot_count)
        wide, sampled = widest_raw_lots(session, rng, sample, widest)
    click.echo(f"widest raw lots (of {sampled:,} sampled): holdings reached "
               + ", ".join(f"{size:,}" for _, size in wide))
    figures = bench_database("SQLite", engine, lots, wide, checked)
    engine.dispose()
    if postgres:
        figures += _on_postgres(path, lots, wide, checked)
    heading("Summary")
    click.echo(f"  load average at the end: {load_average()} (other processes skew timings)")
    for figure in figures:
        click.echo(f"  {'met   ' if figure.met else 'MISSED'}  {figure.name:<62} "
                   f"{figure.ratio:9.2f}  (target {figure.target_text})  {figure.detail}")
    if json_path is not None:
        json_path.write_text(json.dumps(
            [{**asdict(figure), "met": figure.met} for figure in figures], indent=2) + "\n")


def _on_postgres(path: Path, lots: list[LotKey], wide: list[tuple[LotKey, int]],
                 checked: int) -> list[Figure]:
    from tests.conftest import PostgresServer, _pg_bin

    bin_dir = _pg_bin()
    if bin_dir is None:
        click.echo("PostgreSQL: no binaries on this machine (initdb not found); skipped")
        return []
    server = PostgresServer(bin_dir)
    server.start()
    try:
        copied = time.perf_counter()
        engine = copy_to_postgres(path, server.new_database())
        click.echo(f"PostgreSQL: the network copied in {time.perf_counter() - copied:,.0f} s")
        try:
            return bench_database("PostgreSQL", engine, lots, wide, checked)
        finally:
            engine.dispose()
    finally:
        server.stop()


def _progress(label: str) -> Callable[[int], None]:
    last = [0.0]

    def progress(done: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10:
            last[0] = now
            click.echo(f"  {label}: {done:,} statements", err=True)

    return progress


if __name__ == "__main__":
    main()
