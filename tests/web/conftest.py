"""What the browser tests share: the console served by gunicorn, as in production."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO, free_port


@contextmanager
def served(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """``gunicorn wsgi:app`` (two workers) configured by ``env``, until the block ends; its URL.

    The log is ``tmp_path / "gunicorn.log"``; a traceback in it fails the test.
    """
    log_path = tmp_path / "gunicorn.log"
    port = free_port()
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "wsgi:app"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not come up:\n{log_path.read_text()}")
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still booting
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
    assert "Traceback" not in log_path.read_text()
