"""Rules for unit codes: serialising a lot's units, and aggregating codes into a parent
(unit -> case -> pallet)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledger.errors import LedgerError, render_field
from ledger.supervision.context import RecordContext, unit_code
from ledger.supervision.models import AggregationRow, ProductRow, UnitRow
from ledger.supervision.quantity import COUNTED_UNITS
from ledger.supervision.rules import RuleViolation
from ledger.supervision.unit_codes import code_numbers

__all__ = ["aggregation", "serialization"]

def serialization(a: RecordContext) -> None:
    """Give serial numbers to units of a lot; each unit code is new.

    ``codes``, when given, holds each unit's supervision code in the order of ``serials``:
    each is well formed, carries the number of the lot's product, and a unit number above
    every one the product used before (rising through the entry), so no code is issued twice.
    """
    gtin, lot = a.text("gtin"), a.text("lot")
    row = a.lot(gtin, lot)
    serials: Sequence[Any] = a.payload.get("serials", [])
    # A code for a unit that was never made is a code a counterfeit could wear.
    if row.unit in COUNTED_UNITS and row.serialized + len(serials) > Decimal(row.quantity):
        raise RuleViolation("unit.exceeds_lot", a.field("serials"), gtin=gtin, lot=lot,
                            quantity=row.quantity, unit=row.unit, serialized=row.serialized,
                            count=len(serials))
    codes = _supervision_codes(a, gtin, serials)
    units: dict[str, dict[str, Any]] = {}
    for index, serial in enumerate(serials):
        code = unit_code(gtin, str(serial))
        if code in units or a.rows.exists(UnitRow, code):
            raise RuleViolation("unit.duplicate", a.field("serials", index), code=code)
        units[code] = {"code": code, "gtin": gtin, "lot": lot, "parent": None,
                       "seq": a.entry.seq, "supervision_code": codes[index] if codes else None}
    a.rows.add_new(UnitRow, list(units.values()))
    row.serialized += len(serials)
    a.record(gtin=gtin, lot=lot, quantity=str(len(serials)), unit="pcs")


def _supervision_codes(a: RecordContext, gtin: str,
                       serials: Sequence[Any]) -> Sequence[str] | None:
    """The entry's supervision codes, checked, with the product's numbers moved on past them."""
    codes = a.payload.get("codes")
    if codes is None:
        return None
    if not isinstance(codes, list):
        path = a.field("codes")
        raise LedgerError(f"{render_field(path)} must be a list", field=path)
    if len(codes) != len(serials):
        raise RuleViolation("unit.codes_mismatch", a.field("codes"), codes=len(codes),
                            serials=len(serials))
    product: ProductRow = a.product(gtin)
    issued = product.units_issued
    for index, code in enumerate(codes):
        numbers = code_numbers(code)
        if numbers is None:
            raise RuleViolation("unit.code_malformed", a.field("codes", index), code=code)
        number, unit = numbers
        if number != product.number:
            raise RuleViolation("unit.code_wrong_product", a.field("codes", index), code=code,
                                got=number, gtin=gtin, expected=product.number)
        if unit <= issued:
            raise RuleViolation("unit.code_reused", a.field("codes", index), code=code,
                                unit=unit, issued=issued)
        issued = unit
    product.units_issued = issued
    return codes


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
