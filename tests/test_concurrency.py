"""Concurrent appends through the real server: gunicorn workers, separate client processes.

Four client processes post batches at the same time to three gunicorn worker processes, which
all append to one database. Every request must succeed, and the log must come out gapless,
fork-free and verifiable, on SQLite as well as on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from ledger.db import create_ledger_engine
from ledger.log.entry import GENESIS_PREV, Entry
from ledger.log.keys import generate_private_key, key_id_for, public_key_bytes
from ledger.log.storage import CheckpointRow, EntryRow, LedgerHead
from tests.conftest import free_port
from tests.ledger.conftest import make_uscc
from tests.processes import PYTHON, REPO, run_tracenet, tracenet_env

pytestmark = pytest.mark.slow


ENTERPRISES = 4
BATCHES = 15
BATCH_SIZE = 20

# One client process: generate its new keys up front, say "ready", wait for "go" on stdin,
# then post its batches back to back and print one JSON line with what came back.
CLIENT = r"""
import base64, json, sys, time
import requests
from ledger.log.keys import generate_private_key, key_id_for, public_key_bytes

url, token, uscc, batches, size = sys.argv[1:6]
batches, size = int(batches), int(size)

def event(n):
    raw = public_key_bytes(generate_private_key())
    return {"type": "key_registered", "event_time": "2026-11-26T08:30:%02d+08:00" % (n % 60),
            "payload": {"enterprise": uscc, "key_id": key_id_for(raw),
                        "public_key": base64.b64encode(raw).decode()}}

bodies = [[event(b * size + i) for i in range(size)] for b in range(batches)]
http = requests.Session()
http.headers["Authorization"] = "Bearer " + token
print("ready", flush=True)
sys.stdin.readline()
results = []
started = time.monotonic()
for body in bodies:
    try:
        response = http.post(url + "/api/v1/events", json=body, timeout=60)
    except requests.RequestException as exc:
        results.append({"status": None, "error": repr(exc)})
        continue
    result = {"status": response.status_code}
    if response.status_code == 201:
        entries = response.json()
        result["seqs"] = [entry["seq"] for entry in entries]
        result["key_ids"] = [entry["payload"]["key_id"] for entry in entries]
        result["enterprises"] = [entry["enterprise"] for entry in entries]
    else:
        result["error"] = response.text[:2000]
    results.append(result)
print(json.dumps({"uscc": uscc, "seconds": time.monotonic() - started, "results": results,
                  "sent": [[e["payload"]["key_id"] for e in body] for body in bodies]}),
      flush=True)
