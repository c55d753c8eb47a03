"""The query side of the GS1 EPCIS 2.0 REST binding under /epcis: events, one event, the events
of an EPC, the event types and bizSteps in use.

Every operation needs an API token and shows what ``GET /api/v1/events`` would: a regulator
everything, an enterprise the events of its own entries and of records naming it. Query
parameters are the standard's SimpleEventQuery ones; a list value is given by repeating the
parameter or separating values with ``|``; an unknown parameter is refused (400), as the
standard's QueryParameterException. Pages: ``perPage`` (1-1000, default 30) and the
``nextPageToken`` that the previous page's ``Link: <…>; rel="next"`` header carries.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlencode

from flask import Response, request
from flask_smorest import Blueprint

from ledger.epcis import query as epcis
from ledger.epcis.index import ilmd_name, instant, location
from web.api.security import BEARER
from web.auth import authenticated_viewer
from web.db import get_ledger, get_session
from web.errors import ApiError

blp = Blueprint("epcis_query", __name__, url_prefix="/epcis",
                description="GS1 EPCIS 2.0 queries: events as JSON-LD, by the standard's "
                            "parameters")

#: the standard's versions this binding speaks, sent on every answer
VERSION_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000
_TIMES = ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime")
_LISTS = {"eventType": "event_types", "EQ_action": "actions", "EQ_bizStep": "biz_steps",
          "EQ_disposition": "dispositions", "EQ_readPoint": "read_points",
          "EQ_bizLocation": "biz_locations", "EQ_eventID": "event_ids"}
_ILMD = "EQ_ILMD_"
_PAGING = ("perPage", "nextPageToken", "orderBy", "orderDirection")
_KNOWN = frozenset({*_TIMES, *_LISTS, *epcis.MATCH_ROLES, *_PAGING, "EXISTS_errorDeclaration"})

_ERRORS = {"400": {"description": "a parameter the standard does not define, or a value that "
                                  "is not what it should be (a time, a page token, ...)"},
           "401": {"description": "no or an unknown API token"}}


def _parameter(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"in": "query", "name": name, "required": False, "description": description,
            "schema": {"type": "string", **schema}}


_DOCUMENTED = [
    _parameter("eventType", "ObjectEvent, AggregationEvent, TransactionEvent, "
               "TransformationEvent, AssociationEvent (or an extension type); `|` for several"),
    *[_parameter(name, f"{'at or after' if name.startswith('GE') else 'before'} this instant "
                 "(RFC 3339; compared as instants, whatever the offset)", format="date-time")
      for name in _TIMES],
    _parameter("EQ_action", "ADD, OBSERVE or DELETE; `|` for several"),
    _parameter("EQ_bizStep", "a CBV bizStep (bare word or URI) or another URI"),
    _parameter("EQ_disposition", "a CBV disposition (bare word or URI) or another URI"),
    _parameter("EQ_readPoint", "a location: SGLN EPC URI or GS1 Digital Link (one place "
               "either way), or another URI"),
    _parameter("EQ_bizLocation", "as EQ_readPoint"),
    _parameter("EQ_eventID", "an eventID or an event hash ID"),
    *[_parameter(name, f"an EPC (EPC URI or GS1 Digital Link) or an `urn:epc:idpat:` pattern, "
                 f"in {' / '.join(roles)}") for name, roles in epcis.MATCH_ROLES.items()],
    _parameter("EQ_ILMD_cbvmda:lotNumber", "the lot in the event's ILMD; any other "
               "`EQ_ILMD_<name>` (a CURIE or full URI) is taken likewise"),
    _parameter("EQ_ILMD_cbvmda:itemExpirationDate", "the expiry date in the event's ILMD "
               "(YYYY-MM-DD)"),
    _parameter("EXISTS_errorDeclaration", "only events with an error declaration (any value)"),
    {"in": "query", "name": "perPage", "required": False, "description": "events per page",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                "default": DEFAULT_PER_PAGE}},
    _parameter("nextPageToken", "from the previous page's Link header (rel=next)"),
    _parameter("orderBy", "eventTime or recordTime (default)", enum=["eventTime", "recordTime"]),
    _parameter("orderDirection", "ASC (default) or DESC", enum=["ASC", "DESC"]),
]

_DOCUMENT_SCHEMA = {"type": "object", "required": ["@context", "type", "epcisBody"],
                    "description": "an EPCISQueryDocument (GS1 EPCIS 2.0 JSON-LD)",
                    "properties": {"@context": {}, "type": {"type": "string"},
                                   "schemaVersion": {"type": "string"},
                                   "creationDate": {"type": "string"},
                                   "epcisBody": {"type": "object"}}}
_EVENT_SCHEMA = {"type": "object", "required": ["type", "eventID"],
                 "description": "an EPCIS 2.0 event (JSON-LD), with its @context",
                 "properties": {"type": {"type": "string"}, "eventID": {"type": "string"}}}
_COLLECTION_SCHEMA = {"type": "object", "required": ["@context", "type", "member"],
                      "properties": {"@context": {}, "type": {"type": "string"},
                                     "member": {"type": "array", "items": {"type": "string"}}}}
_LINK = {"Link": {"description": "the next page: `<url>; rel=\"next\"` (absent on the last)",
                  "schema": {"type": "string"}}}


def _answer(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=200,
                        mimetype="application/json")
    response.headers.update({**VERSION_HEADERS, **(headers or {})})
    return response


def _values(name: str) -> tuple[str, ...]:
    values = tuple(part for raw in request.args.getlist(name) for part in raw.split("|")
                   if part.strip())
    if not values:
        raise ApiError(400, "invalid_query_parameter", f"{name} needs a value", name)
    return tuple(value.strip() for value in values)


def _instant(name: str) -> int:
    text = request.args[name]
    if len(text) > 6 and text[-6] == " " and text[-5:-3].isdigit():
        # a "+08:00" sent unencoded arrives as " 08:00" (a "+" in a query is a space)
        text = text[:-6] + "+" + text[-5:]
    try:
        return instant(text)
    except (ValueError, OverflowError):
        raise ApiError(400, "invalid_query_parameter",
                       f"{name} must be an RFC 3339 time such as 2026-11-26T08:30:00+08:00, "
                       f"not {text!r}", name) from None


def _filter(extra_match: dict[str, tuple[str, ...]] | None = None) -> epcis.EventFilter:
    unknown = sorted(name for name in request.args
                     if name not in _KNOWN and not name.startswith(_ILMD))
    if unknown:
        raise ApiError(400, "invalid_query_parameter",
                       f"{unknown[0]} is not an EPCIS query parameter this service knows",
                       unknown[0])
    lists = {field: _values(name) for name, field in _LISTS.items() if name in request.args}
    times = {name: _instant(name) for name in _TIMES if name in request.args}
    match = {name: _values(name) for name in epcis.MATCH_ROLES if name in request.args}
    ilmd = {ilmd_name(name[len(_ILMD):]): _values(name) for name in request.args
            if name.startswith(_ILMD)}
    if any(not name[len(_ILMD):] for name in request.args if name.startswith(_ILMD)):
        raise ApiError(400, "invalid_query_parameter", "EQ_ILMD_ needs a field name",
                       _ILMD)
    return epcis.EventFilter(
        **lists, ge_event_time=times.get("GE_eventTime"),
        lt_event_time=times.get("LT_eventTime"), ge_record_time=times.get("GE_recordTime"),
        lt_record_time=times.get("LT_recordTime"), match={**match, **(extra_match or {})},
        ilmd=ilmd, exists_error_declaration="EXISTS_errorDeclaration" in request.args)


def _per_page() -> int:
    text = request.args.get("perPage", str(DEFAULT_PER_PAGE))
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_PER_PAGE:
        raise ApiError(400, "invalid_query_parameter",
                       f"perPage must be a whole number from 1 to {MAX_PER_PAGE}", "perPage")
    return int(text)


def _order() -> tuple[str, bool]:
    order_by = request.args.get("orderBy", "recordTime")
    direction = request.args.get("orderDirection", "ASC")
    if order_by not in epcis.ORDER_FIELDS:
        raise ApiError(400, "invalid_query_parameter",
                       "orderBy must be eventTime or recordTime", "orderBy")
    if direction not in ("ASC", "DESC"):
        raise ApiError(400, "invalid_query_parameter", "orderDirection must be ASC or DESC",
                       "orderDirection")
    return order_by, direction == "DESC"


def _token(order_by: str, descending: bool, after: tuple[int, int]) -> str:
    raw = json.dumps([order_by, descending, *after], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(order_by: str, descending: bool) -> tuple[int, int] | None:
    token = request.args.get("nextPageToken")
    if token is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not (isinstance(key, list) and len(key) == 4 and key[:2] == [order_by, descending]
            and all(isinstance(k, int) and not isinstance(k, bool) and abs(k) < 2**63
                    for k in key[2:])):
        raise ApiError(400, "invalid_query_parameter",
                       "nextPageToken is not one this query's previous page gave",
                       "nextPageToken")
    return key[2], key[3]


def _page(extra_match: dict[str, tuple[str, ...]] | None = None) -> Response:
    session = get_session()
    viewer = authenticated_viewer(session)
    query = _filter(extra_match)
    limit = _per_page()
    order_by, descending = _order()
    page = epcis.find_events(session, query, viewer=viewer, limit=limit, order_by=order_by,
                             descending=descending, after=_after(order_by, descending))
    session.commit()  # the index caught up
    headers = {}
    if page.after is not None:
        args = [(name, value) for name, value in request.args.items(multi=True)
                if name != "nextPageToken"]
        args.append(("nextPageToken", _token(order_by, descending, page.after)))
        headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
    return _answer(epcis.query_document(page.events, now=get_ledger().clock()), headers)


@blp.get("/events")
@blp.doc(security=BEARER, parameters=_DOCUMENTED, responses={
    "200": {"description": "the events, as an EPCISQueryDocument", "headers": _LINK,
            "content": {"application/json": {"schema": _DOCUMENT_SCHEMA}}}, **_ERRORS})
def events() -> Response:
    """The events the caller may see that match every parameter given (SimpleEventQuery)."""
    return _page()


@blp.route("/events/<path:event_id>", methods=["GET"], merge_slashes=False)
@blp.doc(security=BEARER, responses={
    "200": {"description": "the event", "content": {"application/json": {
        "schema": _EVENT_SCHEMA}}},
    "403": {"description": "another enterprise's event"},
    "404": {"description": "no event with that eventID or hash ID"}, **_ERRORS})
def event(event_id: str) -> Response:
    """One event by its eventID (the client's, e.g. ``urn:uuid:…``) or its CBV 2.0 hash ID
    (``ni:///sha-256;…?ver=CBV2.0``), URL-encoded. An eventID that several events share
    (clients do reuse them) names the first recorded; each one's hash ID names it alone."""
    session = get_session()
    viewer = authenticated_viewer(session)
    wanted = _raw_path_tail("/events/", event_id)
    if wanted.startswith("ni:") and "?" not in wanted and set(request.args) == {"ver"}:
        # a hash ID whose "?" was sent unencoded: its ?ver=CBV2.0 arrived as a query string
        wanted += "?ver=" + request.args["ver"]
    found = epcis.get_event(session, wanted, viewer=viewer)
    session.commit()
    return _answer({"@context": epcis.query_context([found]), **found})


@blp.route("/epcs/<path:epc>/events", methods=["GET"], merge_slashes=False)
@blp.doc(security=BEARER, parameters=_DOCUMENTED, responses={
    "200": {"description": "the events naming the EPC, as an EPCISQueryDocument",
            "headers": _LINK, "content": {"application/json": {"schema": _DOCUMENT_SCHEMA}}},
    **_ERRORS})
def epc_events(epc: str) -> Response:
    """The events that name an EPC or EPC class anywhere (epcList, childEPCs, parentID,
    input and output lists, quantity lists), filtered further by any query parameter."""
    text = _raw_path_tail("/epcs/", epc, suffix="/events")
    return _page({"MATCH_anyEPC": (text,)} if not _is_class(text)
                 else {"MATCH_anyEPCClass": (text,)})


def _is_class(text: str) -> bool:
    """An EPC class (an LGTIN, a GTIN alone) rather than an instance."""
    if text.startswith("urn:epc:class:"):
        return True
    canonical = location(text) or text
    parts = canonical.removeprefix("https://id.gs1.org/").split("/")
    return canonical.startswith("https://id.gs1.org/01/") and (
        len(parts) == 2 or (len(parts) == 4 and parts[2] == "10"))


def _raw_path_tail(marker: str, decoded: str, suffix: str = "") -> str:
    """The path segment as the client sent it, decoded once: the WSGI path keeps a ``%2F``
    decoded already, but a server may merge ``//``; RAW_URI / REQUEST_URI keep the original."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str):
        path = raw.split("?", 1)[0]
        start = path.find(marker)
        if start >= 0:
            tail = path[start + len(marker):]
            if suffix and tail.endswith(suffix):
                tail = tail[:-len(suffix)]
            return unquote(tail)
    return decoded


def _collection(values: Callable[..., list[str]]) -> Response:
    session = get_session()
    viewer = authenticated_viewer(session)
    members = values(session, viewer=viewer)
    session.commit()
    return _answer({"@context": epcis.query_context([]), "type": "Collection",
                    "member": members})


@blp.get("/eventTypes")
@blp.doc(security=BEARER, responses={"200": {
    "description": "the event types of the events the caller may see",
    "content": {"application/json": {"schema": _COLLECTION_SCHEMA}}}, **_ERRORS})
def event_types() -> Response:
    """The event types in use (among the events the caller may see)."""
    return _collection(epcis.event_types)


@blp.get("/bizSteps")
@blp.doc(security=BEARER, responses={"200": {
    "description": "the bizSteps of the events the caller may see (CBV ones as bare words)",
    "content": {"application/json": {"schema": _COLLECTION_SCHEMA}}}, **_ERRORS})
def biz_steps() -> Response:
    """The bizSteps in use (among the events the caller may see)."""
    return _collection(epcis.biz_steps)
