"""Posting events (one or a batch, atomically) and reading entries back."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session

from ledger import log, recall
from ledger.accounts.roles import ADMIN
from ledger.log.entry import SignedStatement, Statement
from ledger.log.identity import OPERATOR
from ledger.log.timestamp import sign_entry_timestamp
from ledger.supervision import queries
from ledger.supervision.models import RecordRow
from ledger.supervision.names import CORRECTION
from ledger.supervision.submit import submit
from schemas.events import PAYLOAD_SCHEMAS, EntrySchema, EventSchema, load_payload
from web import audit
from web.api.contract import PageSchema
from web.api.pagination import PageQuery, page_body
from web.api.security import BEARER
from web.auth import (
    Principal,
    authenticated_viewer,
    current_principal,
    require_principal,
    viewer_of,
)
from web.db import get_ledger, get_runtime, get_session, get_vault
from web.errors import ApiError
from web.idempotency import commit_remembering, replay

blp = Blueprint("events", __name__, url_prefix="/api/v1/events",
                description="Append signed events to the ledger and read entries")


#: how long ``?wait=checkpoint`` may hold a request (a gunicorn worker) at most, and by default
MAX_WAIT = 10.0
DEFAULT_WAIT = 5.0


class AppendQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    wait = fields.String(load_default=None, validate=validate.OneOf(["checkpoint"]), metadata={
        "description": "checkpoint: answer once a signed checkpoint covers the new entries"})
    timeout = fields.Float(load_default=DEFAULT_WAIT, validate=validate.Range(0, MAX_WAIT),
                           metadata={"description": "seconds to wait at most (with wait)"})


@blp.post("")
@blp.arguments(AppendQuery, location="query")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "oneOf": [{"$ref": "#/components/schemas/Event"},
              {"type": "array", "minItems": 1,
               "items": {"$ref": "#/components/schemas/Event"}}]}}}},
         security=BEARER)
@blp.response(201, EntrySchema(many=True))
def post_events(query: dict[str, Any]) -> Any:
    """Append one event or a list of events; all are appended or none is.

    Each new entry comes back with its ``signed_entry_timestamp``: the operator's signed
    promise to include it, given at once. Checkpoints are signed at a cadence (by default at
    most one a second); with ``?wait=checkpoint`` the answer waits, up to ``timeout``
    seconds, for a signed checkpoint covering the batch and carries it in each entry's
    ``checkpoint`` (null if none came in time; the entries are appended either way).

    With an ``Idempotency-Key`` header, a retry of the same request returns the first
    response and appends nothing; the key cannot be reused for a different request.
    """
    session = get_session()
    principal = require_principal(session)
    replayed = replay(session, principal.enterprise)
    if replayed is not None:
        return _answer_replayed(replayed, query)
    body = request.get_json(silent=True)
    if not isinstance(body, dict | list) or body == []:
        raise ApiError(400, "bad_request", "expected a JSON event object or a non-empty list",
                       None)
    events = _load_events(body)
    for index, event in enumerate(events):
        _load_replacement(session, event, index if isinstance(body, list) else None)
    appended = submit(session, get_ledger(), get_vault(), _statements(principal, events))
    # A late record of goods a recall now covers (or a recall itself) notifies its holders.
    recall.queue_late_notices(session, get_ledger().clock(), [a.entry.seq for a in appended])
    result = [{**a.entry.as_json(), "notices": [vars(n) for n in a.notices]} for a in appended]
    audit.with_work(session, 201)  # one commit, one wait for the write lock
    # The timestamps are signed after the commit, outside the head lock; being deterministic
    # (Ed25519), a replayed response re-signs the very same ones from the stored entries.
    answer = commit_remembering(session, principal.enterprise, 201, result, get_ledger().clock)
    if isinstance(answer, Response):  # the same key committed concurrently: its response
        return _answer_replayed(answer, query)
    # Serialised here rather than dumped field by field through EntrySchema (which documents
    # it): the body already holds exactly its fields, and the dump cost as much per entry as
    # validating the event did.
    return Response(json.dumps(_answer(result, query), ensure_ascii=False), status=201,
                    mimetype="application/json")


def _answer(entries: list[dict[str, Any]], query: dict[str, Any]) -> list[dict[str, Any]]:
    """The appended entries with their signed entry timestamps (and, when the client asked
    to wait, the checkpoint covering them)."""
    ledger = get_ledger()
    for entry in entries:
        entry["signed_entry_timestamp"] = _timestamp(
            entry["seq"], bytes.fromhex(entry["leaf_hash"]), entry["recorded_at"])
    if query["wait"] == "checkpoint" and entries:
        note = log.await_checkpoint(get_runtime().sessions, ledger,
                                    max(entry["seq"] for entry in entries), query["timeout"])
        for entry in entries:
            entry["checkpoint"] = note
    return entries


def _timestamp(seq: int, leaf_hash: bytes, recorded_at: str) -> dict[str, Any]:
    ledger = get_ledger()
    return sign_entry_timestamp(origin=ledger.origin, seq=seq, leaf_hash=leaf_hash,
                                integrated_time=recorded_at, private_key=ledger.signing_key,
                                key_id=ledger.key_id).as_json()


def _answer_replayed(stored: Response, query: dict[str, Any]) -> Response:
    """A stored response, its entries stamped again (the same timestamps: Ed25519 signing is
    deterministic)."""
    if stored.status_code != 201:
        return stored
    body = _answer(json.loads(stored.get_data()), query)
    response = Response(json.dumps(body, ensure_ascii=False), status=201,
                        mimetype="application/json")
    response.headers.update({name: value for name, value in stored.headers.items()
                             if name.lower() not in ("content-type", "content-length")})
    return response


#: one instance for every event of every request: building a marshmallow schema deep-copies its
#: fields (about 100 µs an event in a batch), and loading keeps no state in the instance
_EVENT = EventSchema()


def _load_events(body: dict[str, Any] | list[Any]) -> list[dict[str, Any]]:
    """Validate one event or a list; errors in a list are reported as ``[index].field``."""
    if isinstance(body, dict):
        return [_EVENT.load(body)]
    events = []
    for index, item in enumerate(body):
        try:
            events.append(_EVENT.load(item))
        except ValidationError as exc:
            raise ValidationError({index: exc.messages}) from None
    return events


def _load_replacement(session: Session, event: dict[str, Any], index: int | None) -> None:
    """A correction's replacement payload is validated with the corrected record's schema."""
    if event["type"] != CORRECTION:
        return
    target = session.get(RecordRow, event["payload"]["seq"])
    if target is None or target.type not in PAYLOAD_SCHEMAS:
        return  # the correction rules reject it with their own message
    path: tuple[str | int, ...] = ("payload", "replacement")
    if index is not None:
        path = (index, *path)
    event["payload"]["replacement"] = load_payload(
        target.type, event["payload"]["replacement"], signed=bool(event["signature"]),
        path=path)


def _statements(principal: Principal,
                events: list[dict[str, Any]]) -> list[Statement | SignedStatement]:
    """The batch to submit: client signatures as sent, the rest to be signed custodially."""
    # Admins act for the ledger operator (registering enterprises and keys); everyone else
    # writes only as the enterprise the token belongs to.
    allowed = {principal.enterprise} | ({OPERATOR} if principal.role == ADMIN else set())
    statements: list[Statement | SignedStatement] = []
    for event in events:
        enterprise = event["enterprise"] or principal.enterprise
        if enterprise not in allowed:
            raise ApiError(403, "forbidden", f"this token writes as {principal.enterprise} only",
                           "enterprise")
        statement = Statement(event["type"], enterprise, event["key_id"] or "",
                              event["event_time"], event["payload"])
        statements.append(statement if event["signature"] is None else
                          SignedStatement(statement, base64.b64decode(event["signature"])))
    return statements


class EventQuery(PageQuery):
    type = fields.String(load_default=None, metadata={"example": "shipment"})
    enterprise = fields.String(load_default=None, metadata={"example": "91350100M000100Y43"})


@blp.get("")
@blp.arguments(EventQuery, location="query")
@blp.response(200, PageSchema)
@blp.doc(security=BEARER)
def list_events(query: dict[str, Any]) -> dict[str, Any]:
    """Entries in seq order that the caller may read (its own, naming it, or public)."""
    session = get_session()
    viewer = authenticated_viewer(session)
    return page_body(queries.list_entries(
        session, viewer=viewer, limit=query["limit"], after=query["cursor"],
        type_=query["type"], enterprise=query["enterprise"]))


@blp.get("/<int:seq>")
@blp.response(200, EntrySchema)
def get_event(seq: int) -> dict[str, Any]:
    """The entry at ``seq`` with its leaf hash, the notices its rules attached and its signed
    entry timestamp (the same one its append answered with).

    Identity and product registrations are public; other records are readable by the
    enterprise that made them, the counterparty they name, and regulators.
    """
    session = get_session()
    entry = log.get_entry(session, seq)
    principal = current_principal(session)
    if not queries.entry_visible(session, entry, viewer_of(principal, session)):
        if principal is None:
            raise ApiError(401, "unauthorized", "this record needs an API token",
                           "Authorization")
        raise ApiError(403, "forbidden", f"seq {seq} is another enterprise's record", "seq")
    return {**entry.as_json(), "notices": queries.notices_of(session, seq),
            "signed_entry_timestamp": _timestamp(entry.seq, entry.leaf_hash, entry.recorded_at)}
