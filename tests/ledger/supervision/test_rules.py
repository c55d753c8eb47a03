"""The supervision rules through the library API (``submit``), beside the HTTP tests in
``tests/web/test_rules.py``.

For every record type, a pass case and what it does to the projections; for every standard
notice, its level and field; for every rejection, its rule code, field path and position in
the batch, after which a rollback leaves the ledger and every projection exactly as they were.
The last test checks that every rule in ``RULES`` was exercised here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ledger import log
from ledger.db import Base
from ledger.errors import render_field
from ledger.log.entry import SignedStatement, Statement
from ledger.supervision.admission import rebuild
from ledger.supervision.context import unit_code
from ledger.supervision.models import (
    AdditiveFilingRow,
    CounterRow,
    LotInputRow,
    LotRow,
    NoticeRow,
    ProductRow,
    RecordRow,
    StockRow,
    UnitRow,
)
from ledger.supervision.names import (
    ADDITIVE_FILING,
    AGGREGATION,
    CORRECTION,
    INSPECTION,
    MATERIAL_INTAKE,
    PRODUCT_REGISTERED,
    PRODUCTION,
    RECEIPT,
    SERIALIZATION,
    SHIPMENT,
)
from ledger.supervision.rules import RULES, RuleViolation
from ledger.supervision.submit import Appended
from scanners.supervision_code import mint
from tests.ledger.conftest import Producer, append, enrol, make_uscc, projection_snapshot

#: when a record says it happened, unless a test needs another day
DAY = "2026-11-26T08:00:00+08:00"
SUPPLIER = make_uscc(900)
LAB = make_uscc(901)
BUYER = make_uscc(902)      # a counterparty that is not enrolled (the rules do not ask)
DRINK = "06901234567892"    # category 08, beverages: additives filed, lots inspected to ship
SYRUP = "06901234567908"    # an input material in kg, never registered as a product
SEAT = "06901234567915"     # category 62, children's car seats: not food
GLUCOSE = "06901234567922"  # an input material in L, never registered as a product
JUICE = "06901234567939"    # a second product of the maker's, registered where needed
PALLET = "(00)069012340000000016"

#: every rule code a test below saw refuse an entry or attach a notice
SEEN: set[str] = set()


# -- records ---------------------------------------------------------------------------------

class Record(NamedTuple):
    """A record to sign: its type and payload."""

    type: str
    payload: dict[str, Any]


def product(gtin: str = DRINK, category: str = "08", standard: str = "GB 7101-2022",
            name: str = "橙汁饮料", spec: str = "500mL") -> Record:
    return Record(PRODUCT_REGISTERED, {"gtin": gtin, "name": name, "category": category,
                                       "standard": standard, "spec": spec})


def intake(lot: str = "RM1", quantity: str = "1000", unit: str = "kg", accepted: bool = True,
           gtin: str = SYRUP) -> Record:
    return Record(MATERIAL_INTAKE, {
        "gtin": gtin, "lot": lot, "material": "浓缩橙汁", "supplier": SUPPLIER,
        "quantity": quantity, "unit": unit, "received_at": "2026-11-26T07:00:00+08:00",
        "certificate": f"QC-{lot}", "accepted": accepted})


def filing(additive: str = "山梨酸钾", level: str = "0.3", unit: str = "g/kg",
           ins: str = "202", gtin: str = DRINK) -> Record:
    return Record(ADDITIVE_FILING, {"gtin": gtin, "additive": additive, "ins": ins,
                                    "function": "防腐剂", "level": level, "unit": unit})


def source(lot: str = "RM1", quantity: str = "400", unit: str = "kg",
           gtin: str = SYRUP) -> dict[str, str]:
    """One input lot of a production."""
    return {"gtin": gtin, "lot": lot, "quantity": quantity, "unit": unit}


def production(lot: str = "P1", inputs: list[dict[str, str]] | None = None,
               additives: tuple[str, ...] = (), quantity: str = "2000", unit: str = "pcs",
               gtin: str = DRINK) -> Record:
    return Record(PRODUCTION, {
        "gtin": gtin, "lot": lot, "quantity": quantity, "unit": unit,
        "produced_at": "2026-11-26T10:00:00+08:00", "expiry": "2027-05-26",
        "inputs": [source()] if inputs is None else inputs, "additives_used": list(additives)})


def inspection(lot: str = "P1", verdict: str = "pass", items: tuple[bool, ...] | None = None,
               gtin: str = DRINK, standard: str | None = "GB 7101-2022") -> Record:
    """An inspection whose items pass or fail as ``items`` says (by default, as the verdict)."""
    payload: dict[str, Any] = {
        "gtin": gtin, "lot": lot, "kind": "self", "lab": "厂内化验室", "lab_uscc": LAB,
        "verdict": verdict, "report_no": f"R-{lot}-{verdict}",
        "inspected_at": "2026-11-26T11:00:00+08:00",
        "items": [{"name": f"项目{number}", "value": "50", "limit": "≤100", "unit": "CFU/mL",
                   "pass": passed}
                  for number, passed in enumerate(items or (verdict == "pass",), 1)]}
    if standard is not None:
        payload["standard"] = standard
    return Record(INSPECTION, payload)


def shipment(to: str, lot: str = "P1", quantity: str = "500", unit: str = "pcs",
             document_no: str = "DN-1", gtin: str = DRINK) -> Record:
    return Record(SHIPMENT, {"gtin": gtin, "lot": lot, "quantity": quantity, "unit": unit,
                             "counterparty": to, "document_no": document_no,
                             "shipped_at": "2026-11-26T14:00:00+08:00"})


def receipt(from_: str, lot: str = "P1", quantity: str = "500", unit: str = "pcs",
            document_no: str = "DN-1", gtin: str = DRINK) -> Record:
    return Record(RECEIPT, {"gtin": gtin, "lot": lot, "quantity": quantity, "unit": unit,
                            "counterparty": from_, "document_no": document_no,
                            "received_at": "2026-11-26T18:00:00+08:00"})


def serialization(*serials: str, lot: str = "P1", gtin: str = DRINK,
                  codes: list[str] | None = None) -> Record:
    payload: dict[str, Any] = {"gtin": gtin, "lot": lot, "serials": list(serials)}
    if codes is not None:
        payload["codes"] = codes
    return Record(SERIALIZATION, payload)


def code(unit: int, product: int = 1) -> str:
    """The supervision code of unit ``unit`` of product number ``product`` (the maker's drink
    is number 1)."""
    return mint(b"test code secret", product, unit)


def aggregation(parent: str, *children: str) -> Record:
    return Record(AGGREGATION, {"parent": parent, "children": list(children)})


def correction(seq: object, replacement: Mapping[str, Any]) -> Record:
    return Record(CORRECTION, {"seq": seq, "reason": "录入错误",
                               "replacement": dict(replacement)})


# -- submitting and reading back -------------------------------------------------------------

def message_pattern(rule: str, language: int = 1) -> str:
    """A regex matching the rule's message (English by default) with its fields filled in."""
    template = RULES[rule][language]
    return "^" + "(.+)".join(map(re.escape, re.split(r"\{\w+\}", template))) + "$"


