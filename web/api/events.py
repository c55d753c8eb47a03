"""Posting events (one or a batch, atomically) and reading entries back."""

from __future__ import annotations

import base64
from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from ledger import log
from ledger.enterprises import sign_custodially
from ledger.entry import SignedStatement, Statement
from ledger.identity import OPERATOR
from ledger.keys import KeyVault
from schemas.events import EntrySchema, EventSchema
from web.auth import Principal, require_principal
from web.db import get_ledger, get_session
from web.errors import ApiError

blp = Blueprint("events", __name__, url_prefix="/api/v1/events",
                description="Append signed events to the ledger and read entries")


@blp.post("")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "oneOf": [{"$ref": "#/components/schemas/Event"},
              {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}]}}}},
         security=[{"bearerAuth": []}])
@blp.response(201, EntrySchema(many=True))
def post_events() -> list[dict[str, Any]]:
    """Append one event or a list of events; all are appended or none is."""
    session = get_session()
    principal = require_principal(session)
    body = request.get_json(silent=True)
    if not isinstance(body, dict | list) or body == []:
        raise ApiError(400, "bad_request", "expected a JSON event object or a non-empty list",
                       None)
    events = _load_events(body)
    vault = KeyVault(current_app.config["SECRET_KEY"])
    batch = [_signed(session, principal, vault, event) for event in events]
    appended = log.append(session, get_ledger(), batch)
    session.commit()
    return [{**a.entry.as_json(), "notices": [vars(n) for n in a.notices]} for a in appended]


def _load_events(body: dict[str, Any] | list[Any]) -> list[dict[str, Any]]:
    """Validate one event or a list; errors in a list are reported as ``[index].field``."""
    if isinstance(body, dict):
        return [EventSchema().load(body)]
    events = []
    for index, item in enumerate(body):
        try:
            events.append(EventSchema().load(item))
        except ValidationError as exc:
            raise ValidationError({index: exc.messages}) from None
    return events


def _signed(session: Any, principal: Principal, vault: KeyVault,
            event: dict[str, Any]) -> SignedStatement:
    enterprise = event["enterprise"] or principal.enterprise
    # Admins act for the ledger operator (registering enterprises and keys); everyone else
    # writes only as the enterprise the token belongs to.
    allowed = {principal.enterprise} | ({OPERATOR} if principal.role == "admin" else set())
    if enterprise not in allowed:
        raise ApiError(403, "forbidden", f"this token writes as {principal.enterprise} only",
                       "enterprise")
    statement = Statement(event["type"], enterprise, event["key_id"] or "", event["event_time"],
                          event["payload"])
    if event["signature"] is None:
        return sign_custodially(session, get_ledger(), vault, statement)
    return SignedStatement(statement, base64.b64decode(event["signature"]))


@blp.get("/<int:seq>")
@blp.response(200, EntrySchema)
def get_event(seq: int) -> dict[str, Any]:
    """The entry at ``seq`` with its leaf hash."""
    return log.get_entry(get_session(), seq).as_json()
