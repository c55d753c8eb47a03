"""Shopper lookups through gunicorn: random issued unit codes, each query counted.

Run ``.venv/bin/python bench/lookup.py`` (part of ``make bench``); ``--quick`` is a smoke run.

For SQLite and then PostgreSQL (a throwaway server from the machine's binaries), in this run:

1. a ledger with a product, a lot and ``--units`` serialised units (random serials), served by
   gunicorn on loopback (``--workers 2``, rate limiting off: the server is measured, not the
   limiter);
2. **baseline**: ``GET /healthz``, the app's trivial JSON endpoint (one ``SELECT 1``), from
   four client threads: requests/s and latencies;
3. **lookups**: ``GET /api/v1/public/lookup?gtin=&lot=&serial=`` of random issued units from
   the same four threads, every one counting its query (the atomic upsert of
   ``ledger.consumer.counting``, a write): requests/s, its ratio to the baseline (goal >= 0.5),
   and p50 / p99 latency. The counts are checked afterwards: every query counted once.

The server and the clients share the machine's cores, so both rates are conservative alike.
Then, when ``bench/decode.py`` is there, its ``decode_time_ratio``: the decode time of 1080p
photos, ``scanners.images.decode_image`` against zxing-cpp's own ``read_barcodes`` on the same
bytes (goal <= 1.5), the worst picture's ratio and each picture's times.
"""

from __future__ import annotations

import importlib.util
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.api import gunicorn  # noqa: E402
from ledger import log  # noqa: E402
from ledger.accounts.custodial import KeyVault  # noqa: E402
from ledger.accounts.enrolment import enrol_enterprise  # noqa: E402
from ledger.consumer.models import UnitQueryRow  # noqa: E402
from ledger.db import create_ledger_engine  # noqa: E402
from ledger.log.entry import Statement  # noqa: E402
from ledger.log.keys import load_or_create_private_key  # noqa: E402
from ledger.supervision import names  # noqa: E402
from ledger.supervision.submit import submit  # noqa: E402
from schemas.identifiers import uscc_check_character  # noqa: E402

ORIGIN = "bench.localhost/ledger"
SECRET = "bench-secret"  # noqa: S105 - a throwaway benchmark instance
GTIN, LOT = "06927331000018", "B20261128"
DAY = "2026-11-26T08:00:00+08:00"
THREADS = 4


def uscc(serial: int) -> str:
    first17 = f"91350100MA{serial:07d}"
    return first17 + uscc_check_character(first17)


def environment(database_url: str, workdir: Path) -> dict[str, str]:
    return {**os.environ, "TRACENET_DATABASE_URL": database_url,
            "TRACENET_LEDGER_KEY": str(workdir / "ledger.pem"),
            "TRACENET_LEDGER_ORIGIN": ORIGIN, "TRACENET_SECRET_KEY": SECRET,
            "TRACENET_CODE_SECRET": "bench-code-secret", "TRACENET_INSTANCE": str(workdir),
            "TRACENET_QUERY_WARNING_THRESHOLD": "1000000",
            "TRACENET_RATELIMIT_ENABLED": "false"}  # measure the server, not the limiter


def build(env: dict[str, str], units: int, rng: random.Random) -> list[str]:
    """``tracenet init``, then a dairy, its milk, one lot and ``units`` serials; the serials."""
    subprocess.run([sys.executable, "-c", "from web.cli import main; main()", "init"],
                   env=env, cwd=REPO, check=True, capture_output=True)
    engine = create_ledger_engine(env["TRACENET_DATABASE_URL"])
    ledger = log.Ledger(ORIGIN, load_or_create_private_key(Path(env["TRACENET_LEDGER_KEY"])))
    vault = KeyVault(SECRET)
    alphabet = string.ascii_uppercase + string.digits
    serials = sorted({"".join(rng.choices(alphabet, k=12)) for _ in range(units)})
    dairy = uscc(1)
    with sessionmaker(engine)() as session:
        enrol_enterprise(session, ledger, vault, {
            "uscc": dairy, "name": "闽榕乳业", "roles": ["producer"], "district": "福州市",
            "licences": {"SC": "SC10535012100053"}})
        records = [
            (names.PRODUCT_REGISTERED, {"gtin": GTIN, "name": "纯牛奶", "category": "07",
                                        "standard": "GB 25190-2010", "spec": "250mL"}),
            (names.PRODUCTION, {"gtin": GTIN, "lot": LOT, "quantity": str(len(serials)),
                                "unit": "pcs", "produced_at": DAY, "expiry": "2027-05-26",
                                "inputs": []}),
            (names.INSPECTION, {"gtin": GTIN, "lot": LOT, "kind": "third_party", "lab": "质检院",
                                "verdict": "pass", "report_no": "R-1", "inspected_at": DAY,
                                "items": [{"name": "蛋白质", "value": "3.1", "pass": True}]}),
            (names.SERIALIZATION, {"gtin": GTIN, "lot": LOT, "serials": serials}),
        ]
        submit(session, ledger, vault, [Statement(type_, dairy, "", DAY, payload)
                                        for type_, payload in records])
        session.commit()
    engine.dispose()
    return serials


@dataclass(frozen=True)
class Figures:
    rate: float
    p50_ms: float
    p99_ms: float