@dataclass
class Enterprise:
    """An enrolled enterprise that signs its records with its own key and submits them."""

    session: Session
    ledger: log.Ledger
    producer: Producer

    @property
    def uscc(self) -> str:
        return self.producer.uscc

    def signed(self, record: Record, event_time: str = DAY) -> SignedStatement:
        statement = Statement(record.type, self.uscc, self.producer.key_id, event_time,
                              record.payload)
        return statement.sign(self.producer.key)

    def submit(self, *batch: Record) -> list[Appended]:
        """Append ``batch`` as one batch and commit it."""
        appended = append(self.session, self.ledger, [self.signed(r) for r in batch])
        self.session.commit()
        return appended

    def ok(self, record: Record, event_time: str = DAY) -> Appended:
        (appended,) = append(self.session, self.ledger, [self.signed(record, event_time)])
        self.session.commit()
        return appended

    def refused(self, rule: str, field: str, *batch: Record) -> RuleViolation:
        """Submit ``batch``, whose last record ``rule`` refuses at ``field``, and roll back."""
        size, before = log.ledger_size(self.session), projection_snapshot(self.session)
        with pytest.raises(RuleViolation, match=message_pattern(rule)) as caught:
            append(self.session, self.ledger, [self.signed(r) for r in batch])
        self.session.rollback()
        violation = caught.value
        assert violation.code == f"rule.{rule}"
        assert render_field(violation.field) == field
        assert violation.item == len(batch) - 1
        assert violation.message
        assert re.fullmatch(message_pattern(rule, language=0), violation.message_zh)
        assert log.ledger_size(self.session) == size
        assert projection_snapshot(self.session) == before
        SEEN.add(rule)
        return violation


def table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def rows(session: Session, model: type[Base], **where: Any) -> list[dict[str, Any]]:
    """The rows of a projection matching ``where``, read from the database, in key order."""
    columns = table(model).c
    query = (select(*columns).where(*(columns[name] == value for name, value in where.items()))
             .order_by(*table(model).primary_key.columns))
    return [row._asdict() for row in session.execute(query)]


def one(session: Session, model: type[Base], **where: Any) -> dict[str, Any]:
    (row,) = rows(session, model, **where)
    return row


def record(appended: Appended, session: Session) -> dict[str, Any]:
    """The records row at the entry's seq."""
    return one(session, RecordRow, seq=appended.entry.seq)


def expected_record(appended: Appended, record_type: str | None = None,
                    **columns: Any) -> dict[str, Any]:
    """The records row an entry makes: any column not given is None."""
    statement = appended.entry.statement
    return {**dict.fromkeys(table(RecordRow).c.keys()), "seq": appended.entry.seq,
            "type": record_type or statement.type, "enterprise": statement.enterprise,
            "event_time": statement.event_time, **columns}


def stock(holder: Enterprise, gtin: str, lot: str) -> tuple[str, str] | None:
    """What ``holder`` holds of the lot: (quantity, base unit), or None for no stock row."""
    found = rows(holder.session, StockRow, enterprise=holder.uscc, gtin=gtin, lot=lot)
    return (found[0]["quantity"], found[0]["unit"]) if found else None


@pytest.fixture
def maker(session: Session, ledger: log.Ledger, producer: Producer) -> Enterprise:
    """A drinks maker with its drink registered and 1000 kg of syrup (lot RM1) taken in."""
    maker = Enterprise(session, ledger, producer)
    maker.submit(product(), intake())
    return maker


@pytest.fixture
def shop(session: Session, ledger: log.Ledger) -> Enterprise:
    """A second enterprise, with nothing on the ledger yet."""
    return Enterprise(session, ledger, enrol(session, ledger, 2))


# -- each record type passes, with its effects on the projections ----------------------------

def test_a_product_is_registered_under_its_category(shop: Enterprise) -> None:
    registered = shop.ok(product(SEAT, "62", "GB 27887-2024", name="儿童安全座椅",
                                 spec="ISOFIX"))
    assert registered.notices == []
    assert one(shop.session, ProductRow, gtin=SEAT) == {
        "gtin": SEAT, "enterprise": shop.uscc, "name": "儿童安全座椅", "category": "62",
        "standard": "GB 27887-2024", "spec": "ISOFIX",
        "registered_seq": registered.entry.seq, "number": 1, "units_issued": 0}
    assert record(registered, shop.session) == expected_record(registered, gtin=SEAT)
    assert rows(shop.session, NoticeRow) == []


def test_an_accepted_intake_makes_a_lot_and_stock_in_its_base_unit(maker: Enterprise) -> None:
    taken = maker.ok(intake(lot="RM2", quantity="1.5", unit="t"))
    assert one(maker.session, LotRow, gtin=SYRUP, lot="RM2") == {
        "gtin": SYRUP, "lot": "RM2", "origin": SUPPLIER, "origin_type": MATERIAL_INTAKE,
        "origin_seq": taken.entry.seq, "quantity": "1500", "unit": "kg", "produced_at": None,
        "expiry": None, "inspection": "none", "inspection_seq": None,
        "intake_rejected": False, "serialized": 0}
    assert stock(maker, SYRUP, "RM2") == ("1500", "kg")
    assert record(taken, maker.session) == expected_record(
        taken, gtin=SYRUP, lot="RM2", counterparty=SUPPLIER, quantity="1500", unit="kg",
        accepted=True, document_no="QC-RM2")
    # A further delivery of the same lot adds to the stock, converted to the lot's unit.
    maker.ok(intake(lot="RM2", quantity="250000", unit="g"))
    assert stock(maker, SYRUP, "RM2") == ("1750", "kg")


