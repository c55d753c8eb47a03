"""The Flask shell around the ledger core: app factory, API blueprints and CLI."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config defaults, then ``TRACENET_*`` environment, then ``test_config``."""
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    app.config.from_mapping(
        DATABASE_URL=f"sqlite:///{instance / 'tracenet.db'}",
        LEDGER_KEY=str(instance / "ledger_key.pem"),
        LEDGER_ORIGIN="tracenet.localhost/ledger",
        SECRET_KEY=None,
        API_TITLE="Tracenet API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Served from the swagger-ui-bundle package: the docs work without internet access.
        OPENAPI_SWAGGER_UI_URL="/api/docs-assets/",
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    for name in ("DATABASE_URL", "LEDGER_KEY", "LEDGER_ORIGIN", "SECRET_KEY"):
        value = os.environ.get(f"TRACENET_{name}")
        if value:
            app.config[name] = value
    if test_config:
        app.config.update(test_config)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")

    from web import api, cli, console, db, errors, health

    db.init_app(app)
    api.init_app(app)
    errors.init_app(app)  # after the API, whose own HTTP error handler it replaces
    app.register_blueprint(health.bp)
    console.init_app(app)
    cli.init_app(app)
    return app


def _instance_secret(path: Path) -> str:
    """A per-instance secret kept beside the database when none is configured.

    Created exclusively so that gunicorn workers starting together agree on one secret.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
