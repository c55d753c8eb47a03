"""The Flask app factory: the API, the console and health checks over one runtime."""

from __future__ import annotations

from typing import Any

from flask import Flask

from web import (
    api,
    audit,
    console,
    credit,
    db,
    errors,
    health,
    limits,
    public,
    resolver,
    security,
    shopper,
    spot_checks,
    tiles,
    transparency,
)
from web.settings import TIME_ZONE, Settings, configuration, instance_path

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config defaults, then ``TRACENET_*`` environment, then ``test_config``.

    The defaults, the environment and the instance folder are read by :mod:`web.settings`,
    exactly as the ``tracenet`` commands read them, so both open the same ledger.
    """
    instance = instance_path()
    # Named after the package, as before the factory moved here: the root path (templates,
    # static files) is web/ either way, and the logger keeps its name.
    app = Flask("web", instance_path=str(instance), instance_relative_config=True)
    app.config.from_mapping(
        configuration(instance),
        API_TITLE="Tracenet API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Served from the swagger-ui-bundle package: the docs work without internet access.
        OPENAPI_SWAGGER_UI_URL="/api/docs-assets/",
        BABEL_DEFAULT_TIMEZONE=TIME_ZONE,
    )
    if test_config:
        app.config.update(test_config)
    settings = Settings.from_config(instance, app.config)
    app.config["SECRET_KEY"] = settings.secret()

    db.init_app(app, settings)
    api.init_app(app)
    errors.init_app(app)  # after the API, whose own HTTP error handler it replaces
    app.register_blueprint(health.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(transparency.bp)
    app.register_blueprint(spot_checks.bp)
    credit.init_app(app)  # the public credit pages, and grading as entries arrive
    app.register_blueprint(tiles.bp)
    app.register_blueprint(resolver.bp)
    app.register_blueprint(shopper.bp)
    app.register_blueprint(shopper.photo_bp)
    console.init_app(app)
    security.init_app(app)
    audit.init_app(app)
    limits.init_app(app)  # last: it limits the public blueprints by name
    return app
