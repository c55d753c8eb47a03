"""HTTP append benchmark: ``POST /api/v1/events`` through gunicorn, rules on.

Run ``.venv/bin/python bench/api.py`` (part of ``make bench``); ``--quick`` is a smoke run.

Every figure is measured in this run on this machine:

1. **Library rate** -- the same events (``material_intake`` records, custodially signed, every
   supervision rule applied) appended in-process with ``submit`` in batches of 500,
   one commit per batch, into a fresh SQLite file: entries/s. This is the ceiling.
2. **Batches over HTTP** -- the same kind of events posted as lists of 500 to gunicorn
   (``--workers 2`` on this 2-core machine) by two client threads: entries/s, and its ratio to
   the library rate (target >= 0.3).
3. **Single events over HTTP** -- one event per request from four client threads: requests
   per second and the p50 / p99 latency.

The server and the clients share the two cores, so the HTTP figures are conservative.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import requests
from sqlalchemy.orm import sessionmaker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ledger import log  # noqa: E402
from ledger.accounts.custodial import KeyVault  # noqa: E402
from ledger.accounts.enrolment import enrol_enterprise  # noqa: E402
from ledger.db import create_ledger_engine, migrate  # noqa: E402
from ledger.log.entry import Statement  # noqa: E402
from ledger.log.keys import generate_private_key  # noqa: E402
from ledger.supervision.names import MATERIAL_INTAKE  # noqa: E402
from ledger.supervision.submit import submit  # noqa: E402
from schemas.identifiers import uscc_check_character  # noqa: E402

BATCH = 500
EVENT_TIME = "2026-11-26T08:00:00+08:00"
SECRET = "bench-secret"  # noqa: S105 - a throwaway benchmark instance


def uscc(serial: int) -> str:
    first17 = f"91350100MA{serial:07d}"
    return first17 + uscc_check_character(first17)


def intake(lot: str) -> dict[str, Any]:
    return {"gtin": "06901234567892", "lot": lot, "material": "生乳",
            "supplier": uscc(9000), "quantity": "1000", "unit": "kg",
            "received_at": EVENT_TIME, "accepted": True}


def library_rate(entries: int, workdir: Path) -> float:
    """Entries/s of in-process custodial signing + append, batches of BATCH."""
    engine = create_ledger_engine(f"sqlite:///{workdir / 'library.db'}")
    migrate(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    ledger = log.Ledger("bench.localhost/ledger", generate_private_key())
    vault = KeyVault(SECRET)
    with sessions() as session:
        log.initialise(session, ledger)
        enrol_enterprise(session, ledger, vault, {
            "uscc": uscc(1), "name": "乳业", "roles": ["producer"], "district": "福州市"})
        session.commit()
        started = time.perf_counter()
        with click.progressbar(range(0, entries, BATCH), label="library append",
                               file=sys.stderr) as starts:
            for start in starts:
                submit(session, ledger, vault, [Statement(
                    MATERIAL_INTAKE, uscc(1), "", EVENT_TIME, intake(f"LIB{start + i}"))
                    for i in range(BATCH)])
                session.commit()
        elapsed = time.perf_counter() - started
    engine.dispose()
    return entries / elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(workdir: Path) -> Iterator[tuple[str, str]]:
    """gunicorn on a free loopback port over a fresh SQLite ledger; yields (url, token)."""
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{workdir / 'http.db'}",
           "TRACENET_LEDGER_KEY": str(workdir / "ledger.pem"), "TRACENET_SECRET_KEY": SECRET,
           "TRACENET_RATELIMIT_ENABLED": "false"}  # measure the server, not the limiter
    tracenet = [sys.executable, "-c", "from web.cli import main; main()"]
    subprocess.run([*tracenet, "init"], env=env, cwd=REPO, check=True, capture_output=True)
    added = subprocess.run([*tracenet, "enterprise", "add", "--uscc", uscc(2), "--name", "乳业",
                            "--district", "福州市"], env=env, cwd=REPO, check=True,
                           capture_output=True, text=True)
    token = added.stdout.split("shown once): ")[1].strip()
    with gunicorn(env) as url:
        yield url, token


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[str]:
    """``gunicorn wsgi:app`` (two workers) on a free loopback port with ``env``, once it
    answers /healthz (or after 30 s); its URL."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"], env=env, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def post(session: requests.Session, url: str, token: str, body: Any) -> float:
    started = time.perf_counter()
    response = session.post(f"{url}/api/v1/events", json=body, timeout=120,
                            headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 201:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
    return time.perf_counter() - started


def post_all(url: str, token: str, bodies: list[Any], threads: int,
             label: str) -> tuple[float, list[float]]:
    """Post every body from ``threads`` client threads; (elapsed seconds, latencies)."""
    local = threading.local()

    def send(body: Any) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return post(local.session, url, token, body)

    started = time.perf_counter()
    latencies = []
    with ThreadPoolExecutor(threads) as pool, click.progressbar(
            length=len(bodies), label=label, file=sys.stderr) as bar:
        for latency in pool.map(send, bodies):
            latencies.append(latency)
            bar.update(1)
    return time.perf_counter() - started, latencies


def http_batches(url: str, token: str, entries: int) -> float:
    """Entries/s posting lists of BATCH events from two client threads."""
    bodies = [[{"type": "material_intake", "event_time": EVENT_TIME,
                "payload": intake(f"B{start + i}")} for i in range(BATCH)]
              for start in range(0, entries, BATCH)]
    elapsed, _ = post_all(url, token, bodies, 2, "HTTP batches")
    return entries / elapsed


def http_singles(url: str, token: str, requests_count: int) -> tuple[float, list[float]]:
    """Requests/s and latencies of one-event requests from four client threads."""
    bodies = [{"type": "material_intake", "event_time": EVENT_TIME, "payload": intake(f"S{i}")}
              for i in range(requests_count)]
    elapsed, latencies = post_all(url, token, bodies, 4, "HTTP single events")
    return requests_count / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="small sizes, same code paths")
    args = parser.parse_args()
    entries, singles = (1_000, 100) if args.quick else (args.entries, args.singles)
    with tempfile.TemporaryDirectory(prefix="tracenet-bench-api-") as tmp:
        workdir = Path(tmp)
        library = library_rate(entries, workdir)
        with server(workdir) as (url, token):
            batches = http_batches(url, token, entries)
            rps, latencies = http_singles(url, token, singles)
    quantiles = statistics.quantiles(latencies, n=100)
    ratio = batches / library
    print()
    print(f"library append (batches of {BATCH}): {library:,.0f} entries/s")
    print(f"HTTP batches of {BATCH}: {batches:,.0f} entries/s = {ratio:.2f} of the library rate "
          f"(target >= 0.30: {'met' if ratio >= 0.3 else 'MISSED'})")
    print(f"HTTP single events: {rps:,.0f} requests/s, p50 {quantiles[49] * 1000:.1f} ms, "
          f"p99 {quantiles[98] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
