"""Running the real ``tracenet`` command and servers as separate processes, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
TRACENET = str(VENV_BIN / "tracenet")


def tracenet_env(database_url: str, instance: Path) -> dict[str, str]:
    """The environment the CLI and the server read their configuration from."""
    env = dict(os.environ)
    env.update(TRACENET_INSTANCE=str(instance), TRACENET_DATABASE_URL=database_url,
               TRACENET_LEDGER_KEY=str(instance / "ledger_key.pem"),
               TRACENET_SECRET_KEY="process-test-secret",
               TRACENET_LEDGER_ORIGIN="tracenet.test/ledger",
               PYTHONUNBUFFERED="1")
    return env


def run_tracenet(env: dict[str, str], *args: str, check: bool = True,
                 timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``tracenet ARGS``; with ``check``, fail the test on a non-zero exit."""
    result = subprocess.run([TRACENET, *args], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result
