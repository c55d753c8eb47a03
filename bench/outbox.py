"""Outbox benchmark: signed webhook deliveries per second to a receiver on 127.0.0.1.

Run ``.venv/bin/python bench/outbox.py`` (part of ``make bench``); ``--quick`` is a smoke run.

Every figure is measured in this run on this machine:

1. **Enqueue rate** -- N notices to enterprises with a webhook endpoint each, in one
   transaction on a fresh SQLite file (as a recall queues one notice per holder in its own
   transaction), by N calls of ``ledger.outbox.enqueue`` and by one ``enqueue_many``:
   notices/s.
2. **Outbox delivery rate** -- ``deliver_due`` with the worker's defaults (8 sends at a time,
   5 s timeout) draining those N deliveries: claim, sign, POST, record the outcome, each claim
   and outcome its own transaction: deliveries/s, against a limit of 100/s (a recall reaching
   10,000 holders inside two minutes).
3. **Peer: bare sending** -- the same messages signed and POSTed with the same ``http_send`` from
   the same 8 threads, no database at all: requests/s. The outbox's rate is reported as a ratio
   to it (target >= 0.5): what the bookkeeping that makes delivery durable and retryable costs.

The receiver is a separate process (a threading ``http.server`` answering 204 without checking
signatures; the tests check those), so the figures measure the sender. It shares the two cores
with the sender, so both rates are conservative, and alike.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import urlopen

from sqlalchemy.orm import Session, sessionmaker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ledger.db import create_ledger_engine, migrate  # noqa: E402
from ledger.outbox import (  # noqa: E402
    Notice,
    deliver_due,
    enqueue,
    enqueue_many,
    http_send,
    register_endpoint,
    sign_request,
)
from ledger.outbox.endpoints import new_secret  # noqa: E402

CONCURRENCY = 8
#: the receiver: counts POSTs, answers 204; GET /count tells how many it got
RECEIVER = """
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count, lock = [0], threading.Lock()
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count[0] += 1
        self.send_response(204)
        self.end_headers()
    def do_GET(self):
        body = str(count[0]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer.request_queue_size = 128
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def received(base: str) -> int:
    with urlopen(f"{base}/count", timeout=5) as response:  # noqa: S310 - our own loopback URL
        return int(response.read())


def setup(sessions: sessionmaker[Session], base: str, enterprises: int) -> list[str]:
    now = datetime.now(UTC)
    names = [f"E{n:05d}" for n in range(enterprises)]
    with sessions() as session:
        for name in names:
            register_endpoint(session, enterprise=name, url=f"{base}/hooks/{name}", now=now)
        session.commit()
    return names


def _payload(n: int) -> dict[str, object]:
    return {"recall": 1, "level": "一级", "lots": [{"gtin": "06901234567892", "lot": f"L{n}"}]}


def enqueue_rates(sessions: sessionmaker[Session], names: list[str],
                  notices: int) -> tuple[float, float]:
    """Notices/s queued one call at a time, then with one enqueue_many call; each run in one
    transaction, rolled back but for the second (whose deliveries the next figure drains)."""
    now = datetime.now(UTC)
    with sessions() as session:
        started = time.perf_counter()
        for n in range(notices):
            enqueue(session, enterprise=names[n % len(names)], event_type="recall.initiated",
                    payload=_payload(n), now=now, key=f"recall/1/{n}")
        session.flush()
        one_by_one = notices / (time.perf_counter() - started)
        session.rollback()
    with sessions() as session:
        started = time.perf_counter()
        enqueue_many(session, [Notice(names[n % len(names)], "recall.initiated", _payload(n),
                                      f"recall/1/{n}") for n in range(notices)], now=now)
        session.commit()
        batched = notices / (time.perf_counter() - started)
    return one_by_one, batched


def outbox_rate(sessions: sessionmaker[Session], notices: int) -> float:
    started = time.perf_counter()
    attempts = deliver_due(sessions, concurrency=CONCURRENCY, limit=notices)
    elapsed = time.perf_counter() - started
    failed = [a for a in attempts if a.status != "delivered"]
    if len(attempts) != notices or failed:
        raise RuntimeError(f"{len(attempts)} attempts, {len(failed)} not delivered: "
                           f"{failed[:1]}")
    return notices / elapsed


def bare_rate(base: str, notices: int) -> float:
    secret = new_secret()
    body = b'{"data":{"level":"\\u4e00\\u7ea7","lots":[],"recall":1},"type":"recall.initiated"}'

    def post(n: int) -> int:
        request = sign_request(url=f"{base}/hooks/bare{n}", secret=secret,
                               message_id=f"msg_bare{n}", timestamp=datetime.now(UTC),
                               body=body)
        return http_send(request, timeout=5)

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        statuses = list(pool.map(post, range(notices)))
    elapsed = time.perf_counter() - started
    if set(statuses) != {204}:
        raise RuntimeError(f"the receiver answered {sorted(set(statuses))}")
    return notices / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=3_000)
    parser.add_argument("--enterprises", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="small sizes, same code paths")
    args = parser.parse_args()
    notices, enterprises = (300, 20) if args.quick else (args.notices, args.enterprises)
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE,
                                text=True)
    try:
        assert receiver.stdout is not None
        base = f"http://127.0.0.1:{receiver.stdout.readline().strip()}"
        with tempfile.TemporaryDirectory(prefix="tracenet-bench-outbox-") as tmp:
            engine = create_ledger_engine(f"sqlite:///{Path(tmp) / 'outbox.db'}")
            migrate(engine)
            sessions = sessionmaker(engine, expire_on_commit=False)
            names = setup(sessions, base, enterprises)
            one_by_one, batched = enqueue_rates(sessions, names, notices)
            delivered = outbox_rate(sessions, notices)
            engine.dispose()
        bare = bare_rate(base, notices)
        got = received(base)
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    if got != 2 * notices:
        raise RuntimeError(f"the receiver got {got} requests, expected {2 * notices}")
    ratio = delivered / bare
    print(f"enqueue {notices:,} notices in one transaction: {one_by_one:,.0f} notices/s one "
          f"call at a time, {batched:,.0f} notices/s with enqueue_many")
    print(f"outbox delivery: {delivered:,.0f} deliveries/s "
          f"(limit >= 100/s: {'met' if delivered >= 100 else 'MISSED'})")
    print(f"bare signed POSTs, no database: {bare:,.0f} requests/s; outbox = {ratio:.2f} of it "
          f"(target >= 0.50: {'met' if ratio >= 0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
