"""Rules for captured EPCIS 2.0 events: the ``epcis`` reference a record carries, the
``epcis_event`` record type, and the refusal of a second capture of the same event.

Every record an EPCIS event becomes carries ``payload.epcis`` = ``{"hash_id", "event_id",
"part", "parts"}`` (part 0 also ``event``: the event as received). The CBV 2.0 event hash ID of
part 0 goes into the ``epcis_captured`` projection, so the same event captured again (even in
another document, or with only ignored fields changed) is refused by rule ``epcis.duplicate``.
An event that maps to no native record is an ``epcis_event``: signed by the enterprise that
owns it and otherwise unchecked, so nothing a client sends is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ledger.supervision.context import RecordContext
from ledger.supervision.models import EpcisCapturedRow
from ledger.supervision.rules import RuleViolation

__all__ = ["EPCIS_FIELD", "HASH_ID", "epcis_event", "epcis_reference"]

#: the payload field that ties a record to the EPCIS event it was captured from
EPCIS_FIELD = "epcis"
#: a CBV 2.0 event hash ID
HASH_ID = re.compile(r"ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0")


def epcis_reference(a: RecordContext) -> None:
    """Check the record's ``epcis`` reference, if it has one; the first part of an event
    claims its hash ID (rule ``epcis.duplicate`` when it was captured before)."""
    reference = a.payload.get(EPCIS_FIELD)
    if reference is None:
        return
    if not isinstance(reference, Mapping):
        raise RuleViolation("epcis.malformed", a.field(EPCIS_FIELD), field_name="epcis",
                            problem="expected an object")
    hash_id, event_id = reference.get("hash_id"), reference.get("event_id")
    part, parts = reference.get("part"), reference.get("parts")
    if not isinstance(hash_id, str) or not HASH_ID.fullmatch(hash_id):
        raise RuleViolation("epcis.malformed", a.field(EPCIS_FIELD, "hash_id"),
                            field_name="hash_id", problem="expected ni:///sha-256;…?ver=CBV2.0")
    if not isinstance(event_id, str) or not event_id:
        raise RuleViolation("epcis.malformed", a.field(EPCIS_FIELD, "event_id"),
                            field_name="event_id", problem="expected a non-empty string")
    if not isinstance(part, int) or not isinstance(parts, int) or not _count(parts) \
            or not _count(part, 0) or part >= parts:
        raise RuleViolation("epcis.malformed", a.field(EPCIS_FIELD, "part"),
                            field_name="part", problem=f"part {part} of {parts}")
    if part != 0:
        return
    if not isinstance(reference.get("event"), Mapping):
        raise RuleViolation("epcis.malformed", a.field(EPCIS_FIELD, "event"),
                            field_name="event", problem="part 0 carries the event as received")
    earlier = a.rows.get(EpcisCapturedRow, hash_id)
    if earlier is not None:
        raise RuleViolation("epcis.duplicate", a.field(EPCIS_FIELD, "hash_id"),
                            hash_id=hash_id, seq=earlier.seq)
    a.rows.add(EpcisCapturedRow(hash_id=hash_id, event_id=event_id, seq=a.entry.seq,
                                enterprise=a.enterprise))


def _count(value: Any, least: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def epcis_event(a: RecordContext) -> None:
    """An EPCIS event kept as captured: its ``epcis`` reference is all it holds."""
    if a.payload.get(EPCIS_FIELD) is None:
        raise RuleViolation("epcis.malformed", a.field(EPCIS_FIELD), field_name="epcis",
                            problem="an epcis_event carries its event")
    a.record()
