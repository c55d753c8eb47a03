"""Recall reach: from "recall ordered" to "every holder's notice queued", on the widest recall.

On a copy of the network ``bench/trace.py`` measures (``bench/network.py``, ~1,000,000 entries
by default, built once and cached), a provincial bureau is enrolled with a custodial key and
orders a class I recall of each of the widest raw lots: the time measured is one call of
``ledger.recall.start_recall`` (the downstream expansion through trace, the signed
``recall_initiated`` entry appended through ``submit`` and every rule, one outbox notice per
holder) plus the commit that makes the entry and the notices durable together. Each lot is
recalled on its own fresh copy of the network, so each starts from the same ledger. The figure
is the slowest of them as a ratio to 1 s, the programme's "within a second the bureau sees
every holder".

Run: ``.venv/bin/python bench/recall.py`` (``--quick``: the small network, same code paths).
"""
# ruff: noqa: E402 - the path is set up before the project's imports when run as a script

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import json
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.ledger import Figure, cpu_model, heading, load_average, report
from bench.network import CACHE, Shape, cached_network, network_ledger
from bench.trace import FULL, QUICK, widest_raw_lots
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.db import create_ledger_engine, migrate
from ledger.outbox.models import OutboxMessage
from ledger.recall import start_recall
from ledger.supervision.check_digits import uscc_check_character
from ledger.trace import LotKey

#: the programme's promise: the bureau sees every holder within a second
LIMIT_S = 1.0
BUREAU = "11350000MB" + "0000001"
BUREAU += uscc_check_character(BUREAU)


@click.command()
@click.option("--quick", is_flag=True, help="The small network, same code paths.")
@click.option("--sample", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Raw lots sampled to find the widest.")
@click.option("--widest", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many of the widest raw lots are recalled (one at a time).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=CACHE,
              show_default=True, help="Where built networks are kept.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figure to this JSON file.")
def main(quick: bool, sample: int, widest: int, seed: int, cache: Path,
         json_path: Path | None) -> None:
    """Order a class I recall of the widest raw lots and time it until every notice is queued."""
    shape = Shape(**{**asdict(QUICK if quick else FULL), "seed": seed})
    click.echo(f"Tracenet recall benchmark: network {shape.slug}{' (quick)' if quick else ''}")
    click.echo(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; load average {load_average()}")
    source = cached_network(shape, cache)
    engine = create_ledger_engine(f"sqlite:///{source}")
    migrate(engine)  # a network cached before newer migrations gets their (empty) tables
    with Session(engine) as session:
        wide, sampled = widest_raw_lots(session, random.Random(seed), sample, widest)
    engine.dispose()
    heading(f"Ordering a class I recall of each of the {len(wide)} widest raw lots "
            f"(of {sampled:,} sampled), each on its own copy of the network")
    timings = [_recall(source, shape, lot, holdings) for lot, holdings in wide]
    slowest, notices = max(timings)
    figure = report(Figure("recall ordered -> every notice queued, slowest / 1 s",
                           slowest / LIMIT_S, 1.0, False,
                           f"{slowest * 1000:,.1f} ms for {notices:,} notices"))
    heading("Summary")
    click.echo(f"  load average at the end: {load_average()} (other processes skew timings)")
    click.echo(f"  {'met   ' if figure.met else 'MISSED'}  {figure.name:<50} "
               f"{figure.ratio:9.3f}  (target {figure.target_text})  {figure.detail}")
    if json_path is not None:
        json_path.write_text(json.dumps([{**asdict(figure), "met": figure.met}], indent=2)
                             + "\n")


def _recall(source: Path, shape: Shape, lot: LotKey, holdings: int) -> tuple[float, int]:
    """Time ordering a recall of ``lot`` on a fresh copy of the network: (seconds, notices)."""
    with tempfile.TemporaryDirectory(prefix="tracenet-recall-") as scratch:
        path = Path(scratch) / "network.db"
        shutil.copyfile(source, path)  # the cached network stays as it was built
        engine = create_ledger_engine(f"sqlite:///{path}")
        ledger, vault = network_ledger(shape), KeyVault("bench-recall")
        try:
            with Session(engine) as session:
                enrol_enterprise(session, ledger, vault, {
                    "uscc": BUREAU, "name": "福建省市场监督管理局", "roles": ["regulator"],
                    "district": "福建省"})
                session.commit()
                started = time.perf_counter()
                recall = start_recall(session, ledger, vault, enterprise=BUREAU,
                                      kind="ordered", level=1, reason="原料检出三聚氰胺超标",
                                      hazard="可能危害婴幼儿健康", lots=[lot])
                session.commit()
                seconds = time.perf_counter() - started
                queued = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.key.like(f"recall/{recall.seq}/%")))
        finally:
            engine.dispose()
    if queued != len(recall.notices):
        raise RuntimeError(f"{len(recall.notices)} notices reported, {queued} queued")
    click.echo(f"  {lot.gtin}/{lot.lot}: {holdings:,} holdings reached, {queued:,} notices "
               f"queued in {seconds * 1000:,.1f} ms")
    return seconds, queued


if __name__ == "__main__":
    main()
