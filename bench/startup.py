"""CLI start-up benchmark: how long ``tracenet`` takes before it does anything.

Run ``.venv/bin/python bench/startup.py`` (part of ``make bench``); ``--quick`` is a smoke run.

Every figure is measured in this run on this machine, as the wall time of a whole process
(``subprocess.run`` from start to exit, output discarded), several runs each, taking the
median. The commands take turns, run by run, so that whatever else the machine does weighs on
all of them alike; one untimed round first warms the disk cache.

1. **Baseline** -- ``python -c pass`` with the virtualenv's interpreter: the cost of any
   Python program, which no CLI can go below.
2. **Start-up** -- ``tracenet --help``, ``tracenet keygen --help`` and ``tracenet keygen
   --out FILE`` (a real key, in a fresh directory each run): each one's median minus the
   baseline's, and that difference as a fraction of the 0.3 s goal (target <= 1).

Every process runs in an empty temporary directory with ``TRACENET_INSTANCE`` pointing at an
empty one; the script checks afterwards that none of them wrote anything but the new keys.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 0.3  # seconds over a bare interpreter
BIN = Path(sys.executable).parent
TRACENET = str(BIN / "tracenet")

#: label -> argv; ``{key}`` is replaced by a fresh key path for every run
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "tracenet --help": [TRACENET, "--help"],
    "tracenet keygen --help": [TRACENET, "keygen", "--help"],
    "tracenet keygen --out FILE": [TRACENET, "keygen", "--out", "{key}"],
}
BASELINE = "python -c pass"


def wall_time(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds from starting ``argv`` to its exit; a failure stops the benchmark."""
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int, workdir: Path) -> dict[str, list[float]]:
    """Each command ``runs`` times (after one untimed round), taking turns."""
    cwd, instance, keys = workdir / "cwd", workdir / "instance", workdir / "keys"
    for folder in (cwd, instance, keys):
        folder.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACENET_")}
    env["TRACENET_INSTANCE"] = str(instance)
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for run in range(-1, runs):
        for label, argv in COMMANDS.items():
            key = keys / f"{run + 1}.pem"
            elapsed = wall_time([arg.replace("{key}", str(key)) for arg in argv], cwd, env)
            if run >= 0:
                times[label].append(elapsed)
    written = sorted(str(path.relative_to(workdir)) for path in workdir.rglob("*")
                     if path.is_file() and path.parent != keys)
    if written:
        raise SystemExit(f"the commands wrote files they should not have: {written}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="few runs, same code paths")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="tracenet-bench-startup-") as tmp:
        times = measure(runs, Path(tmp))
    medians = {label: statistics.median(values) for label, values in times.items()}
    baseline = medians[BASELINE]
    print(f"{runs} runs each, median wall time of the whole process:")
    print(f"  {BASELINE:<28} {baseline * 1000:6.1f} ms (baseline)")
    for label, median in medians.items():
        if label == BASELINE:
            continue
        extra = median - baseline
        ratio = extra / GOAL
        print(f"  {label:<28} {median * 1000:6.1f} ms = baseline + {extra * 1000:5.1f} ms "
              f"= {ratio:.2f} of the {GOAL} s goal (target <= 1: "
              f"{'met' if ratio <= 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