def test_a_rejected_intake_marks_its_lot_and_stocks_nothing(maker: Enterprise) -> None:
    turned_away = maker.ok(intake(lot="RM2", accepted=False))
    lot = one(maker.session, LotRow, gtin=SYRUP, lot="RM2")
    assert (lot["intake_rejected"], lot["origin_seq"]) == (True, turned_away.entry.seq)
    assert stock(maker, SYRUP, "RM2") is None
    assert record(turned_away, maker.session) == expected_record(
        turned_away, gtin=SYRUP, lot="RM2", counterparty=SUPPLIER, quantity="1000",
        unit="kg", accepted=False, document_no="QC-RM2")


def test_an_additive_is_filed_within_its_limit(maker: Enterprise) -> None:
    filed = maker.ok(filing(level="300", unit="mg/kg"))  # beverages: at most 0.5 g/kg
    assert one(maker.session, AdditiveFilingRow) == {
        "enterprise": maker.uscc, "gtin": DRINK, "additive": "山梨酸钾", "ins": "202",
        "level": "300", "unit": "mg/kg", "seq": filed.entry.seq}
    assert record(filed, maker.session) == expected_record(filed, gtin=DRINK,
                                                           additive="山梨酸钾")
    # Filing the same additive again replaces the live filing; exactly the limit is allowed.
    refiled = maker.ok(filing(level="0.5"))
    assert one(maker.session, AdditiveFilingRow) == {
        "enterprise": maker.uscc, "gtin": DRINK, "additive": "山梨酸钾", "ins": "202",
        "level": "0.5", "unit": "g/kg", "seq": refiled.entry.seq}
    assert record(filed, maker.session)["superseded_by"] is None


def test_a_production_takes_its_inputs_out_of_stock(maker: Enterprise) -> None:
    maker.submit(intake(lot="G1", gtin=GLUCOSE, quantity="20", unit="L"), filing())
    made = maker.ok(production(inputs=[
        source(quantity="0.4", unit="t"),
        source(lot="G1", gtin=GLUCOSE, quantity="2500", unit="mL")], additives=("山梨酸钾",)))
    seq = made.entry.seq
    assert one(maker.session, LotRow, gtin=DRINK, lot="P1") == {
        "gtin": DRINK, "lot": "P1", "origin": maker.uscc, "origin_type": PRODUCTION,
        "origin_seq": seq, "quantity": "2000", "unit": "pcs",
        "produced_at": "2026-11-26T10:00:00+08:00", "expiry": "2027-05-26",
        "inspection": "none", "inspection_seq": None, "intake_rejected": False,
        "serialized": 0}
    edge = {"seq": seq, "output_gtin": DRINK, "output_lot": "P1"}
    assert rows(maker.session, LotInputRow) == [
        {**edge, "position": 0, "input_gtin": SYRUP, "input_lot": "RM1", "quantity": "400",
         "unit": "kg"},
        {**edge, "position": 1, "input_gtin": GLUCOSE, "input_lot": "G1", "quantity": "2.5",
         "unit": "L"}]
    assert stock(maker, SYRUP, "RM1") == ("600", "kg")
    assert stock(maker, GLUCOSE, "G1") == ("17.5", "L")
    assert stock(maker, DRINK, "P1") == ("2000", "pcs")
    assert record(made, maker.session) == expected_record(made, gtin=DRINK, lot="P1",
                                                          quantity="2000", unit="pcs")


def test_an_inspection_sets_its_lots_status(maker: Enterprise) -> None:
    maker.ok(production())
    inspected = maker.ok(inspection(verdict="fail"))
    assert inspected.notices == []
    lot = one(maker.session, LotRow, gtin=DRINK, lot="P1")
    assert (lot["inspection"], lot["inspection_seq"]) == ("fail", inspected.entry.seq)
    assert record(inspected, maker.session) == expected_record(
        inspected, gtin=DRINK, lot="P1", verdict="fail", document_no="R-P1-fail",
        counterparty=LAB)


def test_goods_move_by_shipment_and_receipt(maker: Enterprise, shop: Enterprise) -> None:
    maker.submit(production(), inspection())
    shipped = maker.ok(shipment(shop.uscc))
    assert stock(maker, DRINK, "P1") == ("1500", "pcs")
    assert record(shipped, maker.session) == expected_record(
        shipped, gtin=DRINK, lot="P1", counterparty=shop.uscc, quantity="500", unit="pcs",
        document_no="DN-1", fully_received=False, received="0")
    received = shop.ok(receipt(maker.uscc, quantity="200"))
    assert record(received, shop.session) == expected_record(
        received, gtin=DRINK, lot="P1", counterparty=maker.uscc, quantity="200", unit="pcs",
        document_no="DN-1")
    assert stock(shop, DRINK, "P1") == ("200", "pcs")
    assert (record(shipped, shop.session)["received"],
            record(shipped, shop.session)["fully_received"]) == ("200", False)
    shop.ok(receipt(maker.uscc, quantity="300"))
    assert (record(shipped, shop.session)["received"],
            record(shipped, shop.session)["fully_received"]) == ("500", True)
    # What the shop received it may ship on: the lot's passing inspection goes with it.
    shop.ok(shipment(BUYER, quantity="500", document_no="DN-2"))
    assert stock(shop, DRINK, "P1") == ("0", "pcs")


def test_a_receipt_settles_open_shipments_oldest_first(maker: Enterprise,
                                                       shop: Enterprise) -> None:
    maker.submit(production(), inspection())
    shipped = maker.submit(shipment(shop.uscc, quantity="300", document_no="DN-7"),
                           shipment(shop.uscc, quantity="400", document_no="DN-7"),
                           shipment(shop.uscc, quantity="100", document_no="DN-8"))

    def settled() -> list[tuple[str, bool]]:
        return [(row["received"], row["fully_received"])
                for row in (record(s, shop.session) for s in shipped)]

    shop.ok(receipt(maker.uscc, quantity="500", document_no="DN-7"))
    assert settled() == [("300", True), ("200", False), ("0", False)]
    shop.ok(receipt(maker.uscc, quantity="200", document_no="DN-7"))
    assert settled() == [("300", True), ("400", True), ("0", False)]
    assert stock(shop, DRINK, "P1") == ("700", "pcs")
    shop.refused("receipt.no_shipment", "payload.counterparty",
                 receipt(maker.uscc, quantity="1", document_no="DN-7"))


