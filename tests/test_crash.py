"""A writer killed (SIGKILL) in the middle of appending one large batch loses all of it or none.

A child process appends one large batch of pre-signed statements with ``ledger.log.append`` in
one transaction and commits. The parent kills it at a random point well inside that
transaction (timed from a first, uninterrupted run), then checks that the database holds the
ledger from before the batch, that ``tracenet verify`` passes, and that the next append works.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ledger.db import create_ledger_engine
from ledger.log.storage import CheckpointRow, EntryRow, LedgerHead
from tests.ledger.conftest import make_uscc
from tests.processes import PYTHON, REPO, run_tracenet, tracenet_env

pytestmark = pytest.mark.slow


# One append costs about 1-2 ms per key registration (each new key is looked up and projected),
# so 5,000 statements keep the transaction open for several seconds, long enough to aim a kill
# at, while the whole test stays within about a minute per backend. Set TRACENET_CRASH_BATCH
# (e.g. 20000) for a bigger transaction.
BATCH = int(os.environ.get("TRACENET_CRASH_BATCH", "5000"))
# Kill points, as fractions of an uninterrupted append-and-commit: early, middle, late.
KILL_WINDOWS = ((0.20, 0.35), (0.35, 0.55), (0.55, 0.70))
#: tries per window before a writer that always commits before its kill fails the test
_ATTEMPTS = 3

# The writer: sign the whole batch first (operator registrations of new keys for one
# enterprise), then print the marker, append in one transaction and commit.
WRITER = r"""
import base64, sys, time
from ledger import log
from ledger.log.identity import KEY_REGISTERED
from ledger.log.keys import generate_private_key, key_id_for, public_key_bytes
from web import create_app
from web.db import get_ledger, get_session

uscc, count = sys.argv[1], int(sys.argv[2])
app = create_app()
with app.app_context():
    ledger = get_ledger()
    batch = []
    for _ in range(count):
        raw = public_key_bytes(generate_private_key())
        batch.append(ledger.operator_statement(KEY_REGISTERED, {
            "enterprise": uscc, "key_id": key_id_for(raw),
            "public_key": base64.b64encode(raw).decode()}))
    session = get_session()
    print("appending", flush=True)
    started = time.monotonic()
    log.append(session, ledger, batch, log.NO_ADMISSION)
    print("appended %.3f" % (time.monotonic() - started), flush=True)
    session.commit()
    print("committed %.3f" % (time.monotonic() - started), flush=True)
"""


def assert_verifies(env: dict[str, str], size: int) -> None:
    result = run_tracenet(env, "verify", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK: {size} entries" in result.stdout, result.stdout


@dataclass
class Run:
    """What one writer process printed, with the parent's clock at each line."""

    lines: list[tuple[float, str]] = field(default_factory=list)
    marker_at: float | None = None
    killed_at: float | None = None
    returncode: int | None = None
    stderr: str = ""

    def saw(self, prefix: str) -> bool:
        return any(line.startswith(prefix) for _, line in self.lines)

    def at(self, prefix: str) -> float:
        return next(moment for moment, line in self.lines if line.startswith(prefix))


def run_writer(env: dict[str, str], uscc: str, count: int,
               kill_after: float | None = None, timeout: float = 180) -> Run:
    """Run the writer; with ``kill_after``, SIGKILL it that many seconds after its marker."""
    process = subprocess.Popen([PYTHON, "-c", WRITER, uscc, str(count)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[tuple[float, str] | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put((time.monotonic(), line.strip()))
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    run = Run()
    deadline = time.monotonic() + timeout
    try:
        while True:
            item = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if item is None:
                break
            run.lines.append(item)
            if item[1] == "appending":
                run.marker_at = item[0]
                if kill_after is not None:
                    time.sleep(kill_after)
                    run.killed_at = time.monotonic()
                    process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        reader.join(10)
        assert process.stderr is not None
        run.stderr = process.stderr.read()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    run.returncode = process.returncode
    return run


def ledger_state(database_url: str) -> tuple[int, int, int]:
    """(head size, stored entries, largest checkpoint size), from a fresh connection."""
    engine = create_ledger_engine(database_url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                assert connection.scalar(text("PRAGMA integrity_check")) == "ok"
            size = connection.scalar(select(LedgerHead.size).where(LedgerHead.id == 1))
            entries = connection.scalar(select(func.count()).select_from(EntryRow))
            checkpoint = connection.scalar(select(func.max(CheckpointRow.size)))
    finally:
        engine.dispose()
    assert size is not None
    return size, entries or 0, checkpoint or 0


def test_writer_killed_mid_batch_leaves_all_or_nothing(
        database_url: str, tmp_path: Path) -> None:
    env = tracenet_env(database_url, tmp_path)
    run_tracenet(env, "init")
    uscc = make_uscc(1)
    run_tracenet(env, "enterprise", "add", "--uscc", uscc, "--name", "福州测试企业",
                 "--district", "福州市鼓楼区")
    size, _, _ = ledger_state(database_url)
    assert size == 3

    # An uninterrupted run, to time the append-and-commit that the kills must land inside.
    calibration = run_writer(env, uscc, BATCH)
    assert calibration.returncode == 0, calibration.stderr
    assert calibration.saw("committed"), calibration.lines
    assert calibration.marker_at is not None
    duration = calibration.at("committed") - calibration.marker_at
    assert ledger_state(database_url) == (size + BATCH,) * 3
    size += BATCH
    assert_verifies(env, size)
    timings = [f"{database_url.split(':')[0]}: append+commit of {BATCH} took {duration:.2f} s"]

    rng = random.Random()  # noqa: S311 - kill timing, not security
    for low, high in KILL_WINDOWS:
        for attempt in range(_ATTEMPTS):
            # A run faster than the calibration (a quieter moment on a shared machine) can
            # commit before the kill; then it landed whole, and the next try kills sooner.
            fraction = rng.uniform(low, high) / 2 ** attempt
            run = run_writer(env, uscc, BATCH, kill_after=fraction * duration)
            where = f"kill at {fraction:.0%} of {duration:.2f} s; child printed {run.lines}"
            if not run.saw("committed"):
                break
            size += BATCH
            assert ledger_state(database_url) == (size,) * 3, where
        else:
            raise AssertionError(f"{_ATTEMPTS} kills in a row came too late: {where}")
        assert run.returncode == -signal.SIGKILL, f"{where}\n{run.stderr}"
        assert run.killed_at is not None
        state = ledger_state(database_url)
        if run.saw("appended"):  # killed while committing: either outcome is atomic
            assert state in ((size,) * 3, (size + BATCH,) * 3), (state, where)
            size = state[0]
        else:  # killed inside append: the transaction never committed
            assert state == (size,) * 3, (state, where)
        assert_verifies(env, size)
        timings.append(f"killed at {fraction:.0%} ({'commit' if run.saw('appended') else 'append'}"
                       f"): size stays {size}")

    # The ledger keeps working after the crashes.
    after = run_writer(env, uscc, BATCH)
    assert after.returncode == 0, after.stderr
    assert after.saw("committed"), after.lines
    size += BATCH
    assert ledger_state(database_url) == (size,) * 3
    assert_verifies(env, size)
    print("\n" + "\n".join(timings))
