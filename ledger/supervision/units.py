"""Rules for unit codes: serialising a lot's units, and aggregating codes into a parent
(unit -> case -> pallet)."""

from __future__ import annotations

from ledger.supervision.context import RecordContext, unit_code
from ledger.supervision.models import AggregationRow, UnitRow
from ledger.supervision.rules import RuleViolation

__all__ = ["aggregation", "serialization"]


def serialization(a: RecordContext) -> None:
    """Give serial numbers to units of a lot; each unit code is new."""
    gtin, lot = a.text("gtin"), a.text("lot")
    a.lot(gtin, lot)
    for index, serial in enumerate(a.payload.get("serials", [])):
        code = unit_code(gtin, str(serial))
        if a.rows.get(UnitRow, code) is not None:
            raise RuleViolation("unit.duplicate", a.field("serials", index), code=code)
        a.rows.add(UnitRow(code=code, gtin=gtin, lot=lot, parent=None, seq=a.entry.seq))
    a.record(gtin=gtin, lot=lot, quantity=str(len(a.payload.get("serials", []))), unit="pcs")


def aggregation(a: RecordContext) -> None:
    """Pack known unit codes into a parent code (a case or an SSCC pallet)."""
    parent = a.text("parent")
    children = [a.rows.get(UnitRow, str(code)) for code in a.payload.get("children", [])]
    for index, child in enumerate(children):
        if child is None:
            raise RuleViolation("unit.unknown", a.field("children", index),
                                code=a.payload["children"][index])
    if a.rows.get(UnitRow, parent) is None:
        a.rows.add(UnitRow(code=parent, gtin=None, lot=None, parent=None, seq=a.entry.seq))
    packed: set[str] = set()
    for child in children:
        assert child is not None  # noqa: S101 - checked above
        child.parent = parent
        if child.code not in packed:  # a code listed twice is packed once
            packed.add(child.code)
            a.rows.add(AggregationRow(child=child.code, seq=a.entry.seq, parent=parent))
    a.record(document_no=parent, quantity=str(len(children)), unit="pcs")