def test_units_are_serialised_and_aggregated(maker: Enterprise) -> None:
    maker.ok(production())
    serialised = maker.ok(serialization("0001", "0002"))
    codes = [unit_code(DRINK, serial) for serial in ("0001", "0002")]
    assert rows(maker.session, UnitRow) == [
        {"code": code, "gtin": DRINK, "lot": "P1", "parent": None,
         "seq": serialised.entry.seq, "supervision_code": None} for code in codes]
    assert one(maker.session, LotRow, gtin=DRINK, lot="P1")["serialized"] == 2
    assert record(serialised, maker.session) == expected_record(
        serialised, gtin=DRINK, lot="P1", quantity="2", unit="pcs")
    packed = maker.ok(aggregation(PALLET, *codes))
    assert one(maker.session, UnitRow, code=PALLET) == {
        "code": PALLET, "gtin": None, "lot": None, "parent": None, "seq": packed.entry.seq,
        "supervision_code": None}
    assert [unit["parent"] for unit in rows(maker.session, UnitRow, gtin=DRINK)] == [
        PALLET, PALLET]
    assert record(packed, maker.session) == expected_record(
        packed, document_no=PALLET, quantity="2", unit="pcs")


def test_a_batch_sees_its_earlier_items_and_lands_whole(maker: Enterprise) -> None:
    batch = (production(), inspection(), shipment(BUYER, quantity="2001"))
    maker.refused("stock.insufficient", "payload.quantity", *batch)
    appended = maker.submit(*batch[:2], shipment(BUYER, quantity="2000"))
    assert [a.entry.statement.type for a in appended] == [PRODUCTION, INSPECTION, SHIPMENT]
    assert stock(maker, DRINK, "P1") == ("0", "pcs")


# -- stock in base units, unqualified material and product ------------------------------------

def test_stock_is_kept_in_base_units(maker: Enterprise) -> None:
    maker.submit(intake(lot="G1", gtin=GLUCOSE, quantity="1.5", unit="L"))
    assert stock(maker, GLUCOSE, "G1") == ("1.5", "L")
    # 1000 kg of syrup: 0.4 t, then 599 999 g, leave 1 g, and a gram more is too much.
    maker.ok(production(inputs=[source(quantity="0.4", unit="t"),
                                source(lot="G1", gtin=GLUCOSE, quantity="1", unit="L")]))
    maker.ok(production(lot="P2", inputs=[
        source(quantity="599999", unit="g"),
        source(lot="G1", gtin=GLUCOSE, quantity="499.5", unit="mL")]))
    assert stock(maker, SYRUP, "RM1") == ("0.001", "kg")
    assert stock(maker, GLUCOSE, "G1") == ("0.0005", "L")
    maker.refused("stock.insufficient", "payload.inputs[0].quantity",
                  production(lot="P3", inputs=[source(quantity="2", unit="g")]))
    maker.refused("stock.insufficient", "payload.inputs[0].quantity",
                  production(lot="P3", inputs=[
                      source(lot="G1", gtin=GLUCOSE, quantity="0.6", unit="mL")]))
    maker.ok(production(lot="P3", inputs=[
        source(quantity="1", unit="g"), source(lot="G1", gtin=GLUCOSE, quantity="0.5",
                                               unit="mL")]))
    assert stock(maker, SYRUP, "RM1") == ("0", "kg")
    assert stock(maker, GLUCOSE, "G1") == ("0", "L")


def test_unqualified_material_does_not_enter_production(maker: Enterprise) -> None:
    maker.ok(intake(lot="RM2", accepted=False))
    maker.refused("material.rejected", "payload.inputs[0].lot",
                  production(inputs=[source(lot="RM2", quantity="10")]))
    # A later rejection of a lot first accepted marks the whole lot.
    maker.ok(intake(lot="RM1", quantity="10", accepted=False))
    maker.refused("material.rejected", "payload.inputs[0].lot", production())
    maker.ok(intake(lot="RM3", quantity="10"))
    maker.ok(inspection(lot="RM3", gtin=SYRUP, verdict="fail", standard=None))
    maker.refused("material.failed_inspection", "payload.inputs[0].lot",
                  production(inputs=[source(lot="RM3", quantity="10")]))
    maker.ok(inspection(lot="RM3", gtin=SYRUP, verdict="pass", standard=None))
    maker.ok(production(inputs=[source(lot="RM3", quantity="10")]))


def test_the_latest_inspection_decides_whether_a_lot_ships(maker: Enterprise) -> None:
    maker.ok(production())
    maker.refused("shipment.not_inspected", "payload.lot", shipment(BUYER))
    maker.ok(inspection(verdict="fail"))
    maker.refused("shipment.failed_inspection", "payload.lot", shipment(BUYER))
    maker.ok(inspection(verdict="pass"))
    maker.ok(shipment(BUYER))
    # A failure found after the fact (the melamine case) stops the lot at once.
    maker.ok(inspection(verdict="fail"))
    maker.refused("shipment.failed_inspection", "payload.lot",
                  shipment(BUYER, document_no="DN-2"))


# -- standard notices --------------------------------------------------------------------------

def _cite(maker: Enterprise, record_type: str, standard: str, event_time: str) -> Appended:
    """A product registration or an inspection citing ``standard`` on ``event_time``."""
    if record_type == PRODUCT_REGISTERED:
        return maker.ok(product(gtin=JUICE, standard=standard), event_time)
    maker.ok(production())
    return maker.ok(inspection(standard=standard), event_time)


@pytest.mark.parametrize("record_type", [PRODUCT_REGISTERED, INSPECTION])
@pytest.mark.parametrize(("standard", "event_time", "rule", "level", "named"), [
    pytest.param("GB 2760-2014", DAY, "standard.withdrawn", "warning", "GB 2760-2024",
                 id="withdrawn"),
    pytest.param("GB 7718-2011", DAY, "standard.being_replaced", "notice", "GB 7718-2025",
                 id="being_replaced"),
    pytest.param("GB 7718-2011", "2027-03-16T08:00:00+08:00", "standard.withdrawn",
                 "warning", "GB 7718-2025", id="withdrawn_once_its_successor_is_in_force"),
    pytest.param("GB 7718-2025", DAY, "standard.not_yet_effective", "notice", "2027-03-16",
                 id="not_yet_effective"),
])
def test_a_cited_standard_gets_a_notice(maker: Enterprise, record_type: str, standard: str,
                                        event_time: str, rule: str, level: str,
                                        named: str) -> None:
    cited = _cite(maker, record_type, standard, event_time)
    (notice,) = cited.notices
    assert (notice.code, notice.level, notice.field) == (f"rule.{rule}", level,
                                                         "payload.standard")
    assert re.fullmatch(message_pattern(rule), notice.message_en)
    assert re.fullmatch(message_pattern(rule, language=0), notice.message_zh)
    assert named in notice.message_en and named in notice.message_zh
    assert rows(maker.session, NoticeRow) == [{
        "seq": cited.entry.seq, "code": notice.code, "level": level,
        "field": "payload.standard", "message_zh": notice.message_zh,
        "message_en": notice.message_en}]
    SEEN.add(rule)


