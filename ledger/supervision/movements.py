"""Rules for goods moving between enterprises: shipments and receipts (产品流向登记).

"Unqualified product does not leave": in categories that need it, a lot ships only with a
passing latest inspection. A receipt settles the oldest open shipments it matches.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import bindparam, select

from ledger.supervision.context import RecordContext
from ledger.supervision.models import ProductRow, RecordRow
from ledger.supervision.names import SHIPMENT
from ledger.supervision.quantity import SINGLE_ITEMS, format_quantity
from ledger.supervision.recalls import held_by_recall, pull_in
from ledger.supervision.rules import RuleViolation

__all__ = ["correct_shipment", "receipt", "shipment"]


def shipment(a: RecordContext) -> None:
    """Ship part of a held lot to a counterparty."""
    gtin, lot = a.text("gtin"), a.text("lot")
    amount, unit = a.quantity()
    row = a.lot(gtin, lot)
    recalls = held_by_recall(a, gtin, lot, a.field("lot"), "shipped_at")
    product = a.rows.get(ProductRow, gtin)
    category = a.reference.category(product.category) if product is not None else None
    # 单品赋码 codes the single item: a lot counted in pieces. A case is a logistic unit, coded
    # by aggregating the pieces packed in it, and bulk (kg, L) has no units at all.
    if (category is not None and category.unit_serialization == "required"
            and row.unit == SINGLE_ITEMS and row.serialized == 0):
        raise RuleViolation("unit.serialization_required", a.field("lot"), gtin=gtin, lot=lot,
                            category_name=category.name_zh, category_name_en=category.name_en)
    if category is not None and category.needs_lot_inspection_before_shipment:
        if row.inspection == "none":
            raise RuleViolation("shipment.not_inspected", a.field("lot"), gtin=gtin, lot=lot)
        if row.inspection == "fail":
            raise RuleViolation("shipment.failed_inspection", a.field("lot"), gtin=gtin,
                                lot=lot)
    a.take_stock(gtin, lot, amount, unit, a.field("quantity"))
    a.lot_edge((a.enterprise, gtin, lot), (a.text("counterparty"), gtin, lot), amount, unit)
    a.record(gtin=gtin, lot=lot, counterparty=a.text("counterparty"),
             quantity=format_quantity(amount), unit=unit,
             document_no=a.payload.get("document_no"), fully_received=False, received="0")
    pull_in(a, recalls, a.text("counterparty"), gtin, lot, amount, unit)


# Built once: building the query cost a receipt more than running it.
_OPEN_SHIPMENTS = select(RecordRow).where(
    RecordRow.type == SHIPMENT, RecordRow.enterprise == bindparam("shipper"),
    RecordRow.counterparty == bindparam("receiver"), RecordRow.gtin == bindparam("gtin"),
    RecordRow.lot == bindparam("lot"), RecordRow.fully_received.is_(False),
    RecordRow.superseded_by.is_(None)).order_by(RecordRow.seq)
_OPEN_SHIPMENTS_OF_DOCUMENT = _OPEN_SHIPMENTS.where(
    RecordRow.document_no == bindparam("document_no"))


def receipt(a: RecordContext) -> None:
    """Receive goods that the counterparty shipped to this enterprise and that are open."""
    gtin, lot = a.text("gtin"), a.text("lot")
    amount, unit = a.quantity()
    shipper = a.text("counterparty")
    document_no = a.payload.get("document_no")
    a.rows.flush()  # earlier shipments of this batch must be visible to the query
    open_shipments = list(a.session.scalars(
        _OPEN_SHIPMENTS_OF_DOCUMENT if document_no else _OPEN_SHIPMENTS,
        {"shipper": shipper, "receiver": a.enterprise, "gtin": gtin, "lot": lot,
         "document_no": document_no}))
    if not open_shipments:
        raise RuleViolation("receipt.no_shipment", a.field("counterparty"), gtin=gtin, lot=lot,
                            counterparty=shipper)
    shipped_in = open_shipments[0].unit
    if shipped_in != unit:  # a lot is measured in one base unit, so all its shipments are too
        raise RuleViolation("unit.mismatch", a.field("unit"), lot=lot, expected=shipped_in,
                            got=unit)
    outstanding = sum((Decimal(s.quantity or 0) - Decimal(s.received or 0)
                       for s in open_shipments), Decimal(0))
    if amount > outstanding:
        raise RuleViolation("receipt.exceeds_shipment", a.field("quantity"), unit=unit,
                            need=format_quantity(amount), have=format_quantity(outstanding))
    remaining = amount
    for shipped in open_shipments:  # settle the oldest shipments first
        settle = min(remaining, Decimal(shipped.quantity or 0) - Decimal(shipped.received or 0))
        shipped.received = format_quantity(Decimal(shipped.received or 0) + settle)
        shipped.fully_received = Decimal(shipped.received) >= Decimal(shipped.quantity or 0)
        remaining -= settle
        if remaining <= 0:
            break
    a.add_stock(a.enterprise, gtin, lot, amount, unit)
    a.lot_edge((shipper, gtin, lot), (a.enterprise, gtin, lot), amount, unit)
    a.record(gtin=gtin, lot=lot, counterparty=shipper, quantity=format_quantity(amount),
             unit=unit, document_no=a.payload.get("document_no"))


def correct_shipment(corrected: RecordContext, target: RecordRow) -> None:
    """Replace a shipment that nothing was received against yet."""
    # Once goods were received against it, the shipment is settled history: the receiver's
    # records depend on it, so only a compensating entry may change things from there.
    if Decimal(target.received or 0) > 0:
        raise RuleViolation("correction.already_received", corrected.field("seq"),
                            target=target.seq)
    corrected.add_stock(target.enterprise, target.gtin or "", target.lot or "",
                        Decimal(target.quantity or 0), target.unit or "")
    shipment(corrected)
