"""A small consumer world: a licensed dairy's milk, inspected, serialised, shipped to a shop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.log.entry import Statement
from ledger.supervision import names
from ledger.supervision.check_digits import gs1_check_digit
from ledger.supervision.serials import serialize_lot
from ledger.supervision.submit import submit
from scanners.supervision_code import SupervisionCode
from tests.ledger.conftest import make_uscc

VAULT = KeyVault("test")
CODE_SECRET = b"test-code-secret"
DAY = "2026-11-26T08:00:00+08:00"


def gtin(item: int) -> str:
    body = f"0690123{item:06d}"
    return body + gs1_check_digit(body)


MILK, CARSEAT = gtin(11), gtin(12)
SERIALS = ("A0001", "A0002", "A0003")


@dataclass(frozen=True)
class Code:
    """A parsed code as ``scanners.codes.parse_code`` hands it over: kind, AIs, supervision."""

    kind: str
    ais: tuple[tuple[str, str], ...] = ()
    supervision: SupervisionCode | None = None

    def get(self, ai: str) -> str | None:
        return dict(self.ais).get(ai)


def code(gtin_: str, lot: str | None = None, serial: str | None = None) -> Code:
    ais = [("01", gtin_)]
    if lot is not None:
        ais.append(("10", lot))
    if serial is not None:
        ais.append(("21", serial))
    return Code("element_string", tuple(ais))


@dataclass
class World:
    session: Session
    ledger: log.Ledger
    dairy: str
    shop: str
    seqs: dict[str, int] = field(default_factory=dict)
    #: supervision code -> serial, of the units serialised with codes
    codes: dict[str, str] = field(default_factory=dict)

    def submit(self, who: str, type_: str, payload: dict[str, Any], at: str = DAY) -> int:
        (appended,) = submit(self.session, self.ledger, VAULT,
                             [Statement(type_, who, "", at, payload)])
        self.session.commit()
        return appended.entry.seq


def build(session: Session, ledger: log.Ledger) -> World:
    dairy, shop = make_uscc(71), make_uscc(72)
    enrol_enterprise(session, ledger, VAULT, {
        "uscc": dairy, "name": "闽榕乳业", "roles": ["producer"], "district": "福州市闽侯县",
        "licences": {"SC": "SC10535012100053"}})
    enrol_enterprise(session, ledger, VAULT, {
        "uscc": shop, "name": "永辉超市", "roles": ["retailer"], "district": "福州市鼓楼区"})
    session.commit()
    world = World(session, ledger, dairy, shop)
    world.seqs["product"] = world.submit(dairy, names.PRODUCT_REGISTERED, {
        "gtin": MILK, "name": "全脂纯牛奶 250mL", "category": "07",
        "standard": "GB 25190-2010", "spec": "250mL×24"})
    world.seqs["production"] = world.submit(dairy, names.PRODUCTION, {
        "gtin": MILK, "lot": "L1", "quantity": "4817", "unit": "pcs",
        "produced_at": "2026-11-20T10:00:00+08:00", "expiry": "2027-05-20", "inputs": []})
    world.seqs["production2"] = world.submit(dairy, names.PRODUCTION, {
        "gtin": MILK, "lot": "L2", "quantity": "100", "unit": "pcs",
        "produced_at": "2026-11-21T10:00:00+08:00", "expiry": "2026-11-25", "inputs": []})
    world.seqs["inspection"] = world.submit(dairy, names.INSPECTION, {
        "gtin": MILK, "lot": "L1", "kind": "third_party", "lab": "福建省产品质量检验研究院",
        "standard": "GB 25190-2010", "verdict": "pass", "report_no": "FJQI-2026-08812",
        "inspected_at": "2026-11-21T09:00:00+08:00",
        "items": [{"name": "三聚氰胺", "value": "0.05", "limit": "≤2.5", "unit": "mg/kg",
                   "pass": True}]})
    world.seqs["serialization"] = world.submit(dairy, names.SERIALIZATION, {
        "gtin": MILK, "lot": "L1", "serials": list(SERIALS)})
    serialized = serialize_lot(session, ledger, VAULT, enterprise=dairy, gtin=MILK, lot="L1",
                               count=2, code_secret=CODE_SECRET)
    session.commit()
    world.seqs["serialized"] = serialized.seq
    world.codes = dict(zip(serialized.codes, serialized.serials, strict=True))
    world.seqs["shipment"] = world.submit(dairy, names.SHIPMENT, {
        "gtin": MILK, "lot": "L1", "quantity": "480", "unit": "pcs", "counterparty": shop,
        "document_no": "DN-SECRET-77"})
    return world


@pytest.fixture
def world(session: Session, ledger: log.Ledger) -> World:
    return build(session, ledger)