@pytest.mark.parametrize("standard", [
    "GB 7101-2022",     # current
    "GB 4706.1-2024",   # "published" in the table, but in force since 2026-08-01
    "Q/FJX 0001S-2026",  # an enterprise standard, not in the registry: nothing to say
])
def test_a_standard_in_force_gets_no_notice(maker: Enterprise, standard: str) -> None:
    assert _cite(maker, PRODUCT_REGISTERED, standard, DAY).notices == []
    assert rows(maker.session, NoticeRow) == []


# -- rejections ------------------------------------------------------------------------------

def case(rule: str, field: str, *batch: Record, why: str) -> Any:
    """A batch whose last record ``rule`` refuses at ``field``."""
    return pytest.param(rule, field, batch, id=f"{rule}:{why}")


@pytest.mark.parametrize(("rule", "field", "batch"), [
    case("product.duplicate", "payload.gtin", product(), why="registered_again"),
    case("product.duplicate", "payload.gtin", product(gtin=JUICE), product(gtin=JUICE),
         why="twice_in_one_batch"),
    case("category.unknown", "payload.category", product(gtin=JUICE, category="70"),
         why="not_one_of_69"),
    case("product.unknown", "payload.gtin", filing(gtin=JUICE), why="filing"),
    case("product.unknown", "payload.gtin", production(gtin=SYRUP), why="production"),
    case("additive.not_food", "payload.gtin", product(SEAT, "62", "GB 27887-2024"),
         filing(gtin=SEAT), why="car_seat"),
    case("additive.not_permitted", "payload.additive",
         filing(additive="糖精钠", ins="954", level="0.1"), why="saccharin_in_a_drink"),
    case("additive.over_limit", "payload.level", filing(level="0.6"), why="g_per_kg"),
    case("additive.over_limit", "payload.level", filing(level="501", unit="mg/kg"),
         why="mg_per_kg"),
    case("additive.not_filed", "payload.additives_used[1]", filing(),
         production(additives=("山梨酸钾", "日落黄")), why="second_additive"),
    case("lot.duplicate", "payload.lot", production(), production(),
         why="produced_twice"),
    case("lot.unknown", "payload.lot", inspection(lot="NOPE"), why="inspection"),
    case("lot.unknown", "payload.inputs[0].lot", production(inputs=[source(lot="NOPE")]),
         why="production_input"),
    case("lot.unknown", "payload.lot", shipment(BUYER, lot="NOPE"), why="shipment"),
    case("lot.unknown", "payload.lot", serialization("0001", lot="NOPE"),
         why="serialization"),
    case("unit.mismatch", "payload.inputs[0].quantity",
         production(inputs=[source(unit="L")]), why="input_in_litres_of_a_kg_lot"),
    case("unit.mismatch", "payload.unit", intake(quantity="5", unit="mL"),
         why="intake_in_millilitres_of_a_kg_lot"),
    case("unit.mismatch", "payload.quantity", production(), inspection(),
         shipment(BUYER, quantity="5", unit="kg"), why="shipment_in_kg_of_a_pcs_lot"),
    case("stock.insufficient", "payload.inputs[0].quantity",
         production(inputs=[source(quantity="1.5", unit="t")]), why="input"),
    case("stock.insufficient", "payload.inputs[1].quantity",
         production(inputs=[source(quantity="600"), source(quantity="400.001")]),
         why="same_lot_twice_in_one_production"),
    case("stock.insufficient", "payload.quantity", production(), inspection(),
         shipment(BUYER, quantity="2001"), why="shipment"),
    case("inspection.verdict_mismatch", "payload.items[1].pass", production(),
         inspection(items=(True, False)), why="pass_over_a_failed_item"),
    case("unit.duplicate", "payload.serials[1]", production(),
         serialization("0001", "0001"), why="within_one_record"),
    case("unit.duplicate", "payload.serials[0]", production(), serialization("0001"),
         serialization("0001"), why="serialised_again"),
    case("unit.unknown", "payload.children[1]", production(), serialization("0001"),
         aggregation(PALLET, unit_code(DRINK, "0001"), unit_code(DRINK, "0002")),
         why="child_never_serialised"),
    case("unit.exceeds_lot", "payload.serials", production(quantity="2"),
         serialization("A1"), serialization("A2", "A3"), why="more_codes_than_pieces"),
    case("unit.codes_mismatch", "payload.codes", production(),
         serialization("A1", "A2", codes=[code(1)]), why="fewer_codes_than_serials"),
    case("unit.code_malformed", "payload.codes[1]", production(),
         serialization("A1", "A2", codes=[code(1), code(2)[:-1] + str(
             (int(code(2)[-1]) + 1) % 10)]), why="check_digit"),
    case("unit.code_malformed", "payload.codes[0]", production(),
         serialization("A1", codes=["1234"]), why="too_short"),
    case("unit.code_wrong_product", "payload.codes[0]", production(),
         serialization("A1", codes=[code(1, product=2)]), why="another_products_number"),
    case("unit.code_reused", "payload.codes[0]", production(),
         serialization("A1", codes=[code(5)]), serialization("A2", codes=[code(5)]),
         why="issued_before"),
    case("unit.code_reused", "payload.codes[1]", production(),
         serialization("A1", "A2", codes=[code(7), code(6)]), why="falling_in_one_entry"),
    case("unit.serialization_required", "payload.lot",
         product(SEAT, "62", "GB 27887-2024"),
         production(gtin=SEAT, lot="S1", inputs=[], quantity="10"),
         shipment(BUYER, gtin=SEAT, lot="S1", quantity="1"), why="car_seats_never_serialised"),
    case("receipt.no_shipment", "payload.counterparty", receipt(SUPPLIER),
         why="nothing_shipped"),
    case("correction.unknown", "payload.seq", correction(99999, {}), why="no_such_seq"),
    case("correction.unknown", "payload.seq", correction("3", {}), why="seq_not_an_integer"),
])
def test_a_rule_refuses_the_item_and_the_batch_leaves_no_trace(
        maker: Enterprise, rule: str, field: str, batch: tuple[Record, ...]) -> None:
    maker.refused(rule, field, *batch)


