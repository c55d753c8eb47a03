"""EPCIS 2.0 queries over the index (:mod:`ledger.epcis.index`): the events a caller may see,
filtered as the standard's SimpleEventQuery parameters say, ordered and paged by key.

Each query first brings the index up to the ledger's head (:func:`~ledger.epcis.index.
catch_up`). Events are served as EPCIS 2.0 JSON-LD: a captured one exactly as received plus
its ``eventID`` (the client's, or its hash ID when it had none) and ``recordTime``, and
``tracenet:eventHashID`` with its CBV 2.0 hash ID when the client's eventID was kept; a native
record as :mod:`ledger.epcis.render` rendered it (its eventID is its hash ID) plus
``recordTime``. An event whose record a ``correction`` superseded carries an
``errorDeclaration`` naming the corrective event. Documents (:func:`query_document`,
:func:`epcis_document`) declare ``tracenet:ignoreFields`` = ``["tracenet:eventHashID"]``, the
hash vectors' extension, so a client recomputing each event's hash ID from the document gets
the ID it was stored under.

Visibility is the API's (``GET /api/v1/events``): ``viewer`` None sees every event; one
enterprise, or a district bureau's set of them, the events whose entry one of them made or
whose record names one of them as counterparty.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ledger.epcis.index import (
    EPCISEventRow,
    EPCISIlmdRow,
    EPCISKeyRow,
    catch_up,
    instant,
    location,
    vocabulary,
)
from ledger.epcis.render import CONTEXT, TRACENET_PREFIX
from ledger.errors import ForbiddenError, NotFoundError
from ledger.log.storage import EntryRow
from ledger.supervision.models import RecordRow
from ledger.supervision.queries import Viewer, viewer_matches

__all__ = [
    "HASH_FIELD",
    "MATCH_ROLES",
    "ORDER_FIELDS",
    "EventFilter",
    "EventPage",
    "biz_steps",
    "epcis_document",
    "event_types",
    "every_event",
    "find_events",
    "get_event",
    "query_context",
    "query_document",
]

#: the extension field that carries a captured event's hash ID when its client eventID was kept
HASH_FIELD = f"{TRACENET_PREFIX}:eventHashID"

#: MATCH_ parameter -> the index roles it looks in (EPCIS 2.0, 8.2.7.1)
MATCH_ROLES: Mapping[str, tuple[str, ...]] = {
    "MATCH_epc": ("epc",),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input",),
    "MATCH_outputEPC": ("output",),
    "MATCH_anyEPC": ("epc", "parent", "input", "output"),
    "MATCH_epcClass": ("class",),
    "MATCH_inputEPCClass": ("input_class",),
    "MATCH_outputEPCClass": ("output_class",),
    "MATCH_anyEPCClass": ("class", "input_class", "output_class"),
}

#: orderBy value -> the index column
ORDER_FIELDS = {"eventTime": EPCISEventRow.event_time, "recordTime": EPCISEventRow.record_time}


@dataclass(frozen=True)
class EventFilter:
    """What a query asks, each field one standard parameter; every value list is an OR, the
    fields an AND. Times are instants (microseconds since the epoch, see
    :func:`~ledger.epcis.index.instant`)."""

    event_types: tuple[str, ...] = ()
    ge_event_time: int | None = None
    lt_event_time: int | None = None
    ge_record_time: int | None = None
    lt_record_time: int | None = None
    actions: tuple[str, ...] = ()
    biz_steps: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    read_points: tuple[str, ...] = ()
    biz_locations: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    #: MATCH_ parameter name -> its values (EPC URIs, Digital Links, ``urn:epc:idpat:`` patterns)
    match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: full ILMD field name -> its values
    ilmd: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exists_error_declaration: bool = False


@dataclass(frozen=True)
class EventPage:
    """One page of events; ``after`` is the key to continue from (None on the last page)."""

    events: list[dict[str, Any]]
    after: tuple[int, int] | None


def _visible(viewer: str | Set[str]) -> ColumnElement[bool]:
    return or_(viewer_matches(EPCISEventRow.enterprise, viewer),
               EPCISEventRow.seq.in_(select(RecordRow.seq).where(
                   viewer_matches(RecordRow.counterparty, viewer))))


def _identifier_condition(column: InstrumentedAttribute[str], text: str
                          ) -> ColumnElement[bool]:
    """An EPC (or class) equal to ``text``, or under it when ``text`` is an EPC pattern."""
    if text.startswith("urn:epc:idpat:"):
        stem = location(text)
        if stem is None or stem == text:
            return column == text
        # a pattern's fixed part, as a prefix of canonical Digital Links
        return or_(column == stem, func.substr(column, 1, len(stem) + 1) == stem + "/")
    return column == (location(text) or text)


def _key_match(roles: Sequence[str], values: Iterable[str]) -> ColumnElement[bool]:
    conditions = [_identifier_condition(EPCISKeyRow.value, value) for value in values]
    return EPCISEventRow.seq.in_(select(EPCISKeyRow.seq).where(
        EPCISKeyRow.role.in_(roles), or_(*conditions)))


def _where(query: Select[Any], f: EventFilter) -> Select[Any]:
    e = EPCISEventRow
    if f.event_types:
        query = query.where(e.event_type.in_(f.event_types))
    for column, bound, lower in ((e.event_time, f.ge_event_time, True),
                                 (e.event_time, f.lt_event_time, False),
                                 (e.record_time, f.ge_record_time, True),
                                 (e.record_time, f.lt_record_time, False)):
        if bound is not None:
            query = query.where(column >= bound if lower else column < bound)
    if f.actions:
        query = query.where(e.action.in_(f.actions))
    if f.biz_steps:
        query = query.where(e.biz_step.in_(
            [vocabulary("bizStep", step) or step for step in f.biz_steps]))
    if f.dispositions:
        query = query.where(e.disposition.in_(
            [vocabulary("disposition", d) or d for d in f.dispositions]))
    if f.read_points:
        query = query.where(e.read_point.in_([location(p) or p for p in f.read_points]))
    if f.biz_locations:
        query = query.where(e.biz_location.in_([location(p) or p for p in f.biz_locations]))
    if f.event_ids:
        query = query.where(or_(e.event_id.in_(f.event_ids), e.hash_id.in_(f.event_ids)))
    for name, values in f.match.items():
        query = query.where(_key_match(MATCH_ROLES[name], values))
    for name, values in f.ilmd.items():
        query = query.where(e.seq.in_(select(EPCISIlmdRow.seq).where(
            EPCISIlmdRow.name == name, EPCISIlmdRow.value.in_(values))))
    if f.exists_error_declaration:
        query = query.where(or_(e.error_declared.is_(True), e.corrected_by.is_not(None)))
    return query


def find_events(session: Session, query: EventFilter, *, viewer: Viewer, limit: int,
                order_by: str = "recordTime", descending: bool = False,
                after: tuple[int, int] | None = None) -> EventPage:
    """One page of the events ``viewer`` may see that match ``query``, ordered by
    ``order_by`` (``eventTime`` or ``recordTime``; ties by ledger order) and continuing after
    the key ``after`` of the previous page."""
    catch_up(session)
    column = ORDER_FIELDS[order_by]
    statement = _where(select(EPCISEventRow), query)
    if viewer is not None:
        statement = statement.where(_visible(viewer))
    if after is not None:
        key, seq = after
        statement = statement.where(
            or_(column < key, and_(column == key, EPCISEventRow.seq < seq)) if descending
            else or_(column > key, and_(column == key, EPCISEventRow.seq > seq)))
    order = (column.desc(), EPCISEventRow.seq.desc()) if descending else (
        column, EPCISEventRow.seq)
    rows = list(session.scalars(statement.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows and more else None
    return EventPage(_serve(session, rows),
                     (getattr(last, column.key), last.seq) if last is not None else None)


def every_event(session: Session, query: EventFilter, *, viewer: Viewer,
                order_by: str = "recordTime") -> Iterator[dict[str, Any]]:
    """Every event ``viewer`` may see that matches ``query``, a page at a time."""
    after: tuple[int, int] | None = None
    while True:
        page = find_events(session, query, viewer=viewer, limit=1000, order_by=order_by,
                           after=after)
        yield from page.events
        if page.after is None:
            return
        after = page.after


def get_event(session: Session, event_id: str, *, viewer: Viewer) -> dict[str, Any]:
    """The event whose eventID or hash ID is ``event_id``.

    Raises NotFoundError when there is none, ForbiddenError when ``viewer`` may not see it.
    """
    catch_up(session)
    rows = list(session.scalars(select(EPCISEventRow).where(or_(
        EPCISEventRow.event_id == event_id, EPCISEventRow.hash_id == event_id))
        .order_by(EPCISEventRow.seq)))
    if not rows:
        raise NotFoundError(f"no EPCIS event {event_id!r}", field="eventID")
    if viewer is not None:
        seen = set(session.scalars(select(EPCISEventRow.seq).where(
            EPCISEventRow.seq.in_([row.seq for row in rows]), _visible(viewer))))
        rows = [row for row in rows if row.seq in seen]
        if not rows:
            raise ForbiddenError(f"event {event_id!r} is another enterprise's",
                                 field="eventID")
    return _serve(session, rows[:1])[0]


def _distinct(session: Session, column: Any, viewer: Viewer) -> list[str]:
    catch_up(session)
    statement = select(column).where(column.is_not(None)).distinct().order_by(column)
    if viewer is not None:
        statement = statement.where(_visible(viewer))
    return [value for value in session.scalars(statement)]


def event_types(session: Session, *, viewer: Viewer) -> list[str]:
    """The event types of the events ``viewer`` may see."""
    return _distinct(session, EPCISEventRow.event_type, viewer)


def biz_steps(session: Session, *, viewer: Viewer) -> list[str]:
    """The bizSteps of the events ``viewer`` may see (CBV ones as bare words)."""
    return _distinct(session, EPCISEventRow.biz_step, viewer)


def _time_text(micros: int) -> str:
    moment = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(
        microsecond=micros % 1_000_000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _serve(session: Session, rows: Sequence[EPCISEventRow]) -> list[dict[str, Any]]:
    """The events of ``rows``, in their order, as served."""
    captured = [row.seq for row in rows if row.captured]
    bodies = dict(session.execute(select(EntryRow.seq, EntryRow.body)
                                  .where(EntryRow.seq.in_(captured))).all()
                  ) if captured else {}
    correctors = {row.corrected_by for row in rows if row.corrected_by is not None}
    corrective = {row.seq: row for row in session.scalars(
        select(EPCISEventRow).where(EPCISEventRow.seq.in_(correctors)))} if correctors else {}
    served = []
    for row in rows:
        if row.captured:
            payload = json.loads(bodies[row.seq])["payload"]
            reference = payload.get("epcis") or payload.get("replacement", {}).get("epcis")
            event = dict(reference["event"])
            event["eventID"] = row.event_id
            if row.event_id != row.hash_id:
                event[HASH_FIELD] = row.hash_id
        else:
            event = json.loads(row.native or "{}")
        event["recordTime"] = _time_text(row.record_time)
        fixer = corrective.get(row.corrected_by) if row.corrected_by is not None else None
        if fixer is not None and "errorDeclaration" not in event:
            declaration: dict[str, Any] = {
                "declarationTime": _time_text(fixer.record_time), "reason": "incorrect_data",
                "correctiveEventIDs": [fixer.event_id]}
            if row.correction_reason:
                declaration[f"{TRACENET_PREFIX}:reason"] = row.correction_reason
            event["errorDeclaration"] = declaration
        served.append(event)
    return served


def query_context(events: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Tracenet's context, plus the prefixes captured events brought in their own."""
    extra: dict[str, str] = {}
    for event in events:
        own = event.get("@context")
        for part in own if isinstance(own, list) else [own]:
            if isinstance(part, Mapping):
                extra.update({k: v for k, v in part.items() if isinstance(v, str)})
    base: dict[str, str] = dict(CONTEXT[1])
    extra = {k: v for k, v in extra.items() if k not in base}
    return [CONTEXT[0], {**base, **extra}]


def query_document(events: list[dict[str, Any]], *, now: datetime) -> dict[str, Any]:
    """An EPCISQueryDocument holding ``events`` (a SimpleEventQuery's results)."""
    return {"@context": query_context(events), "type": "EPCISQueryDocument",
            "schemaVersion": "2.0", "creationDate": _time_text(_micros(now)),
            "epcisBody": {"queryResults": {
                "queryName": "SimpleEventQuery",
                f"{TRACENET_PREFIX}:ignoreFields": [HASH_FIELD],
                "resultsBody": {"eventList": events}}}}


def epcis_document(events: list[dict[str, Any]], *, now: datetime) -> dict[str, Any]:
    """An EPCISDocument holding ``events``, as a capture interface takes it."""
    return {"@context": query_context(events), "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": _time_text(_micros(now)),
            f"{TRACENET_PREFIX}:ignoreFields": [HASH_FIELD],
            "epcisBody": {"eventList": events}}


def _micros(moment: datetime) -> int:
    return instant(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

