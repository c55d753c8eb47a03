"""The EPCIS index: every ledger entry that is an EPCIS event, by what the standard queries ask.

A *reader* projection with its own cursor (``epcis_index_state.next_seq``), not one of the
supervision projections the rules read: :func:`catch_up` indexes the entries appended since
it last ran (the query service calls it before each query, so an answer covers the whole
ledger), and :func:`rebuild` empties it to be refilled from seq 0. Two sources of events:

- a record captured through ``/epcis`` carries ``payload.epcis`` (``hash_id``, ``event_id``,
  ``part``, ``parts``; part 0 also the ``event`` exactly as received): part 0 is indexed as
  that event, the other parts belong to it and are not events of their own;
- a native record of a type :mod:`ledger.epcis.render` renders is indexed as the event it
  renders to, kept here as rendered (``native``), so its eventID (its hash ID) stays what it
  was even if the enterprise registers a GLN later. A ``correction`` is the event its
  replacement renders to, and marks the record it supersedes (``corrected_by``): that event is
  served with an ``errorDeclaration`` naming the corrective event.

Each event has a row in ``epcis_index_events`` (type, action, times as instants in
microseconds since the epoch, bizStep and disposition as bare CBV words where they are CBV
ones, readPoint and bizLocation in canonical GS1 Digital Link form, the enterprise, the event
ID and the hash ID), its identifiers in ``epcis_index_epcs`` by role (``epc``: epcList and
childEPCs; ``parent``; ``input``; ``output``; ``class``: quantityList and childQuantityList;
``input_class``; ``output_class``) and its ILMD's simple values in ``epcis_index_ilmd`` (names
as full URIs: ``urn:epcglobal:cbv:mda:lotNumber``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    String,
    Text,
    column,
    delete,
    func,
    insert,
    inspect,
    select,
    table,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import Base, hold_writer_lock
from ledger.epcis.hashing import DEFAULT_PREFIXES
from ledger.epcis.identifiers import canonical_gs1_uri
from ledger.epcis.render import RENDERED_TYPES, render_record
from ledger.log.storage import EntryRow
from ledger.supervision.models import RecordRow
from ledger.supervision.names import CORRECTION

__all__ = [
    "EPCISEventRow",
    "EPCISIlmdRow",
    "EPCISIndexState",
    "EPCISKeyRow",
    "ROLES",
    "catch_up",
    "epc_keys",
    "ilmd_name",
    "instant",
    "location",
    "rebuild",
    "vocabulary",
]

#: entries read per round of a catch-up
BATCH = 2000


class EPCISIndexState(Base):
    """The index's cursor: the first seq it has not looked at yet."""

    __tablename__ = "epcis_index_state"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_seq: Mapped[int] = mapped_column(BigInteger)


class EPCISEventRow(Base):
    """One EPCIS event: the entry it is (part 0 of a captured one) and what queries filter."""

    __tablename__ = "epcis_index_events"
    __table_args__ = (Index("ix_epcis_index_events_event_time", "event_time", "seq"),
                      Index("ix_epcis_index_events_record_time", "record_time", "seq"))

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(1000), index=True)
    hash_id: Mapped[str] = mapped_column(String(200), index=True)
    event_type: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str | None] = mapped_column(String(10), nullable=True)
    #: microseconds since 1970-01-01T00:00:00Z
    event_time: Mapped[int] = mapped_column(BigInteger)
    record_time: Mapped[int] = mapped_column(BigInteger)
    biz_step: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    disposition: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    read_point: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    biz_location: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    #: the enterprise whose entry it is
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    #: whether it was captured (served as stored) or rendered from a native record
    captured: Mapped[bool] = mapped_column(Boolean)
    #: a native record's event as rendered when indexed (JSON); None for a captured one
    native: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: whether the event came with an errorDeclaration of its own
    error_declared: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the correction entry that superseded the record, if one did
    corrected_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: the correction's reason, for the errorDeclaration
    correction_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class EPCISKeyRow(Base):
    """An identifier an event names, in one of the roles the MATCH_ parameters ask for."""

    __tablename__ = "epcis_index_epcs"

    value: Mapped[str] = mapped_column(String(1000), primary_key=True)
    role: Mapped[str] = mapped_column(String(12), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class EPCISIlmdRow(Base):
    """A simple value of an event's ILMD (instance / lot master data), by its full name."""

    __tablename__ = "epcis_index_ilmd"

    name: Mapped[str] = mapped_column(String(500), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


#: the roles of :class:`EPCISKeyRow`, by the event field that names them
ROLES: Mapping[str, str] = {
    "epcList": "epc", "childEPCs": "epc", "parentID": "parent", "inputEPCList": "input",
    "outputEPCList": "output", "quantityList": "class", "childQuantityList": "class",
    "inputQuantityList": "input_class", "outputQuantityList": "output_class"}

_STATE = "events"
_VOCABULARY = {
    "bizStep": ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:",
                "cbv:BizStep-", "gs1:BizStep-"),
    "disposition": ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:", "cbv:Disp-",
                    "gs1:Disp-"),
}
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
                   r"([Zz]|[+-]\d{2}:\d{2})?")


