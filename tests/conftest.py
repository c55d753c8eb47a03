"""Shared fixtures: real SQLite files, a throwaway PostgreSQL server, an initialised app."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from web import create_app
from web.cli import main
from web.settings import NAMES

# `make test` (and so CI) draws the same hypothesis examples every run: a merge is judged on
# the code, not on the luck of the draw. `TRACENET_HYPOTHESIS=explore` draws new ones each run
# and keeps failures in .hypothesis/ (run it before landing proofs, parsers or graph code).
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("TRACENET_HYPOTHESIS", "repeatable"))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TRACENET_SHARED", REPO.parent / "shared"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """A throwaway cluster in a temp dir; initdb refuses root, so root runs it as postgres."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="tracenet-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust",
                  "-U", "tracenet", "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=100")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        subprocess.run([*self._as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data),
                        "-m", "immediate", "stop"], capture_output=True, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=tracenet dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://tracenet@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries on this machine (initdb not found)")
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a real SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracenet.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracenet.db'}"


def make_app(database_url: str, instance: Path, **config: Any) -> Flask:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url,
                      "LEDGER_KEY": str(instance / "ledger_key.pem"),
                      "SECRET_KEY": "test-secret", "CODE_SECRET": "test-code-secret",
                      "LEDGER_ORIGIN": "tracenet.test/ledger", **config})
    result = run_cli(app, "init")
    assert result.exit_code == 0, result.output
    return app


def run_cli(app: Flask, *args: str) -> Result:
    """``tracenet ARGS`` in this process, configured (as an operator would, by ``TRACENET_*``
    variables) to open the database and keys that ``app`` serves."""
    env = {f"TRACENET_{name}": str(app.config[name]) for name in NAMES
           if app.config.get(name) is not None}
    env["TRACENET_INSTANCE"] = app.instance_path
    return CliRunner().invoke(main, list(args), env=env)


def issue_token(app: Flask, enterprise: str, role: str = "producer") -> str:
    """``tracenet token add`` for the enterprise with USCC ``enterprise``: the token it shows
    once."""
    issued = run_cli(app, "token", "add", "--enterprise", enterprise, "--role", role)
    assert issued.exit_code == 0, issued.output
    return issued.output.split("shown once): ")[1].strip()


def demo_app_in(prefix: str) -> Iterator[Flask]:
    """An app over the demo network in a new temporary folder, removed afterwards: for
    module-scoped fixtures, as loading the demo takes a few seconds."""
    instance = Path(tempfile.mkdtemp(prefix=prefix))
    app = make_app(f"sqlite:///{instance / 'tracenet.db'}", instance)
    assert run_cli(app, "demo").exit_code == 0
    yield app
    app.extensions["tracenet.runtime"].close()
    shutil.rmtree(instance, ignore_errors=True)


@pytest.fixture(scope="session")
def reports_demo() -> Iterator[Flask]:
    """One app over the demo network shared by the report tests (tests/ledger/test_reports.py
    and tests/web/test_reports.py), which read its records and add no entry."""
    yield from demo_app_in("tracenet-reports-")


def _disposed(app: Flask) -> Iterator[Flask]:
    yield app
    app.extensions["tracenet.runtime"].close()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _disposed(make_app(database_url, tmp_path))


@pytest.fixture
def sqlite_app(sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _disposed(make_app(sqlite_url, tmp_path))


@pytest.fixture
def client(sqlite_app: Flask) -> FlaskClient:
    return sqlite_app.test_client()
