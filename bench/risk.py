"""Early warning on generated data: the false-alarm rate of the rule without a rise, and
whether an injected rise is found.

    .venv/bin/python bench/risk.py            # 200 generated years
    .venv/bin/python bench/risk.py --quick    # 40

Each generated data set is ``MONTHS`` months of inspections in every cell of ``CATEGORIES`` x
``DISTRICTS`` (a Poisson number a month around ``PER_MONTH``, each failing with the cell's own
base rate, 1-9 %), through the same counting and rule as the ledger's (``ledger.risk.warning``:
``count`` and ``evaluate``). Without a rise, every alert is a false alarm: the figure is the
share of cell-months tested (past the first year, so every test has its baseline) that fire,
printed as a ratio to the rule's ``ALPHA``, and the share of months in which any cell fires.
With a rise (one category in one district, its failure rate multiplied in the last month),
the detection rate is the share of data sets whose injected cell fires.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.risk.warning import ALPHA, Inspection, count, evaluate  # noqa: E402

CATEGORIES = ("01", "04", "06", "07", "08", "29", "48", "62")
CLASSES = {"01": "F", "04": "F", "06": "F", "07": "F", "08": "F", "29": "A", "48": "G",
           "62": "T"}
DISTRICTS = ("鼓楼区", "台江区", "仓山区", "晋安区", "马尾区")
MONTHS = 24
PER_MONTH = 30


def month_names(count: int, start: tuple[int, int] = (2025, 1)) -> list[str]:
    """``count`` consecutive months from ``start`` as YYYY-MM."""
    year, month = start
    names = []
    for _ in range(count):
        names.append(f"{year:04d}-{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return names


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def generate(rng: random.Random, *, months: int = MONTHS, per_month: float = PER_MONTH,
             rise: tuple[str, str, str, float] | None = None) -> Iterator[Inspection]:
    """Generated inspections; ``rise`` = (category, district, month, failure rate) replaces
    that cell's rate in that month."""
    base = {(category, district): rng.uniform(0.01, 0.09)
            for category in CATEGORIES for district in DISTRICTS}
    for month in month_names(months):
        for (category, district), rate in base.items():
            if rise is not None and (category, district, month) == rise[:3]:
                rate = rise[3]
            for _ in range(_poisson(rng, per_month)):
                yield Inspection(month, category, CLASSES[category], district,
                                 rng.random() < rate)


def false_alarms(runs: int, seed: int = 2026) -> tuple[int, int, int, int]:
    """Over ``runs`` data sets without a rise: (tests, alarms, months, months with an alarm),
    counting only months with a full year of baseline."""
    rng = random.Random(seed)
    tested = month_names(MONTHS)[12:]
    tests = alarms = alarm_months = 0
    for _ in range(runs):
        results = evaluate(count(generate(rng)), tested)
        tests += len(results)
        fired = {test.month for test in results if test.fires}
        alarms += sum(test.fires for test in results)
        alarm_months += len(fired)
    return tests, alarms, runs * len(tested), alarm_months


def detections(runs: int, factor: float = 5.0, seed: int = 7) -> tuple[int, int]:
    """Over ``runs`` data sets with the last month's rate of one cell raised to ``factor``
    times 6 % (the middle of the base rates): (runs, runs where that cell fired)."""
    rng = random.Random(seed)
    last = month_names(MONTHS)[-1]
    found = 0
    for _ in range(runs):
        rise = ("07", "台江区", last, min(0.06 * factor, 1.0))
        results = evaluate(count(generate(rng, rise=rise)), [last])
        found += any(t.fires and t.cell.dimension == "category_district"
                     and t.cell.key == "07|台江区" for t in results)
    return runs, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 data sets instead of 200")
    runs = 40 if parser.parse_args().quick else 200
    started = time.perf_counter()
    tests, alarms, months, alarm_months = false_alarms(runs)
    rate = alarms / tests
    print(f"W1 false alarms per cell-month: {alarms}/{tests} = {rate:.2e} "
          f"(ratio to ALPHA {ALPHA}: {rate / ALPHA:.2f}; target <= 1)")
    print(f"W2 months with any false alarm: {alarm_months}/{months} = "
          f"{alarm_months / months:.3f}")
    total, found = detections(runs)
    print(f"W3 injected rise (6% -> 30%, ~30 inspections) found: {found}/{total} = "
          f"{found / total:.2f}")
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