def test_another_enterprises_product_is_not_ours_to_use(maker: Enterprise,
                                                         shop: Enterprise) -> None:
    refusal = shop.refused("product.not_owner", "payload.gtin", filing())
    assert maker.uscc in refusal.message and maker.uscc in refusal.message_zh
    shop.refused("product.not_owner", "payload.gtin", production(inputs=[]))


def test_shipping_a_lot_held_by_someone_else(maker: Enterprise, shop: Enterprise) -> None:
    maker.submit(production(), inspection())
    shop.refused("stock.insufficient", "payload.quantity", shipment(BUYER, quantity="1"))


def test_a_receipt_must_match_an_open_shipment(maker: Enterprise, shop: Enterprise) -> None:
    maker.submit(production(), inspection())
    shop.refused("receipt.no_shipment", "payload.counterparty", receipt(maker.uscc))
    maker.ok(shipment(shop.uscc))
    shop.refused("receipt.no_shipment", "payload.counterparty",
                 receipt(maker.uscc, document_no="DN-9"))
    shop.refused("receipt.no_shipment", "payload.counterparty", receipt(SUPPLIER))
    maker.refused("receipt.no_shipment", "payload.counterparty", receipt(maker.uscc))
    shop.refused("receipt.exceeds_shipment", "payload.quantity",
                 receipt(maker.uscc, quantity="501"))
    shop.ok(receipt(maker.uscc, quantity="500"))
    shop.refused("receipt.no_shipment", "payload.counterparty",
                 receipt(maker.uscc, quantity="1"))


# -- corrections -----------------------------------------------------------------------------

def test_a_product_registration_is_corrected(maker: Enterprise) -> None:
    registered = maker.ok(product(gtin=JUICE, name="橙汁"))
    fixed = maker.ok(correction(registered.entry.seq, product(
        gtin=JUICE, name="橙汁饮料", standard="GB 2760-2014", spec="1L").payload))
    assert one(maker.session, ProductRow, gtin=JUICE) == {
        "gtin": JUICE, "enterprise": maker.uscc, "name": "橙汁饮料", "category": "08",
        "standard": "GB 2760-2014", "spec": "1L", "registered_seq": registered.entry.seq,
        "number": 2, "units_issued": 0}
    assert record(registered, maker.session)["superseded_by"] == fixed.entry.seq
    assert record(fixed, maker.session) == expected_record(
        fixed, PRODUCT_REGISTERED, gtin=JUICE, corrects=registered.entry.seq)
    # The replacement's notices are the correction's.
    assert [(n.code, n.field) for n in fixed.notices] == [("rule.standard.withdrawn",
                                                            "payload.standard")]
    assert [(n["seq"], n["code"]) for n in rows(maker.session, NoticeRow)] == [
        (fixed.entry.seq, "rule.standard.withdrawn")]


def test_an_additive_filing_is_corrected(maker: Enterprise) -> None:
    filed = maker.ok(filing(level="0.3"))
    fixed = maker.ok(correction(filed.entry.seq, filing(level="0.2").payload))
    assert one(maker.session, AdditiveFilingRow) == {
        "enterprise": maker.uscc, "gtin": DRINK, "additive": "山梨酸钾", "ins": "202",
        "level": "0.2", "unit": "g/kg", "seq": fixed.entry.seq}
    assert record(filed, maker.session)["superseded_by"] == fixed.entry.seq
    assert record(fixed, maker.session) == expected_record(
        fixed, ADDITIVE_FILING, gtin=DRINK, additive="山梨酸钾", corrects=filed.entry.seq)


def test_an_inspection_is_corrected_and_its_lot_follows(maker: Enterprise) -> None:
    maker.ok(production())
    wrong = maker.ok(inspection(verdict="fail"))
    fixed = maker.ok(correction(wrong.entry.seq, inspection(verdict="pass").payload))
    lot = one(maker.session, LotRow, gtin=DRINK, lot="P1")
    assert (lot["inspection"], lot["inspection_seq"]) == ("pass", fixed.entry.seq)
    assert record(wrong, maker.session)["superseded_by"] == fixed.entry.seq
    assert record(fixed, maker.session) == expected_record(
        fixed, INSPECTION, gtin=DRINK, lot="P1", verdict="pass", document_no="R-P1-pass",
        counterparty=LAB, corrects=wrong.entry.seq)
    maker.ok(shipment(BUYER))


def test_correcting_an_earlier_inspection_leaves_the_latest_in_charge(
        maker: Enterprise) -> None:
    maker.ok(production())
    earlier = maker.ok(inspection(verdict="pass"))
    latest = maker.ok(inspection(verdict="fail"))
    maker.ok(correction(earlier.entry.seq, inspection(verdict="pass").payload))
    lot = one(maker.session, LotRow, gtin=DRINK, lot="P1")
    assert (lot["inspection"], lot["inspection_seq"]) == ("fail", latest.entry.seq)
    maker.refused("shipment.failed_inspection", "payload.lot", shipment(BUYER))


def test_a_shipment_is_corrected_until_goods_are_received(maker: Enterprise,
                                                           shop: Enterprise) -> None:
    maker.submit(production(), inspection())
    shipped = maker.ok(shipment(shop.uscc))
    fixed = maker.ok(correction(shipped.entry.seq, shipment(shop.uscc, quantity="300").payload))
    assert stock(maker, DRINK, "P1") == ("1700", "pcs")
    assert record(shipped, maker.session)["superseded_by"] == fixed.entry.seq
    # The replacement is the shipment now: a record of that type at the correction's seq.
    assert record(fixed, maker.session) == expected_record(
        fixed, SHIPMENT, gtin=DRINK, lot="P1", counterparty=shop.uscc, quantity="300",
        unit="pcs", document_no="DN-1", fully_received=False, received="0",
        corrects=shipped.entry.seq)
    shop.refused("receipt.exceeds_shipment", "payload.quantity",
                 receipt(maker.uscc, quantity="301"))
    shop.ok(receipt(maker.uscc, quantity="300"))
    assert record(fixed, maker.session)["fully_received"] is True
    maker.refused("correction.already_received", "payload.seq",
                  correction(fixed.entry.seq, shipment(shop.uscc, quantity="200").payload))


