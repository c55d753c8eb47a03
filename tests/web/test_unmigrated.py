"""A database that ``tracenet init`` has not upgraded is the operator's to fix: every API call
answers 503 saying so (and naming the missing migrations), never a bare 500, and the same app
serves normally once the database is migrated."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine

from ledger.db import migrate
from web.app import create_app


def _unmigrated_app(tmp_path: Path) -> tuple[Flask, str]:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"TESTING": False, "DATABASE_URL": url,
                      "LEDGER_KEY": str(tmp_path / "ledger_key.pem"),
                      "SECRET_KEY": "test-secret", "CODE_SECRET": "test-code-secret"})
    return app, url


def test_an_unmigrated_database_answers_503_naming_the_fix(tmp_path: Path) -> None:
    app, url = _unmigrated_app(tmp_path)
    client = app.test_client()
    for path in ("/api/v1/ledger/checkpoint", "/api/v1/enterprises", "/01/06901234567892"):
        response = client.get(path)
        assert response.status_code == 503, path
        error = response.get_json()["error"]
        assert error["code"] == "database_not_migrated"
        assert "tracenet init" in error["message"]
        assert "missing migrations" in error["message"]
    engine = create_engine(url)
    migrate(engine)
    engine.dispose()
    assert client.get("/api/v1/enterprises").status_code == 200
    app.extensions["tracenet.runtime"].close()
