"""Rules for lots: material intake, production from input lots, and inspection.

"Unqualified material does not enter": a lot rejected at intake or failing inspection may not
go into a production.
"""

from __future__ import annotations

from decimal import Decimal

from ledger.supervision.context import RecordContext
from ledger.supervision.models import AdditiveFilingRow, LotInputRow, LotRow, RecordRow
from ledger.supervision.names import MATERIAL_INTAKE, PRODUCTION
from ledger.supervision.quantity import format_quantity
from ledger.supervision.recalls import held_by_recall, open_recalls, pull_in
from ledger.supervision.rules import RuleViolation

__all__ = ["correct_inspection", "correct_material_intake", "inspection", "material_intake",
           "production"]


def material_intake(a: RecordContext) -> None:
    """Take a supplier's lot in (accepted into stock, or rejected and marked so)."""
    gtin, lot = a.text("gtin"), a.text("lot")
    amount, unit = a.quantity()
    accepted = bool(a.payload.get("accepted", True))
    supplier = a.text("supplier")
    if a.rows.get(LotRow, (gtin, lot)) is None:
        a.rows.add(LotRow(gtin=gtin, lot=lot, origin=supplier, origin_type=MATERIAL_INTAKE,
                          origin_seq=a.entry.seq, quantity=format_quantity(amount), unit=unit,
                          produced_at=None, expiry=None, inspection="none",
                          inspection_seq=None, intake_rejected=not accepted, serialized=0))
    elif not accepted:
        a.lot(gtin, lot).intake_rejected = True
    if accepted:
        a.add_stock(a.enterprise, gtin, lot, amount, unit)
        a.lot_edge((supplier, gtin, lot), (a.enterprise, gtin, lot), amount, unit)
        # Recalled goods taken in (from a supplier off the ledger) make their taker a holder:
        # the intake is admitted, so the goods are on record, and the recall reaches them.
        pull_in(a, open_recalls(a, gtin, lot), a.enterprise, gtin, lot, amount, unit)
    a.record(gtin=gtin, lot=lot, counterparty=supplier, quantity=format_quantity(amount),
             unit=unit, accepted=accepted, document_no=a.payload.get("certificate"))


def production(a: RecordContext) -> None:
    """Make a new lot of an own product from input lots taken out of stock."""
    gtin, lot = a.text("gtin"), a.text("lot")
    product = a.own_product(gtin)
    if a.rows.get(LotRow, (gtin, lot)) is not None:
        raise RuleViolation("lot.duplicate", a.field("lot"), gtin=gtin, lot=lot)
    amount, unit = a.quantity()
    category = a.reference.category(product.category)
    if category.needs_additive_filing:
        for index, additive in enumerate(a.payload.get("additives_used", [])):
            filed = a.rows.get(AdditiveFilingRow, (a.enterprise, gtin, additive))
            if filed is None:
                raise RuleViolation("additive.not_filed", a.field("additives_used", index),
                                    additive=additive, gtin=gtin)
    pulled: list[int] = []  # open recalls of inputs that this production predates
    for index, source in enumerate(a.payload.get("inputs", [])):
        at = ("inputs", index)
        in_gtin, in_lot = a.text("gtin", source, at), a.text("lot", source, at)
        used = a.lot(in_gtin, in_lot, a.field(*at, "lot"))
        if used.intake_rejected:
            raise RuleViolation("material.rejected", a.field(*at, "lot"), gtin=in_gtin,
                                lot=in_lot)
        if used.inspection == "fail":
            raise RuleViolation("material.failed_inspection", a.field(*at, "lot"),
                                gtin=in_gtin, lot=in_lot)
        pulled += held_by_recall(a, in_gtin, in_lot, a.field(*at, "lot"), "produced_at")
        need, in_unit = a.quantity(source, at)
        a.take_stock(in_gtin, in_lot, need, in_unit, a.field(*at, "quantity"))
        a.rows.add(LotInputRow(seq=a.entry.seq, position=index, output_gtin=gtin,
                               output_lot=lot, input_gtin=in_gtin, input_lot=in_lot,
                               quantity=format_quantity(need), unit=in_unit))
        a.lot_edge((a.enterprise, in_gtin, in_lot), (a.enterprise, gtin, lot), need, in_unit,
                   position=index)
    a.rows.add(LotRow(gtin=gtin, lot=lot, origin=a.enterprise, origin_type=PRODUCTION,
                      origin_seq=a.entry.seq, quantity=format_quantity(amount), unit=unit,
                      produced_at=a.payload.get("produced_at"),
                      expiry=a.payload.get("expiry"), inspection="none",
                      inspection_seq=None, intake_rejected=False, serialized=0))
    a.add_stock(a.enterprise, gtin, lot, amount, unit)
    pull_in(a, pulled, a.enterprise, gtin, lot, amount, unit)
    a.record(gtin=gtin, lot=lot, quantity=format_quantity(amount), unit=unit)


def inspection(a: RecordContext, replacing: RecordRow | None = None) -> None:
    """Record an inspection of a lot; its verdict becomes the lot's inspection status."""
    if replacing is None:
        gtin, lot = a.text("gtin"), a.text("lot")
    else:  # a correction fixes the inspection, not which lot was inspected
        gtin, lot = a.unchanged("gtin", replacing.gtin), a.unchanged("lot", replacing.lot)
    row = a.lot(gtin, lot)
    verdict = a.text("verdict")
    for index, item in enumerate(a.payload.get("items", [])):
        if verdict == "pass" and item.get("pass") is False:
            raise RuleViolation("inspection.verdict_mismatch", a.field("items", index, "pass"),
                                item=item.get("name", index))
    if a.payload.get("standard"):
        a.cite_standard(a.text("standard"), a.field("standard"))
    # The lot's status is its latest inspection, so a later pass clears an earlier failure
    # and a failure found after the fact (the melamine case) marks the lot at once.
    if replacing is None or row.inspection_seq == replacing.seq:
        row.inspection, row.inspection_seq = verdict, a.entry.seq
    a.record(gtin=gtin, lot=lot, verdict=verdict, document_no=a.payload.get("report_no"),
             counterparty=a.payload.get("lab_uscc"))


def correct_inspection(corrected: RecordContext, target: RecordRow) -> None:
    """Replace an inspection; the lot's status follows if it was the latest one."""
    inspection(corrected, replacing=target)


def correct_material_intake(corrected: RecordContext, target: RecordRow) -> None:
    """Replace an intake, while what it took in is still all in stock."""
    gtin, lot = target.gtin or "", target.lot or ""
    if target.accepted:  # what was taken in must still be there to take back
        corrected.take_stock(gtin, lot, Decimal(target.quantity or 0), target.unit or "",
                             corrected.field("seq"))
    row = corrected.lot(gtin, lot)
    made_the_lot = row.origin_seq == target.seq
    if made_the_lot:
        row.intake_rejected = False
    material_intake(corrected)
    if made_the_lot and (corrected.text("gtin"), corrected.text("lot")) == (gtin, lot):
        # The lot is what this intake said it was: it now says what the correction says.
        amount, unit = corrected.quantity()
        row.quantity, row.unit = format_quantity(amount), unit
        row.origin = corrected.text("supplier")