def hammer(paths: Sequence[str], url: str, label: str,
           check: Callable[[requests.Response], None]) -> Figures:
    """GET every path from THREADS client threads; requests/s and latencies."""
    local = threading.local()

    def get(path: str) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = time.perf_counter()
        response = local.session.get(url + path, timeout=60)
        elapsed = time.perf_counter() - started
        check(response)
        return elapsed

    started = time.perf_counter()
    latencies = []
    with ThreadPoolExecutor(THREADS) as pool, click.progressbar(
            length=len(paths), label=label, file=sys.stderr) as bar:
        for latency in pool.map(get, paths):
            latencies.append(latency)
            bar.update(1)
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Figures(len(paths) / elapsed, cuts[49] * 1000, cuts[98] * 1000)


def _ok(response: requests.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")


def _counted(response: requests.Response) -> None:
    _ok(response)
    body = response.json()
    if not (body["queries"]["counted"] and body["authenticity"] == "genuine"):
        raise RuntimeError(f"not a counted genuine lookup: {body}")


def bench_database(label: str, database_url: str, workdir: Path, requests_count: int,
                   units: int, seed: int) -> tuple[str, Figures, Figures]:
    rng = random.Random(seed)
    env = environment(database_url, workdir)
    serials = build(env, units, rng)
    picked = [rng.choice(serials) for _ in range(requests_count)]
    lookups = [f"/api/v1/public/lookup?gtin={GTIN}&lot={LOT}&serial={serial}"
               for serial in picked]
    with gunicorn(env) as url:
        hammer(["/healthz"] * THREADS * 20 + lookups[:THREADS * 20], url, f"{label} warm-up",
               _ok)
        baseline = hammer(["/healthz"] * requests_count, url, f"{label} /healthz", _ok)
        lookup = hammer(lookups, url, f"{label} lookups", _counted)
    engine = create_ledger_engine(database_url)
    with sessionmaker(engine)() as session:
        total = session.scalar(select(func.sum(UnitQueryRow.count)))
    engine.dispose()
    if total != requests_count + THREADS * 20:
        raise RuntimeError(f"{total} queries counted, {requests_count + THREADS * 20} made")
    return label, baseline, lookup


def decode_ratio(repeat: int) -> list[str] | None:
    """bench/decode.py's 1080p decode-time figure, as lines to print (None without it)."""
    path = REPO / "bench" / "decode.py"
    spec = importlib.util.spec_from_file_location("bench_decode", path)
    if not path.exists() or spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    measure = getattr(module, "decode_time_ratio", None)
    if measure is None:
        return None
    worst, times = measure(repeat)
    lines = [f"1080p photo decode, ours / zxing-cpp read_barcodes (median of {repeat}): worst "
             f"{worst:.2f} (goal <= 1.50: {'met' if worst <= 1.5 else 'MISSED'})"]
    lines += [f"  {t.name}: ours {t.ours * 1e3:.1f} ms, zxing-cpp {t.zxing * 1e3:.1f} ms = "
              f"{t.ratio:.2f}{'' if t.read else ' (ours did not read it)'}" for t in times]
    return lines


@click.command()
@click.option("--quick", is_flag=True, help="small sizes, same code paths")
@click.option("--requests", "requests_count", default=4000, show_default=True,
              help="requests per endpoint per database")
@click.option("--units", default=20_000, show_default=True, help="serialised units")
@click.option("--postgres/--no-postgres", default=True, show_default=True)
@click.option("--seed", default=8, show_default=True)
def main(quick: bool, requests_count: int, units: int, postgres: bool, seed: int) -> None:
    """Lookups of random issued unit codes against /healthz, through gunicorn."""
    if quick:
        requests_count, units = 400, 1000
    results = []
    with tempfile.TemporaryDirectory(prefix="tracenet-bench-lookup-") as tmp:
        workdir = Path(tmp) / "sqlite"
        workdir.mkdir()
        results.append(bench_database("SQLite", f"sqlite:///{workdir / 'tracenet.db'}",
                                      workdir, requests_count, units, seed))
        if postgres:
            from tests.conftest import PostgresServer, _pg_bin

            bin_dir = _pg_bin()
            if bin_dir is None:
                print("no PostgreSQL binaries: PostgreSQL skipped", file=sys.stderr)
            else:
                server = PostgresServer(bin_dir)
                server.start()
                try:
                    workdir = Path(tmp) / "postgresql"
                    workdir.mkdir()
                    results.append(bench_database("PostgreSQL", server.new_database(),
                                                  workdir, requests_count, units, seed))
                finally:
                    server.stop()
    print()
    print(f"{requests_count} requests per endpoint, {THREADS} client threads, gunicorn "
          f"--workers 2, {units} serialised units, every lookup counted")
    for label, baseline, lookup in results:
        ratio = lookup.rate / baseline.rate
        print(f"{label}: /healthz {baseline.rate:,.0f} req/s (p99 {baseline.p99_ms:.1f} ms); "
              f"lookups {lookup.rate:,.0f} req/s, p50 {lookup.p50_ms:.1f} ms, "
              f"p99 {lookup.p99_ms:.1f} ms = {ratio:.2f} of /healthz "
              f"(goal >= 0.50: {'met' if ratio >= 0.5 else 'MISSED'})")
    try:
        lines = decode_ratio(3 if quick else 15) or [
            "bench/decode.py is not there: no 1080p decode figure"]
    except OSError as exc:  # its real photograph lives in the shared folder (TRACENET_SHARED)
        lines = [f"1080p decode figure not measured: {exc}"]
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
