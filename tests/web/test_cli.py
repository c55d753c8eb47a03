"""The ``tracenet`` program itself: its surface, what it writes, how it reads its settings.

What each command does is tested where its subject is (``tests/web/test_api.py`` for tokens,
keygen and sign, ``tests/ledger/test_tamper.py`` for verify, ...), through ``run_cli``.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from tests.conftest import REPO, run_cli
from tests.ledger.conftest import make_uscc
from tests.processes import PYTHON, TRACENET
from web import create_app
from web.cli import COMMANDS, load_command
from web.settings import Settings, instance_path


def run_in_empty_dirs(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str],
                                                             list[Path]]:
    """Run the installed ``tracenet ARGS`` from an empty directory with an empty instance
    folder and no other ``TRACENET_*`` setting; return it and the files it left in both."""
    cwd, instance = tmp_path / "cwd", tmp_path / "instance"
    cwd.mkdir()
    instance.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACENET_")}
    result = subprocess.run([TRACENET, *args], cwd=cwd, capture_output=True, text=True,
                            timeout=120, env={**env, "TRACENET_INSTANCE": str(instance)})
    left = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*")
                  if path not in (cwd, instance))
    return result, left


def test_help_lists_tracenet_commands_only_and_writes_nothing(tmp_path: Path) -> None:
    result, left = run_in_empty_dirs(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: tracenet [OPTIONS] COMMAND [ARGS]...")
    listing = result.stdout.split("Commands:\n")[1].splitlines()
    assert [line.split()[0] for line in listing] == sorted(COMMANDS)
    for flask_only in ("--app", "--env-file", "--debug", "openapi"):
        assert flask_only not in result.stdout
    assert left == []


def test_version_is_tracenet_s(tmp_path: Path) -> None:
    result, left = run_in_empty_dirs(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"tracenet, version {importlib.metadata.version('tracenet')}\n"
    assert left == []


def test_keygen_writes_its_key_and_nothing_else(tmp_path: Path) -> None:
    result, left = run_in_empty_dirs(tmp_path, "keygen", "--out", "producer.pem")
    assert result.returncode == 0, result.stderr
    assert "public key (register with --public-key): " in result.stdout
    assert left == [Path("cwd/producer.pem")]


def test_init_writes_the_defaults_into_the_instance_folder(tmp_path: Path) -> None:
    result, left = run_in_empty_dirs(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    assert "ready: 1 entries" in result.stdout
    assert all(path.parts[0] == "instance" for path in left)
    written = {path.name for path in left}
    assert {"ledger_key.pem", "tracenet.db"} <= written
    # Nothing was sealed yet: the first command or server that needs a secret key makes it.
    assert "secret_key" not in written


@pytest.mark.parametrize("args", [["--help"], ["keygen", "--help"]])
def test_help_imports_no_framework(args: list[str]) -> None:
    """What keeps ``--help`` fast (docs/BENCHMARKS.md times it): no Flask, no SQLAlchemy, no
    schemas are imported to list the commands or one command's options."""
    script = ("import sys\nfrom web.cli import main\n"
              f"main({args!r}, standalone_mode=False)\n"
              "heavy = ('flask', 'sqlalchemy', 'marshmallow', 'schemas', 'web.app')\n"
              "print(sorted(name for name in heavy if name in sys.modules))\n")
    result = subprocess.run([PYTHON, "-c", script], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listing_shows_each_command_s_own_help(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    stand_in = click.Command(name, help=COMMANDS[name][1])
    for limit in (45, 61, 200):
        assert command.get_short_help_str(limit) == stand_in.get_short_help_str(limit)


def test_domain_errors_are_one_line_and_exit_1(sqlite_app: Flask) -> None:
    missing = run_cli(sqlite_app, "prove", "999")
    assert (missing.exit_code, missing.output) == (
        1, "Error: not_found (seq): expected a seq in 0..0, got 999\n")
    invalid = run_cli(sqlite_app, "enterprise", "add", "--uscc", "bad", "--name", "企业",
                      "--district", "福州市")
    assert (invalid.exit_code, invalid.output) == (
        1, "Error: invalid input: {'uscc': ['a USCC has 18 characters, got 3']}\n")
    not_base64 = run_cli(sqlite_app, "enterprise", "add", "--uscc", make_uscc(1), "--name",
                         "企业", "--district", "福州市", "--public-key", "@@")
    assert (not_base64.exit_code, not_base64.output) == (
        1, "Error: ledger_error (public_key): --public-key must be base64\n")


# --- settings ----------------------------------------------------------------------------------



def test_a_database_behind_this_code_s_schema_says_to_run_init(sqlite_app: Flask) -> None:
    """A ledger an older release wrote (here: before the checkpoint cadence's columns) is
    upgraded by `tracenet init`; until then a command says so rather than print a traceback."""
    engine = create_engine(sqlite_app.config["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE ledger_head DROP COLUMN checkpoint_at"))
        connection.execute(text("ALTER TABLE ledger_head DROP COLUMN checkpoint_size"))
        connection.execute(text("DELETE FROM alembic_version "
                                "WHERE version_num = '0009_checkpoint_cadence'"))
    engine.dispose()
    result = run_cli(sqlite_app, "verify")
    assert result.exit_code == 1
    assert "migrations missing: 0009_checkpoint_cadence): run `tracenet init`" in result.output
    assert "Traceback" not in result.output
    assert run_cli(sqlite_app, "init").exit_code == 0
    result = run_cli(sqlite_app, "verify")
    assert result.exit_code == 0, result.output


def test_settings_are_defaults_then_environment_and_reading_them_writes_nothing(
        tmp_path: Path) -> None:
    settings = Settings.from_environment({
        "TRACENET_INSTANCE": str(tmp_path), "TRACENET_LEDGER_ORIGIN": "example.org/ledger",
        "TRACENET_SECRET_KEY": ""})
    assert settings == Settings(instance=tmp_path, database_url=f"sqlite:///{tmp_path}/tracenet.db",
                                ledger_key=tmp_path / "ledger_key.pem",
                                ledger_origin="example.org/ledger", secret_key=None)
    assert list(tmp_path.iterdir()) == []


def test_the_instance_folder_of_a_checkout_is_beside_the_code() -> None:
    assert instance_path({}) == REPO / "instance"


def test_the_instance_secret_is_made_once(tmp_path: Path) -> None:
    settings = Settings.from_environment({"TRACENET_INSTANCE": str(tmp_path / "new")})
    secret = settings.secret()
    assert (tmp_path / "new" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert settings.secret() == secret


@pytest.fixture
def environment_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app as gunicorn builds it, from ``TRACENET_*`` variables alone."""
    monkeypatch.setenv("TRACENET_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("TRACENET_LEDGER_KEY", str(tmp_path / "keys" / "operator.pem"))
    for name in ("DATABASE_URL", "LEDGER_ORIGIN", "SECRET_KEY"):
        monkeypatch.delenv(f"TRACENET_{name}", raising=False)
    app = create_app()
    yield app
    app.extensions["tracenet.runtime"].close()


def test_the_app_and_the_commands_read_the_same_settings(environment_app: Flask) -> None:
    app = environment_app
    settings = Settings.from_environment()
    assert app.instance_path == str(settings.instance)
    assert Settings.from_config(settings.instance, app.config) == Settings(
        **{**vars(settings), "secret_key": settings.secret()})
    assert app.config["SECRET_KEY"] == settings.secret()  # the one in the instance folder
