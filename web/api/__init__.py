"""The REST API (/api/v1) with its OpenAPI description (/api/openapi.json, /api/docs)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from schemas.events import EventSchema
from web.api import directory, events, ledger, lots

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register the API blueprints; the error mapper in web.errors keeps its JSON bodies."""
    api = Api(app)
    api.spec.components.schema("Event", schema=EventSchema)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(ledger.blp)
    api.register_blueprint(events.blp)
    api.register_blueprint(directory.blp)
    api.register_blueprint(lots.blp)