def vocabulary(field: str, value: object) -> str | None:
    """A bizStep or disposition as the index keeps it: a CBV one as its bare word (whichever
    way it was written: ``shipping``, its web URI, its CBV 1.x URN, a CURIE), another as it is."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    for prefix in _VOCABULARY[field]:
        if value.startswith(prefix) and len(value) > len(prefix):
            return value[len(prefix):]
    return value


def location(value: object) -> str | None:
    """A readPoint / bizLocation id or an EPC as the index keeps it: GS1 keys in canonical
    Digital Link form (an SGLN URN and its Digital Link are one place), anything else as is."""
    if not isinstance(value, str) or not value.strip():
        return None
    return canonical_gs1_uri(value.strip()) or value.strip()


def instant(text: str) -> int:
    """An RFC 3339 time as microseconds since the epoch; a time without a zone is UTC.

    Raises ValueError when ``text`` is not a time.
    """
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    date, hour, minute, second, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z", "z") else zone
    moment = datetime.fromisoformat(f"{date}T{hour}:{minute}:{second}{zone}")
    micros = int(((fraction or "") + "000000")[:6])
    return int(moment.astimezone(UTC).timestamp()) * 1_000_000 + micros


def ilmd_name(name: str, prefixes: Mapping[str, str] | None = None) -> str:
    """An ILMD field name in full: a CURIE expanded (``cbvmda:lotNumber`` ->
    ``urn:epcglobal:cbv:mda:lotNumber``), a bare CBV master-data name likewise."""
    known = {**DEFAULT_PREFIXES, **(prefixes or {})}
    prefix, colon, local = name.partition(":")
    if colon and prefix in known and not local.startswith("//"):
        return known[prefix] + local
    if not colon:
        return DEFAULT_PREFIXES["cbvmda"] + name
    return name


def epc_keys(event: Mapping[str, Any], *, canonical: bool = False
             ) -> Iterator[tuple[str, str]]:
    """(role, canonical value) of every identifier ``event`` names; ``canonical`` when they
    are in canonical form already (a rendered native event's are)."""
    normal = (lambda value: value if isinstance(value, str) and value else None
              ) if canonical else location
    for field, role in ROLES.items():
        value = event.get(field)
        if field == "parentID":
            if (key := normal(value)) is not None:
                yield role, key
            continue
        if not isinstance(value, list):
            continue
        for item in value:
            raw = item.get("epcClass") if isinstance(item, Mapping) else item
            if (key := normal(raw)) is not None:
                yield role, key


def _context_prefixes(context: object) -> dict[str, str]:
    """The prefixes an event's (or a document's) @context defines."""
    found: dict[str, str] = {}
    for part in context if isinstance(context, list) else [context]:
        if isinstance(part, Mapping):
            found.update({k: v for k, v in part.items() if isinstance(v, str)})
    return found


def _ilmd(event: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    ilmd = event.get("ilmd")
    if not isinstance(ilmd, Mapping):
        return
    prefixes = _context_prefixes(event.get("@context"))
    for name, value in ilmd.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, str | int | float) and len(str(value)) <= 1000:
            yield ilmd_name(name, prefixes), str(value)


def _event_row(seq: int, event: Mapping[str, Any], *, enterprise: str, recorded_at: str,
               fallback_time: str, hash_id: str, event_id: str,
               native: str | None) -> dict[str, Any]:
    try:
        event_time = instant(str(event.get("eventTime", "")))
    except ValueError:
        event_time = instant(fallback_time)
    read_point = event.get("readPoint")
    biz_location = event.get("bizLocation")
    return {
        "seq": seq, "event_id": event_id[:1000], "hash_id": hash_id[:200],
        "event_type": str(event.get("type", ""))[:200],
        "action": event.get("action") if isinstance(event.get("action"), str) else None,
        "event_time": event_time, "record_time": instant(recorded_at),
        "biz_step": vocabulary("bizStep", event.get("bizStep")),
        "disposition": vocabulary("disposition", event.get("disposition")),
        "read_point": location(read_point.get("id")) if isinstance(read_point, Mapping)
        else None,
        "biz_location": location(biz_location.get("id")) if isinstance(biz_location, Mapping)
        else None,
        "enterprise": enterprise, "captured": native is None, "native": native,
        "error_declared": isinstance(event.get("errorDeclaration"), Mapping),
        "corrected_by": None, "correction_reason": None,
    }


class _GlnsAsOf(Mapping[str, str]):
    """Each enterprise's GLN as the ledger stood before ``seq``: the first it registered (the
    lowest seq, then the lowest number), so an event renders the same on every rebuild."""

    def __init__(self, registered: Mapping[str, list[tuple[int, str]]], seq: int) -> None:
        self._registered, self._seq = registered, seq

    def __getitem__(self, enterprise: str) -> str:
        for seq, value in self._registered.get(enterprise, ()):
            if seq < self._seq:
                return value
        raise KeyError(enterprise)

    def __iter__(self) -> Iterator[str]:
        return (enterprise for enterprise in self._registered if enterprise in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _gs1_keys(session: Session) -> dict[str, list[tuple[int, str]]]:
    """The GLNs each enterprise registered (``epcis-capture``'s ``enterprise_gs1_keys``), with
    the seq that registered them, in registration order."""
    if not inspect(session.connection()).has_table("enterprise_gs1_keys"):
        return {}
    keys = table("enterprise_gs1_keys", column("kind"), column("value"), column("enterprise"),
                 column("seq"))
    glns: dict[str, list[tuple[int, str]]] = {}
    for enterprise, seq, value in session.execute(
            select(keys.c.enterprise, keys.c.seq, keys.c.value).where(keys.c.kind == "gln")
            .order_by(keys.c.enterprise, keys.c.seq, keys.c.value)):
        glns.setdefault(enterprise, []).append((int(seq), str(value)))
    return glns


def _state(session: Session, *, lock: bool) -> EPCISIndexState:
    query = select(EPCISIndexState).where(EPCISIndexState.name == _STATE)
    state = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if state is None:
        state = EPCISIndexState(name=_STATE, next_seq=0)
        session.add(state)
        session.flush()
    return state


def catch_up(session: Session) -> int:
    """Index every entry past the cursor; return how many entries were looked at.

    Cheap when there is nothing new (two primary-key reads, no lock). Otherwise it takes the
    writer lock (SQLite) or the cursor's row lock (PostgreSQL), so two workers never index the
    same entries; the caller commits.
    """
    head = session.scalar(select(func.max(EntryRow.seq)))
    if head is None:
        return 0
    known = session.scalar(select(EPCISIndexState.next_seq)
                           .where(EPCISIndexState.name == _STATE))
    if known is not None and known > head:
        return 0
    hold_writer_lock(session)
    state = _state(session, lock=True)
    start = state.next_seq
    glns: dict[str, list[tuple[int, str]]] | None = None
    while state.next_seq <= head:
        rows = session.execute(
            select(EntryRow.seq, EntryRow.type, EntryRow.body)
            .where(EntryRow.seq >= state.next_seq, EntryRow.seq <= head)
            .order_by(EntryRow.seq).limit(BATCH)).all()
        if not rows:
            break
        if glns is None:
            glns = _gs1_keys(session)
        _index_batch(session, rows, glns)
        state.next_seq = rows[-1].seq + 1
        session.flush()
    return state.next_seq - start


def _index_batch(session: Session, rows: Sequence[Any],
                 glns: Mapping[str, list[tuple[int, str]]]) -> None:
    corrections = [row.seq for row in rows if row.type == CORRECTION]
    corrected_types = dict(session.execute(
        select(RecordRow.seq, RecordRow.type).where(RecordRow.seq.in_(corrections)))
        .all()) if corrections else {}
    events: list[dict[str, Any]] = []
    keys: set[tuple[str, str, int]] = set()
    ilmd: set[tuple[str, str, int]] = set()
    superseded: list[tuple[int, int, str | None]] = []
    for row in rows:
        body = json.loads(row.body)
        payload = body.get("payload")
        if not isinstance(payload, Mapping):
            continue
        found = _entry_event(row.seq, row.type, body, payload, corrected_types,
                             _GlnsAsOf(glns, row.seq))
        if found is None:
            continue
        event, entry_row = found
        events.append(entry_row)
        keys |= {(value[:1000], role, row.seq)
                 for role, value in epc_keys(event, canonical=not entry_row["captured"])}
        ilmd |= {(name[:500], value, row.seq) for name, value in _ilmd(event)}
        if row.type == CORRECTION and isinstance(payload.get("seq"), int):
            reason = payload.get("reason")
            superseded.append((payload["seq"], row.seq, reason if isinstance(reason, str)
                               else None))
    connection = session.connection()  # plain executemany: no ORM bookkeeping per row
    if events:
        connection.execute(insert(EPCISEventRow), events)
    if keys:
        connection.execute(insert(EPCISKeyRow), [
            {"value": value, "role": role, "seq": seq} for value, role, seq in keys])
    if ilmd:
        connection.execute(insert(EPCISIlmdRow), [
            {"name": name, "value": value, "seq": seq} for name, value, seq in ilmd])
    for target, by, reason in superseded:
        row = session.get(EPCISEventRow, target)
        if row is not None:
            row.corrected_by = by
            row.correction_reason = reason


def _entry_event(seq: int, type_: str, body: Mapping[str, Any], payload: Mapping[str, Any],
                 corrected_types: Mapping[int, str], glns: Mapping[str, str]
                 ) -> tuple[Mapping[str, Any], dict[str, Any]] | None:
    """The event an entry is, and its index row; None when it is none (or a later part)."""
    enterprise, recorded_at = str(body.get("enterprise", "")), str(body.get("recorded_at"))
    event_time = str(body.get("event_time", recorded_at))
    captured = payload.get("epcis")
    if type_ == CORRECTION:
        replacement = payload.get("replacement")
        captured = replacement.get("epcis") if isinstance(replacement, Mapping) else None
    if isinstance(captured, Mapping):
        if captured.get("part", 0) != 0 or not isinstance(captured.get("event"), Mapping):
            return None
        event = captured["event"]
        hash_id = str(captured.get("hash_id", ""))
        event_id = str(captured.get("event_id") or hash_id)
        return event, _event_row(seq, event, enterprise=enterprise, recorded_at=recorded_at,
                                 fallback_time=event_time, hash_id=hash_id,
                                 event_id=event_id, native=None)
    record_type, record = type_, payload
    if type_ == CORRECTION:
        replacement = payload.get("replacement")
        if seq not in corrected_types or not isinstance(replacement, Mapping):
            return None
        record_type, record = corrected_types[seq], replacement
    if record_type not in RENDERED_TYPES:
        return None
    try:
        event = render_record(type_=record_type, payload=record, enterprise=enterprise,
                              event_time=event_time, seq=seq, glns=glns)
    except (KeyError, TypeError, ValueError):  # a record its schema let through oddly shaped
        return None
    if event is None:
        return None
    return event, _event_row(seq, event, enterprise=enterprise, recorded_at=recorded_at,
                             fallback_time=event_time, hash_id=event["eventID"],
                             event_id=event["eventID"],
                             native=json.dumps(event, ensure_ascii=False,
                                               separators=(",", ":")))


def rebuild(session: Session) -> int:
    """Empty the index and index the whole ledger again; return the entries looked at."""
    hold_writer_lock(session)
    for model in (EPCISIlmdRow, EPCISKeyRow, EPCISEventRow):
        session.execute(delete(model))
    _state(session, lock=True).next_seq = 0
    session.flush()
    return catch_up(session)