def test_a_material_intake_is_corrected_while_its_stock_is_untouched(
        maker: Enterprise) -> None:
    turned_away = maker.ok(intake(lot="RM2", accepted=False))
    fixed = maker.ok(correction(turned_away.entry.seq,
                                intake(lot="RM2", quantity="50").payload))
    assert one(maker.session, LotRow, gtin=SYRUP, lot="RM2")["intake_rejected"] is False
    assert stock(maker, SYRUP, "RM2") == ("50", "kg")
    assert record(turned_away, maker.session)["superseded_by"] == fixed.entry.seq
    assert record(fixed, maker.session) == expected_record(
        fixed, MATERIAL_INTAKE, gtin=SYRUP, lot="RM2", counterparty=SUPPLIER,
        quantity="50", unit="kg", accepted=True, document_no="QC-RM2",
        corrects=turned_away.entry.seq)
    maker.ok(production(inputs=[source(lot="RM2", quantity="50")]))
    # RM2 went into P1, so its intake can no longer be taken back.
    maker.refused("stock.insufficient", "payload.seq",
                  correction(fixed.entry.seq, intake(lot="RM2", quantity="40").payload))


#: for each correctable type: a batch whose last record is the one corrected
CORRECTABLE: dict[str, tuple[Record, ...]] = {
    PRODUCT_REGISTERED: (product(gtin=JUICE),),
    ADDITIVE_FILING: (filing(),),
    INSPECTION: (production(), inspection()),
    SHIPMENT: (production(), inspection(), shipment(BUYER)),
    MATERIAL_INTAKE: (intake(lot="RM2"),),
}


@pytest.mark.parametrize(("record_type", "replacement", "rule", "field"), [
    pytest.param(record_type, replacement, rule, field, id=record_type)
    for record_type, replacement, rule, field in [
        (PRODUCT_REGISTERED, product(gtin=JUICE, category="70"), "category.unknown",
         "payload.category"),
        (ADDITIVE_FILING, filing(level="0.6"), "additive.over_limit", "payload.level"),
        (INSPECTION, inspection(items=(True, False)), "inspection.verdict_mismatch",
         "payload.items[1].pass"),
        (SHIPMENT, shipment(BUYER, quantity="2001"), "stock.insufficient",
         "payload.quantity"),
        (MATERIAL_INTAKE, intake(lot="RM2", unit="L"), "unit.mismatch", "payload.unit"),
    ]])
def test_a_replacement_is_held_to_the_rules_of_the_record_it_replaces(
        maker: Enterprise, record_type: str, replacement: Record, rule: str,
        field: str) -> None:
    target = maker.submit(*CORRECTABLE[record_type])[-1]
    maker.refused(rule, field, correction(target.entry.seq, replacement.payload))


@pytest.mark.parametrize("record_type", list(CORRECTABLE))
def test_a_record_is_corrected_once(maker: Enterprise, record_type: str) -> None:
    *_, target = maker.submit(*CORRECTABLE[record_type])
    again = correction(target.entry.seq, CORRECTABLE[record_type][-1].payload)
    fixed = maker.ok(again)
    assert record(target, maker.session)["superseded_by"] == fixed.entry.seq
    refusal = maker.refused("correction.superseded", "payload.seq", again)
    assert f"superseded by seq {fixed.entry.seq}" in refusal.message


@pytest.mark.parametrize("made", [
    (production(),),
    (production(), serialization("0001")),
    (production(), serialization("0001"), aggregation(PALLET, unit_code(DRINK, "0001"))),
], ids=[PRODUCTION, SERIALIZATION, AGGREGATION])
def test_some_records_are_compensated_not_corrected(maker: Enterprise,
                                                    made: tuple[Record, ...]) -> None:
    *_, target = maker.submit(*made)
    refusal = maker.refused("correction.unsupported", "payload.seq",
                            correction(target.entry.seq, made[-1].payload))
    assert refusal.message.startswith(f"{made[-1].type} records cannot be corrected")


def test_receipts_are_not_corrected(maker: Enterprise, shop: Enterprise) -> None:
    maker.submit(production(), inspection(), shipment(shop.uscc))
    received = shop.ok(receipt(maker.uscc))
    shop.refused("correction.unsupported", "payload.seq",
                 correction(received.entry.seq, receipt(maker.uscc, quantity="400").payload))


def test_a_correction_is_corrected_in_turn(maker: Enterprise) -> None:
    registered = maker.ok(product(gtin=JUICE, name="橙汁"))
    once = maker.ok(correction(registered.entry.seq, product(gtin=JUICE, name="苹果汁").payload))
    twice = maker.ok(correction(once.entry.seq, product(gtin=JUICE, name="葡萄汁").payload))
    assert one(maker.session, ProductRow, gtin=JUICE)["name"] == "葡萄汁"
    assert record(once, maker.session)["superseded_by"] == twice.entry.seq
    assert record(twice, maker.session)["corrects"] == once.entry.seq
    filed = maker.ok(filing())
    fixed = maker.ok(correction(filed.entry.seq, filing(level="0.2").payload))
    again = maker.ok(correction(fixed.entry.seq, filing(level="0.1").payload))
    assert (one(maker.session, AdditiveFilingRow)["level"],
            one(maker.session, AdditiveFilingRow)["seq"]) == ("0.1", again.entry.seq)


def test_a_correction_keeps_what_the_record_is_about(maker: Enterprise) -> None:
    registered = maker.ok(product(gtin=JUICE))
    maker.refused("correction.key_changed", "payload.gtin",
                  correction(registered.entry.seq, product(gtin=DRINK).payload))
    filed = maker.ok(filing())
    maker.refused("correction.key_changed", "payload.gtin",
                  correction(filed.entry.seq, filing(gtin=JUICE).payload))
    maker.ok(production())
    inspected = maker.ok(inspection())
    maker.refused("correction.key_changed", "payload.lot",
                  correction(inspected.entry.seq, inspection(lot="P2").payload))


def test_a_filing_of_the_wrong_additive_is_corrected_to_the_right_one(
        maker: Enterprise) -> None:
    filed = maker.ok(filing())
    fixed = maker.ok(correction(filed.entry.seq, filing(additive="苯甲酸钠", ins="211",
                                                        level="0.2").payload))
    assert one(maker.session, AdditiveFilingRow) == {
        "enterprise": maker.uscc, "gtin": DRINK, "additive": "苯甲酸钠", "ins": "211",
        "level": "0.2", "unit": "g/kg", "seq": fixed.entry.seq}


def test_only_an_enterprises_own_records_are_corrected(maker: Enterprise,
                                                        shop: Enterprise) -> None:
    maker.submit(production(), inspection())
    shipped = maker.ok(shipment(shop.uscc))
    shop.refused("correction.not_own", "payload.seq",
                 correction(shipped.entry.seq, shipment(shop.uscc, quantity="1").payload))


