"""The REST API (/api/v1) with its OpenAPI description (/api/openapi.json, /api/docs)."""

from __future__ import annotations

from flask import Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from schemas.events import PAYLOAD_SCHEMAS
from web.api import (
    codes,
    directory,
    epcis_query,
    events,
    exports,
    ledger,
    lots,
    onboarding,
    public,
    recalls,
    risk,
    scan,
    serials,
    trace,
    webhooks,
)
from web.api.contract import ContractApi, authenticate_first, register_events
from web.api.security import BEARER_SCHEME
from web.epcis import capture as epcis_capture

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register the API blueprints; the error mapper in web.errors keeps its JSON bodies."""
    app.add_url_rule("/api/docs-assets/<path:filename>", "swagger_ui_assets",
                     lambda filename: send_from_directory(swagger_ui_path, filename))
    # Our error envelope, declared once, and every error status on every operation.
    api = ContractApi(app)
    register_events(api, PAYLOAD_SCHEMAS)  # each type's payload, with its examples
    api.spec.components.security_scheme(BEARER_SCHEME, {"type": "http", "scheme": "bearer"})
    api.register_blueprint(ledger.blp)
    api.register_blueprint(events.blp)
    api.register_blueprint(directory.blp)
    api.register_blueprint(lots.blp)
    api.register_blueprint(webhooks.blp)
    api.register_blueprint(recalls.blp)
    api.register_blueprint(risk.blp)
    api.register_blueprint(trace.blp)
    api.register_blueprint(codes.blp)
    api.register_blueprint(public.blp)
    api.register_blueprint(scan.blp)
    api.register_blueprint(serials.blp)
    api.register_blueprint(exports.blp)
    api.register_blueprint(epcis_query.blp)
    api.register_blueprint(onboarding.blp)
    api.register_blueprint(epcis_capture.blp)
    authenticate_first(app)