"""


def add_enterprise(env: dict[str, str], uscc: str, name: str) -> str:
    """Register an enterprise with a custodial key through the CLI; return its API token."""
    out = run_tracenet(env, "enterprise", "add", "--uscc", uscc, "--name", name,
                       "--district", "福州市鼓楼区").stdout
    found = re.search(r"API token \(shown once\): (tn_\S+)", out)
    assert found, out
    return found.group(1)


def _stop(process: subprocess.Popen[bytes] | subprocess.Popen[str], sig: int = signal.SIGTERM,
          timeout: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Gunicorn:
    """``gunicorn wsgi:app`` on a free port of 127.0.0.1, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 3) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "--workers", str(workers), "--bind",
             f"127.0.0.1:{self.port}", "--timeout", "120", "--graceful-timeout", "20", "wsgi:app"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        pytest.fail(f"gunicorn did not answer /healthz within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> int | None:
        _stop(self.process, signal.SIGTERM, timeout=30)
        self._log.close()
        return self.process.returncode


@pytest.fixture
def ledger_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = tracenet_env(database_url, tmp_path)
    run_tracenet(env, "init")
    return env


def head_and_entries(database_url: str) -> tuple[int, list[tuple[int, bytes, bytes]]]:
    engine = create_ledger_engine(database_url)
    try:
        with engine.connect() as connection:
            size = connection.scalar(select(LedgerHead.size).where(LedgerHead.id == 1))
            rows = connection.execute(select(EntryRow.seq, EntryRow.leaf_hash, EntryRow.body)
                                      .order_by(EntryRow.seq)).all()
    finally:
        engine.dispose()
    assert size is not None
    return size, [(seq, leaf, body) for seq, leaf, body in rows]


def run_clients(url: str, clients: list[tuple[str, str]], env: dict[str, str],
                timeout: float = 120) -> list[dict]:
    """Start one OS process per (uscc, token), release them together, collect their reports."""
    processes: list[subprocess.Popen[str]] = []
    try:
        for uscc, token in clients:
            processes.append(subprocess.Popen(
                [PYTHON, "-c", CLIENT, url, token, uscc, str(BATCHES), str(BATCH_SIZE)],
                cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True))
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.strip() == "ready", (line, process.stderr.read() if process.stderr else "")
        for process in processes:  # all are waiting on stdin: release them at once
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            assert process.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for process in processes:
            _stop(process, signal.SIGKILL)
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None and not stream.closed:
                    stream.close()


def test_concurrent_posts_make_one_gapless_fork_free_log(
        database_url: str, ledger_env: dict[str, str], tmp_path: Path) -> None:
    clients = [(uscc, add_enterprise(ledger_env, uscc, f"企业{n}"))
               for n, uscc in enumerate(make_uscc(n) for n in range(1, ENTERPRISES + 1))]
    before, _ = head_and_entries(database_url)
    assert before == 1 + 2 * ENTERPRISES  # genesis, then registration + first key each

    gunicorn = Gunicorn(ledger_env, tmp_path / "gunicorn.log")
    try:
        gunicorn.wait_healthy()
        started = time.monotonic()
        reports = run_clients(gunicorn.url, clients, ledger_env)
        elapsed = time.monotonic() - started
    finally:
        gunicorn_log = gunicorn.log()
        gunicorn.stop()

    failures = [(report["uscc"], result) for report in reports for result in report["results"]
                if result["status"] != 201]
    assert not failures, f"{len(failures)} requests failed, e.g. {failures[:3]}\n{gunicorn_log}"
    assert "database is locked" not in gunicorn_log
    assert "Traceback" not in gunicorn_log, gunicorn_log

    accepted_seqs: list[int] = []
    for report in reports:
        results = report["results"]
        assert len(results) == BATCHES
        for result, sent in zip(results, report["sent"], strict=True):
            # A batch lands whole, in order, contiguously, as the posting enterprise.
            assert result["key_ids"] == sent
            assert set(result["enterprises"]) == {report["uscc"]}
            seqs = result["seqs"]
            assert seqs == list(range(seqs[0], seqs[0] + BATCH_SIZE))
            accepted_seqs += seqs
    accepted = len(accepted_seqs)
    # The clients really ran at the same time: their batches interleave in the log.
    owners = sorted((result["seqs"][0], report["uscc"]) for report in reports
                    for result in report["results"])
    runs = 1 + sum(a[1] != b[1] for a, b in zip(owners, owners[1:], strict=False))
    assert runs > ENTERPRISES, "the clients' batches did not interleave at all"
    assert accepted == ENTERPRISES * BATCHES * BATCH_SIZE
    assert len(set(accepted_seqs)) == accepted, "two requests were given the same seq"
    assert min(accepted_seqs) == before

    size, rows = head_and_entries(database_url)
    assert size == before + accepted
    assert [seq for seq, _, _ in rows] == list(range(size)), "the log has gaps"
    assert sorted(accepted_seqs) == list(range(before, size))
    prev = GENESIS_PREV
    for seq, leaf_hash, body in rows:
        entry = Entry.from_canonical(body)
        assert entry.seq == seq
        assert entry.prev == prev, f"fork at seq {seq}"
        assert entry.leaf_hash == leaf_hash
        prev = leaf_hash

    verified = run_tracenet(ledger_env, "verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"OK: {size} entries" in verified.stdout
    print(f"\n{database_url.split(':')[0]}: {accepted} events in {ENTERPRISES * BATCHES} "
          f"requests from {ENTERPRISES} processes in {elapsed:.1f} s; "
          f"{runs} runs of consecutive batches from one client")



def test_two_workers_sign_one_checkpoint_per_interval_and_the_tail_is_covered(
        database_url: str, ledger_env: dict[str, str], tmp_path: Path) -> None:
    interval = 0.5
    env = {**ledger_env, "TRACENET_CHECKPOINT_INTERVAL": str(interval)}
    clients = [(uscc, add_enterprise(env, uscc, f"企业{uscc[-4:]}"))
               for uscc in (make_uscc(11), make_uscc(12))]
    gunicorn = Gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    answers: list[tuple[int, Any]] = []
    try:
        gunicorn.wait_healthy()

        def post_for(uscc: str, token: str, seconds: float) -> None:
            with requests.Session() as http:
                http.headers["Authorization"] = "Bearer " + token
                until = time.monotonic() + seconds
                while time.monotonic() < until:
                    body = [_key_event(uscc) for _ in range(5)]
                    response = http.post(gunicorn.url + "/api/v1/events", json=body, timeout=60)
                    answers.append((response.status_code, response.json()))

        started = time.monotonic()
        threads = [threading.Thread(target=post_for, args=(uscc, token, 3.0))
                   for uscc, token in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        assert all(status == 201 for status, _ in answers), answers[:3]
        last = max(entry["seq"] for _, body in answers for entry in body)
        # Nobody appends any more: a waiting reader gets the tail covered within the interval.
        covering = requests.get(f"{gunicorn.url}/api/v1/ledger/checkpoint",
                                params={"covering": last, "wait": 5}, timeout=30)
    finally:
        gunicorn_log = gunicorn.log()
        gunicorn.stop()
    assert "Traceback" not in gunicorn_log, gunicorn_log
    assert covering.status_code == 200, covering.text
    assert int(covering.text.splitlines()[1]) > last

    size, rows = head_and_entries(database_url)
    assert [seq for seq, _, _ in rows] == list(range(size)), "the log has gaps"
    engine = create_ledger_engine(database_url)
    try:
        with engine.connect() as connection:
            sizes = list(connection.execute(select(CheckpointRow.size)
                                            .order_by(CheckpointRow.size)).scalars())
    finally:
        engine.dispose()
    during = [s for s in sizes if s > 1 + 2 * 2]  # after genesis and the two enrolments
    # At most one checkpoint per interval while the two workers appended (no entry-count
    # boundary: far fewer than 1,000 entries), plus the one covering the tail.
    assert 1 <= len(during) <= elapsed / interval + 2, (sizes, elapsed)
    assert len(during) < len(answers), "a checkpoint per append"
    verified = run_tracenet(env, "verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    entry = answers[-1][1][-1]
    assert entry["signed_entry_timestamp"]["seq"] == entry["seq"]


def _key_event(uscc: str) -> dict[str, object]:
    """A custodially signed registration of a fresh key for ``uscc``."""
    raw = public_key_bytes(generate_private_key())
    return {"type": "key_registered", "event_time": "2026-11-28T08:30:00+08:00",
            "payload": {"enterprise": uscc, "key_id": key_id_for(raw),
                        "public_key": base64.b64encode(raw).decode()}}