def test_rebuild_replays_every_record_type_to_the_same_projections(
        maker: Enterprise, shop: Enterprise) -> None:
    maker.submit(intake(lot="G1", gtin=GLUCOSE, quantity="20", unit="L"), filing(),
                 product(gtin=JUICE, standard="GB 7718-2011"))
    _, failed, *_ = maker.submit(
        production(inputs=[source(), source(lot="G1", gtin=GLUCOSE, quantity="500",
                                            unit="mL")], additives=("山梨酸钾",)),
        inspection(verdict="fail"), serialization("0001", "0002"),
        aggregation(PALLET, unit_code(DRINK, "0001")))
    maker.ok(correction(failed.entry.seq, inspection(verdict="pass").payload))
    maker.ok(serialization("0003", "0004", codes=[code(3), code(4)]))
    maker.submit(product(SEAT, "62", "GB 27887-2024"),
                 production(gtin=SEAT, lot="S1", inputs=[], quantity="10"),
                 inspection(gtin=SEAT, lot="S1", standard=None),
                 serialization("S-1", lot="S1", gtin=SEAT, codes=[code(1, product=3)]),
                 shipment(shop.uscc, gtin=SEAT, lot="S1", quantity="1"))
    shipped = maker.ok(shipment(shop.uscc))
    maker.ok(correction(shipped.entry.seq, shipment(shop.uscc, quantity="400").payload))
    shop.ok(receipt(maker.uscc, quantity="150"))
    live = projection_snapshot(maker.session)
    assert rebuild(maker.session) == log.ledger_size(maker.session)
    assert projection_snapshot(maker.session) == live


# -- found while writing these tests: reported, not fixed here ---------------------------------

def test_a_receipt_in_another_unit_than_its_shipment_is_refused(maker: Enterprise,
                                                                shop: Enterprise) -> None:
    maker.submit(production(), inspection(), shipment(shop.uscc))
    shop.refused("unit.mismatch", "payload.unit", receipt(maker.uscc, quantity="3", unit="kg"))


def test_a_corrected_intake_corrects_its_lots_quantity(maker: Enterprise) -> None:
    taken = maker.ok(intake(lot="RM2", quantity="1000"))
    maker.ok(correction(taken.entry.seq, intake(lot="RM2", quantity="100").payload))
    assert one(maker.session, LotRow, gtin=SYRUP, lot="RM2")["quantity"] == "100"


def test_correcting_an_earlier_filing_leaves_the_latest_in_charge(maker: Enterprise) -> None:
    earlier = maker.ok(filing(level="0.3"))
    latest = maker.ok(filing(level="0.1"))
    maker.ok(correction(earlier.entry.seq, filing(level="0.4").payload))
    live = one(maker.session, AdditiveFilingRow)
    assert (live["level"], live["seq"]) == ("0.1", latest.entry.seq)


# -- unit codes ------------------------------------------------------------------------------

def test_units_are_serialised_with_supervision_codes(maker: Enterprise) -> None:
    maker.ok(production())
    first = maker.ok(serialization("A1", "A2", codes=[code(1), code(2)]))
    maker.ok(serialization("A3", codes=[code(9)]))  # numbers may skip, never go back
    assert [(row["code"], row["supervision_code"], row["seq"])
            for row in rows(maker.session, UnitRow)] == [
        (unit_code(DRINK, "A1"), code(1), first.entry.seq),
        (unit_code(DRINK, "A2"), code(2), first.entry.seq),
        (unit_code(DRINK, "A3"), code(9), first.entry.seq + 1)]
    assert one(maker.session, ProductRow, gtin=DRINK)["units_issued"] == 9
    assert one(maker.session, LotRow, gtin=DRINK, lot="P1")["serialized"] == 3
    maker.refused("unit.code_reused", "payload.codes[0]", serialization("A4", codes=[code(9)]))


def test_a_required_category_ships_single_items_once_serialised(
        maker: Enterprise) -> None:
    maker.submit(product(SEAT, "62", "GB 27887-2024"),
                 production(gtin=SEAT, lot="S1", inputs=[], quantity="10"),
                 inspection(gtin=SEAT, lot="S1", standard=None))
    maker.refused("unit.serialization_required", "payload.lot",
                  shipment(BUYER, gtin=SEAT, lot="S1", quantity="1"))
    maker.ok(serialization("S-1", lot="S1", gtin=SEAT))
    maker.ok(shipment(BUYER, gtin=SEAT, lot="S1", quantity="1"))
    # Bulk (kg) of a required category has no units to serialise, and cases are logistic
    # units (coded by aggregating the pieces in them).
    maker.submit(production(gtin=SEAT, lot="S2", inputs=[], quantity="5", unit="kg"),
                 inspection(gtin=SEAT, lot="S2", standard=None),
                 production(gtin=SEAT, lot="S3", inputs=[], quantity="5", unit="case"),
                 inspection(gtin=SEAT, lot="S3", standard=None))
    maker.ok(shipment(BUYER, gtin=SEAT, lot="S2", quantity="1", unit="kg"))
    maker.ok(shipment(BUYER, gtin=SEAT, lot="S3", quantity="1", unit="case"))


def test_product_numbers_run_out_at_999999(maker: Enterprise) -> None:
    counter = maker.session.get(CounterRow, "product")
    assert counter is not None and counter.value == 1
    counter.value = 999_998
    maker.session.commit()
    maker.ok(product(gtin=JUICE))
    assert one(maker.session, ProductRow, gtin=JUICE)["number"] == 999_999
    maker.refused("product.numbers_exhausted", "payload.gtin", product(gtin=SEAT, category="62",
                                                                      standard="GB 27887-2024"))


# -- every rule is exercised -------------------------------------------------------------------

def test_every_rule_is_exercised_here(request: pytest.FixtureRequest) -> None:
    """Runs last (pytest keeps the file's order): the tests above put the rules they saw in
    SEEN. A run of part of the module cannot see them all, so it skips."""
    module = request.node.module
    selected = {getattr(item, "originalname", item.name) for item in request.session.items
                if getattr(item, "module", None) is module}
    if selected != {name for name in vars(module) if name.startswith("test_")}:
        pytest.skip("only a run of the whole module exercises every rule")
    # The recall rules are each exercised in tests/ledger/recall/test_recall_rules.py, the
    # spot-check rules in tests/ledger/risk/test_draws.py, the EPCIS and GS1 key rules in
    # tests/ledger/supervision/test_captured.py, the credit rules in tests/ledger/credit/.
    assert sorted(code for code in set(RULES) - SEEN if not code.startswith(
        ("recall.", "spot_check.", "epcis.", "gs1.", "credit."))) == []
