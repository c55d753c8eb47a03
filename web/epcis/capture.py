"""EPCIS 2.0 capture: ``POST /epcis/capture`` (a document, answered 202 with its capture job),
``GET /epcis/capture/{id}`` (the job) and ``POST /epcis/events`` (one event, answered 201).

A document is checked against GS1's JSON Schema (a 400 naming the problem, nothing stored),
each event gets its CBV 2.0 event hash ID and its owner (the enterprise holding its location),
is mapped to record statements (:mod:`schemas.epcis.mapping`) and goes through ``submit`` like
any native record, signed custodially as its owner. ``GS1-Capture-Error-Behaviour: rollback``
(the default) stores all events or none; ``proceed`` stores every event that passes and
reports the others. The capture runs within the request, so the job is finished when the
202 is sent; it keeps the per-event errors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, has_app_context, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from ledger import log, recall
from ledger.accounts.custodial import KeyVault
from ledger.accounts.roles import ADMIN, PRODUCER
from ledger.epcis.hashing import (
    document_event_hash_ids,
    document_events,
    event_hash_id,
    parse_context,
)
from ledger.epcis.owners import LedgerDirectory
from ledger.epcis.schema import EPCISSchema, SchemaUnavailable, load_schema
from ledger.errors import LedgerError, render_field
from ledger.log.entry import Statement
from ledger.supervision import names
from ledger.supervision.submit import submit
from schemas.epcis.mapping import TRACENET_NS, EventProblem, MappedEvent, Mapper, parse_key
from schemas.events import load_payload
from web.api.security import BEARER
from web.auth import Principal, require_principal
from web.db import get_ledger, get_session, get_vault
from web.epcis.jobs import CaptureJob, new_job
from web.errors import ApiError

__all__ = ["CAPTURE_LIMIT", "CaptureOutcome", "blp", "capture", "epcis_schema",
           "load_document_schema"]

#: the most events one capture takes (advertised as GS1-EPCIS-Capture-Limit)
CAPTURE_LIMIT = 10_000
EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
BEHAVIOURS = ("rollback", "proceed")
_SCHEMA_FILE = Path("epcis") / "gs1" / "EPCIS-JSON-Schema.json"

blp = Blueprint("epcis_capture", __name__, url_prefix="/epcis",
                description="GS1 EPCIS 2.0 capture (REST binding, JSON / JSON-LD)")


def epcis_schema() -> EPCISSchema:
    """GS1's EPCIS 2.0 JSON Schema: the app's ``EPCIS_SCHEMA``, else ``TRACENET_EPCIS_SCHEMA``,
    else the development copy in the shared folder (``$TRACENET_SHARED``, or ``../shared``
    beside the checkout); 503 when there is none."""
    try:
        return load_schema(_schema_path())
    except SchemaUnavailable as exc:
        raise ApiError(503, "epcis_schema_unavailable", str(exc)) from None


def _schema_path() -> str | None:
    configured = (current_app.config.get("EPCIS_SCHEMA") if has_app_context() else None) \
        or os.environ.get("TRACENET_EPCIS_SCHEMA")
    if configured:
        return str(configured)
    shared = os.environ.get("TRACENET_SHARED") or Path(__file__).resolve().parents[3] / "shared"
    candidate = Path(shared) / _SCHEMA_FILE
    return str(candidate) if candidate.is_file() else None


def load_document_schema() -> EPCISSchema:
    """The schema for callers outside a request (the CLI): SchemaUnavailable when absent."""
    return load_schema(_schema_path())


# -- the capture ---------------------------------------------------------------------------------

@dataclass
class CaptureOutcome:
    """How a capture ended: each event with its records' seqs, and the errors."""

    events: list[MappedEvent]
    errors: list[dict[str, Any]] = field(default_factory=list)
    seqs: dict[int, list[int]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """Whether every event was captured."""
        return not self.errors

    def results(self) -> list[dict[str, Any]]:
        """Per event: its eventID, hash ID, and the seqs of its records (empty: refused)."""
        return [{"eventID": e.event_id, "hashID": e.hash_id, "enterprise": e.enterprise,
                 "seqs": self.seqs.get(e.index, [])} for e in self.events]


def _error(mapped: MappedEvent | None, code: str, message: str, field_: str | None,
           **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "field": field_, **extra}
    if mapped is not None:
        error |= {"eventIndex": mapped.index, "eventID": mapped.event_id,
                  "hashID": mapped.hash_id}
    return error


def capture(session: Session, ledger: log.Ledger, vault: KeyVault,
            document: Mapping[str, Any], *, principal: Principal, behaviour: str = "rollback",
            single: bool = False) -> CaptureOutcome:
    """Capture a (schema-valid) EPCISDocument, or one event with ``single``.

    Under ``rollback`` nothing is appended unless every event passes, and the caller commits;
    under ``proceed`` the events that pass are committed here, batch by batch, around those
    that do not.
    """
    if single:
        events: list[Mapping[str, Any]] = [document]
        context = parse_context(document.get("@context"))
        hash_ids = [event_hash_id(document, context=context)]
        base: tuple[str | int, ...] = ()
    else:
        events = document_events(document)
        context = parse_context(document.get("@context"))
        hash_ids = document_event_hash_ids(document)
        base = (("epcisBody", "queryResults", "resultsBody", "eventList")
                if isinstance(document.get("epcisBody"), Mapping)
                and "queryResults" in document["epcisBody"] else ("epcisBody", "eventList"))
    directory = LedgerDirectory(session)
    products, errors = _master_data(document, directory, context, principal, ledger)
    mapper = Mapper(directory, context, products=[p.payload["gtin"] for p in products])
    outcome = CaptureOutcome([], errors)
    owners: list[str | None | EventProblem] = []
    for index, event in enumerate(events):
        try:
            owners.append(mapper.event_owner(event, (*base, index) if not single else ()))
        except EventProblem as problem:
            owners.append(problem)
    fallback = _document_owner(document, mapper, owners)
    for index, (event, hash_id) in enumerate(zip(events, hash_ids, strict=True)):
        if not single and "@context" in document and "@context" not in event:
            # Kept with the event, so that the event served later still says what its
            # extension prefixes mean and hashes back to the ID it was stored under.
            event = {**event, "@context": document["@context"]}
        event_id = event.get("eventID")
        mapped = MappedEvent(index, event, hash_id,
                             event_id if isinstance(event_id, str) and event_id else hash_id)
        where = (*base, index) if not single else ()
        try:
            owner = owners[index]
            if isinstance(owner, EventProblem):
                raise owner
            mapped.enterprise = _checked_owner(owner or fallback, where, principal)
            mapper.map_event(mapped, where)
        except EventProblem as problem:
            mapped.problem = problem
            outcome.errors.append(_error(mapped, problem.code, problem.message,
                                         render_field(problem.field)))
        outcome.events.append(mapped)
    if behaviour == "rollback":
        if not outcome.errors:
            _append(session, ledger, vault, products, outcome, outcome.events, commit=False)
        return outcome
    todo = [mapped for mapped in outcome.events if mapped.problem is None]
    _append(session, ledger, vault, products, outcome, todo, commit=True)
    return outcome


def _document_owner(document: Mapping[str, Any], mapper: Mapper,
                    owners: Sequence[str | None | EventProblem]) -> str | None:
    """Whose an event naming no location is: the owner of the document's ``sender``, else
    the one enterprise that owns all the document's other events."""
    header = document.get("epcisHeader")
    for sender in (document.get("sender"),
                   header.get("sender") if isinstance(header, Mapping) else None):
        owner = mapper.owner(sender)
        if owner is not None:
            return owner
    found = {owner for owner in owners if isinstance(owner, str)}
    return found.pop() if len(found) == 1 else None


def _checked_owner(owner: str | None, where: tuple[str | int, ...],
                   principal: Principal) -> str:
    if owner is None:
        if principal.role != PRODUCER:
            raise EventProblem("epcis.no_owner", "the event names no bizLocation, readPoint or "
                               "owning party, so it belongs to no enterprise; an admin "
                               "captures on behalf of the enterprises that own the locations",
                               (*where, "bizLocation"))
        return principal.enterprise  # a producer's event without a location is its own
    if principal.role == PRODUCER and owner != principal.enterprise:
        raise EventProblem("epcis.not_owner", f"the event's location belongs to {owner}; this "
                           f"token captures {principal.enterprise}'s events only",
                           (*where, "bizLocation"))
    return owner


def _append(session: Session, ledger: log.Ledger, vault: KeyVault, products: list[Statement],
            outcome: CaptureOutcome, events: list[MappedEvent], *, commit: bool) -> None:
    """Submit the master data's products and the events' records as one batch; with
    ``commit`` (proceed), a refused event is reported and the batch retried without it."""
    pending = list(events)
    prelude = list(products)
    while prelude or pending:
        statements: list[Statement] = list(prelude)
        owners: list[MappedEvent | None] = [None] * len(prelude)
        for mapped in pending:
            for type_, time, payload in mapped.records:
                statements.append(Statement(type_, mapped.enterprise or "", "", time, payload))
                owners.append(mapped)
        try:
            appended = submit(session, ledger, vault, statements)
        except LedgerError as exc:
            item = exc.item if exc.item is not None else 0
            culprit = owners[item] if item < len(owners) else None
            outcome.errors.append(_error(
                culprit, getattr(exc, "code", "ledger_error"), exc.message,
                render_field(exc.field), record=statements[item].type if item < len(
                    statements) else None, message_zh=getattr(exc, "message_zh", None)))
            if not commit:
                outcome.seqs.clear()
                return
            session.rollback()
            if culprit is None:  # a product of the master data: the events go on without it
                prelude = [p for p in prelude if p is not statements[item]]
                continue
            before = pending[:pending.index(culprit)]
            _commit(session, ledger, vault, prelude, before, outcome)
            prelude, pending = [], pending[pending.index(culprit) + 1:]
            continue
        _seqs(appended_seqs=[a.entry.seq for a in appended], owners=owners, outcome=outcome)
        recall.queue_late_notices(session, ledger.clock(), [a.entry.seq for a in appended])
        if commit:
            session.commit()
        return


def _commit(session: Session, ledger: log.Ledger, vault: KeyVault, prelude: list[Statement],
            events: list[MappedEvent], outcome: CaptureOutcome) -> None:
    """Append and commit what passed before a refused event (it passed once already)."""
    if not prelude and not events:
        return
    _append(session, ledger, vault, prelude, outcome, events, commit=True)


def _seqs(*, appended_seqs: Sequence[int], owners: Sequence[MappedEvent | None],
          outcome: CaptureOutcome) -> None:
    for seq, mapped in zip(appended_seqs, owners, strict=True):
        if mapped is not None:
            outcome.seqs.setdefault(mapped.index, []).append(seq)


def _master_data(document: Mapping[str, Any], directory: LedgerDirectory, context: Any,
                 principal: Principal, ledger: log.Ledger
                 ) -> tuple[list[Statement], list[dict[str, Any]]]:
    """``product_registered`` statements for the EPCClass master data of products not yet
    registered, whose attributes (Tracenet's namespace) say name, category and standard."""
    header = document.get("epcisHeader")
    master = header.get("epcisMasterData") if isinstance(header, Mapping) else None
    vocabularies = master.get("vocabularyList") if isinstance(master, Mapping) else None
    statements: list[Statement] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for v, vocabulary in enumerate(vocabularies or []):
        if not isinstance(vocabulary, Mapping) or not str(vocabulary.get("type", "")).endswith(
                "EPCClass"):
            continue
        for e, element in enumerate(vocabulary.get("vocabularyElementList") or []):
            at = ("epcisHeader", "epcisMasterData", "vocabularyList", v,
                  "vocabularyElementList", e)
            key = parse_key(element.get("id")) if isinstance(element, Mapping) else None
            if key is None or key.ai != "01" or key.value in seen:
                continue
            attributes = _attributes(element, context)
            if "category" not in attributes or "standard" not in attributes \
                    or directory.product_known(key.value):
                continue  # not a product registration, or one already made
            seen.add(key.value)
            owner = directory.owner_of_gtin(key.value) or (
                principal.enterprise if principal.role == PRODUCER else None)
            problem = None
            if owner is None:
                problem = f"no registered enterprise holds the company prefix of {key.value}"
            elif principal.role == PRODUCER and owner != principal.enterprise:
                problem = f"{key.value} is under {owner}'s company prefix"
            payload = {"gtin": key.value, "name": attributes.get("name", key.value),
                       "category": attributes["category"], "standard": attributes["standard"],
                       "spec": attributes.get("spec", "")}
            if problem is None:
                try:
                    payload = load_payload(names.PRODUCT_REGISTERED, payload, signed=False)
                except Exception as exc:  # noqa: BLE001 - reported as the element's error
                    problem = f"the product's master data is wrong: {exc}"
            if problem is not None:
                errors.append(_error(None, "epcis.master_data", problem, render_field(at)))
                continue
            statements.append(Statement(names.PRODUCT_REGISTERED, owner or "", "",
                                        log.rfc3339(ledger.clock()), payload))
    return statements, errors


_NAME_ATTRIBUTES = ("urn:epcglobal:cbv:mda#descriptionShort",
                    "urn:epcglobal:cbv:mda#regulatedProductName", "https://gs1.org/voc/productName")


def _attributes(element: Mapping[str, Any], context: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for attribute in element.get("attributes") or []:
        if not isinstance(attribute, Mapping) or not isinstance(attribute.get("id"), str):
            continue
        uri = context.expand_value(attribute["id"])
        value = attribute.get("attribute")
        if not isinstance(value, str | int):
            continue
        if uri.startswith(TRACENET_NS):
            found[uri[len(TRACENET_NS):]] = str(value)
        elif uri in _NAME_ATTRIBUTES:
            found.setdefault("name", str(value))
    return found


# -- the binding ---------------------------------------------------------------------------------

class CaptureJobSchema(Schema):
    """A capture job, in the shape of EPCIS 2.0's (``running``, ``success``, ``errors``)."""

    captureID = fields.String(metadata={"example": "5f0d3c0a9b8e4f7c8a1d2e3f4a5b6c7d"})
    createdAt = fields.String()
    finishedAt = fields.String(allow_none=True)
    running = fields.Boolean()
    success = fields.Boolean()
    captureErrorBehaviour = fields.String(metadata={"example": "rollback"})
    events = fields.Integer(metadata={"description": "events in the document"})
    captured = fields.Integer(metadata={"description": "events stored"})
    errors = fields.List(fields.Dict(), metadata={
        "description": "per refused event: code (rule.* for a supervision rule, epcis.* for "
                       "the mapping), message, field, eventIndex, eventID, hashID"})
    results = fields.List(fields.Dict(), metadata={
        "description": "per event: eventID, hashID, enterprise and the seqs of its records "
                       "(empty when it was not stored)"})


_DOCUMENT_BODY = {"required": True, "content": {
    media: {"schema": {"type": "object", "required": ["type", "@context", "epcisBody"],
                       "description": "an EPCISDocument (GS1 EPCIS 2.0 JSON / JSON-LD)",
                       "properties": {"type": {"type": "string", "enum": ["EPCISDocument"]},
                                      "@context": {"oneOf": [
                                          {"type": "string"}, {"type": "object"},
                                          {"type": "array"}]},
                                      "epcisBody": {"type": "object"}}}}
    for media in ("application/json", "application/ld+json")}}
_EVENT_BODY = {"required": True, "content": {
    media: {"schema": {"type": "object", "required": ["type", "eventTime",
                                                      "eventTimeZoneOffset"],
                       "description": "one EPCIS 2.0 event (ObjectEvent, AggregationEvent, "
                                      "TransformationEvent, TransactionEvent, "
                                      "AssociationEvent)"}}
    for media in ("application/json", "application/ld+json")}}
_HEADERS = [
    {"name": "GS1-Capture-Error-Behaviour", "in": "header", "required": False,
     "schema": {"type": "string", "enum": list(BEHAVIOURS), "default": "rollback"}},
    {"name": "GS1-EPCIS-Version", "in": "header", "required": False,
     "schema": {"type": "string", "example": EPCIS_VERSION}},
    {"name": "GS1-CBV-Version", "in": "header", "required": False,
     "schema": {"type": "string", "example": CBV_VERSION}},
]


@blp.after_request
def _gs1_headers(response: Response) -> Response:
    response.headers["GS1-EPCIS-Version"] = EPCIS_VERSION
    response.headers["GS1-CBV-Version"] = CBV_VERSION
    response.headers["GS1-EPCIS-Capture-Limit"] = str(CAPTURE_LIMIT)
    # the app's MAX_CONTENT_LENGTH, which refuses a larger body (413) before reading it
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit:
        response.headers["GS1-EPCIS-Capture-File-Size-Limit"] = str(limit)
    response.headers["GS1-Capture-Error-Behaviour"] = ", ".join(BEHAVIOURS)
    return response


def _capturer() -> Principal:
    principal = require_principal(get_session())
    if principal.role not in (PRODUCER, ADMIN):
        raise ApiError(403, "forbidden", "a producer's token captures its own events, an "
                       "admin's on behalf of registered enterprises; this one cannot capture",
                       "Authorization")
    return principal


def _behaviour() -> str:
    behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback").strip().lower()
    if behaviour not in BEHAVIOURS:
        raise ApiError(400, "bad_header", "GS1-Capture-Error-Behaviour is rollback or proceed",
                       "GS1-Capture-Error-Behaviour")
    for header, supported in (("GS1-EPCIS-Version", EPCIS_VERSION),
                              ("GS1-CBV-Version", CBV_VERSION)):
        asked = request.headers.get(header)
        if asked is not None and asked.strip().split(".")[:1] != supported.split(".")[:1]:
            raise ApiError(400, "unsupported_version", f"{header} {asked} is not supported "
                           f"(this service speaks {supported})", header)
    return behaviour


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "expected a JSON object", None)
    return body


@blp.post("/capture")
@blp.doc(requestBody=_DOCUMENT_BODY, parameters=_HEADERS, security=BEARER)
@blp.response(202, CaptureJobSchema, headers={"Location": {
    "description": "the capture job, /epcis/capture/{captureID}", "schema": {"type": "string"}}})
def capture_document() -> Any:
    """Capture an EPCISDocument (at most GS1-EPCIS-Capture-Limit events).

    The document is validated against the EPCIS 2.0 JSON Schema (400 naming the problem,
    nothing stored), then each event is mapped to Tracenet records and admitted by the
    supervision rules, signed as the enterprise owning its location. The answer is 202 with
    the finished capture job (also at ``Location``): ``success`` false with per-event errors
    when events were refused; under ``rollback`` (default) then nothing was stored.
    """
    session = get_session()
    principal = _capturer()
    behaviour = _behaviour()
    document = _json_body()
    epcis_schema().validate(document)
    if document.get("type") not in ("EPCISDocument", "EPCISQueryDocument"):
        raise ApiError(400, "bad_request", "POST /epcis/capture takes an EPCISDocument; one "
                       "event goes to POST /epcis/events", "type")
    count = len(document_events(document))
    if count > CAPTURE_LIMIT:
        raise ApiError(413, "capture_limit", f"{count} events: a capture takes at most "
                       f"{CAPTURE_LIMIT} (GS1-EPCIS-Capture-Limit)", "epcisBody.eventList")
    job = _run(session, principal, document, behaviour, count, single=False)
    response = Response(json.dumps(job.as_json(), ensure_ascii=False), status=202,
                        mimetype="application/json")
    response.headers["Location"] = f"/epcis/capture/{job.id}"
    return response


@blp.post("/events")
@blp.doc(requestBody=_EVENT_BODY, parameters=_HEADERS[1:], security=BEARER)
@blp.response(201, CaptureJobSchema, headers={"Location": {
    "description": "the captured event, /epcis/events/{eventID} (URL-encoded)",
    "schema": {"type": "string"}}})
def capture_event() -> Any:
    """Capture one EPCIS event, synchronously: 201 with the event's ``Location``, or the
    error (422 with the rule code, 409 for a duplicate, 403 for another enterprise's event)."""
    session = get_session()
    principal = _capturer()
    _behaviour()
    event = _json_body()
    epcis_schema().validate_event(event)
    job = _run(session, principal, event, "rollback", 1, single=True)
    if not job.success:
        error = json.loads(job.errors)[0]
        status = (409 if error["code"] == "rule.epcis.duplicate" else
                  403 if error["code"] == "epcis.not_owner" else 422)
        raise ApiError(status, error["code"], error["message"], error.get("field"))
    [result] = json.loads(job.results)
    response = Response(json.dumps(job.as_json(), ensure_ascii=False), status=201,
                        mimetype="application/json")
    response.headers["Location"] = "/epcis/events/" + quote(result["eventID"], safe="")
    return response


def _run(session: Session, principal: Principal, document: Mapping[str, Any],
         behaviour: str, count: int, *, single: bool) -> CaptureJob:
    ledger = get_ledger()
    created = log.rfc3339(ledger.clock())
    outcome = capture(session, ledger, get_vault(), document, principal=principal,
                      behaviour=behaviour, single=single)
    if behaviour == "rollback" and not outcome.success:
        session.rollback()
    job = new_job(session, principal.enterprise, behaviour, count, created)
    job.running, job.success = False, outcome.success
    job.finished_at = log.rfc3339(ledger.clock())
    job.captured = len(outcome.seqs)
    job.errors = json.dumps(outcome.errors, ensure_ascii=False)
    job.results = json.dumps(outcome.results(), ensure_ascii=False)
    session.commit()
    return job


@blp.get("/capture/<string:capture_id>")
@blp.response(200, CaptureJobSchema)
@blp.doc(security=BEARER)
def capture_job(capture_id: str) -> Any:
    """A capture job: running, success, the per-event errors and results."""
    session = get_session()
    principal = require_principal(session)
    job = session.get(CaptureJob, capture_id[:32])
    if job is None or (principal.role != ADMIN and job.principal != principal.enterprise):
        raise ApiError(404, "not_found", f"no capture job {capture_id}", "capture_id")
    return job.as_json()
