"""A small world to build lot graphs by hand: enterprises that sign and submit one record at
a time, on a ledger whose clock moves one second per append (so ``as_of`` times are exact)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import log
from ledger.log.entry import Statement
from ledger.supervision import names
from ledger.supervision.check_digits import gs1_check_digit
from ledger.supervision.context import unit_code
from ledger.supervision.models import StockRow
from tests.ledger.conftest import Producer, append, enrol, make_uscc

SUPPLIER = make_uscc(990)  # a supplier off the ledger


def gtin(item: int) -> str:
    body = f"0690123{item:06d}"
    return body + gs1_check_digit(body)


RAW, RAW2, MILK, YOGHURT, CAKE, SUGAR, GIFT = (gtin(n) for n in range(1, 8))


def stepping_clock(start: datetime) -> Callable[[], datetime]:
    moments: Iterator[datetime] = (start + timedelta(seconds=n) for n in range(1 << 30))
    return lambda: next(moments)


@dataclasses.dataclass
class World:
    """Enterprises by short name, and one-line ways to make each record."""

    session: Session
    ledger: log.Ledger
    members: dict[str, Producer]

    def uscc(self, name: str) -> str:
        return SUPPLIER if name == "supplier" else self.members[name].uscc

    def submit(self, who: str, type_: str, payload: dict[str, Any]) -> int:
        """Sign and append one record of ``who``, commit, and return its seq."""
        producer = self.members[who]
        statement = Statement(type_, producer.uscc, producer.key_id,
                              "2026-11-26T08:00:00+08:00", payload)
        (appended,) = append(self.session, self.ledger, [statement.sign(producer.key)])
        self.session.commit()
        return appended.entry.seq

    def register(self, who: str, product: str, name: str = "产品") -> int:
        # 08 (beverages), not 07 (dairy), whose counted lots ship only once serialised:
        # these tests serialise where they are about unit codes
        return self.submit(who, names.PRODUCT_REGISTERED, {
            "gtin": product, "name": name, "category": "08", "standard": "GB 25190-2010",
            "spec": "1L"})

    def make(self, who: str, product: str, lot: str, quantity: str, unit: str = "kg",
             inputs: tuple[tuple[str, str, str, str], ...] = ()) -> int:
        """A production from ``inputs`` (gtin, lot, quantity, unit), then a passing
        inspection so the lot may ship; returns the production's seq."""
        seq = self.submit(who, names.PRODUCTION, {
            "gtin": product, "lot": lot, "quantity": quantity, "unit": unit,
            "inputs": [{"gtin": g, "lot": lt, "quantity": q, "unit": u}
                       for g, lt, q, u in inputs]})
        self.submit(who, names.INSPECTION, {
            "gtin": product, "lot": lot, "kind": "self", "lab": "化验室", "verdict": "pass",
            "items": [{"name": "蛋白质", "pass": True}]})
        return seq

    def ship(self, who: str, to: str, product: str, lot: str, quantity: str,
             unit: str = "kg", document: str | None = None) -> int:
        return self.submit(who, names.SHIPMENT, {
            "gtin": product, "lot": lot, "quantity": quantity, "unit": unit,
            "counterparty": self.uscc(to), "document_no": document or f"DN-{who}-{lot}-{to}"})

    def receive(self, who: str, from_: str, product: str, lot: str, quantity: str,
                unit: str = "kg", document: str | None = None) -> int:
        return self.submit(who, names.RECEIPT, {
            "gtin": product, "lot": lot, "quantity": quantity, "unit": unit,
            "counterparty": self.uscc(from_),
            "document_no": document or f"DN-{from_}-{lot}-{who}"})

    def move(self, who: str, to: str, product: str, lot: str, quantity: str,
             unit: str = "kg") -> tuple[int, int]:
        """A shipment and its receipt in full."""
        return (self.ship(who, to, product, lot, quantity, unit),
                self.receive(to, who, product, lot, quantity, unit))

    def intake(self, who: str, product: str, lot: str, quantity: str) -> int:
        return self.submit(who, names.MATERIAL_INTAKE, {
            "gtin": product, "lot": lot, "material": "白砂糖", "supplier": SUPPLIER,
            "quantity": quantity, "unit": "kg", "accepted": True})

    def correct(self, who: str, seq: int, replacement: dict[str, Any]) -> int:
        return self.submit(who, names.CORRECTION, {"seq": seq, "reason": "录入错误",
                                                   "replacement": replacement})

    def serialise(self, who: str, product: str, lot: str, *serials: str) -> list[str]:
        self.submit(who, names.SERIALIZATION, {"gtin": product, "lot": lot,
                                               "serials": list(serials)})
        return [unit_code(product, serial) for serial in serials]

    def pack(self, who: str, parent: str, *children: str) -> int:
        return self.submit(who, names.AGGREGATION, {"parent": parent,
                                                    "children": list(children)})

    def stock(self) -> dict[tuple[str, str, str], Decimal]:
        """Every holder's stock now: (uscc, gtin, lot) -> quantity."""
        return {(e, g, lt): Decimal(q) for e, g, lt, q in self.session.execute(
            select(StockRow.enterprise, StockRow.gtin, StockRow.lot, StockRow.quantity))}


@pytest.fixture
def world(session: Session, ledger: log.Ledger) -> World:
    """A farm, a second farm, a dairy, a bakery, a distributor and three shops, with the
    farms' raw milk and the dairy's and bakery's products registered."""
    members = {name: enrol(session, ledger, serial) for serial, name in enumerate(
        ("farm", "farm2", "dairy", "bakery", "distributor", "shop", "shop2", "shop3"), 1)}
    # After the enrolments' real time, so recorded_at moves on by a second per append.
    clocked = dataclasses.replace(ledger, clock=stepping_clock(datetime.now(UTC)
                                                               + timedelta(hours=1)))
    world = World(session, clocked, members)
    world.register("farm", RAW, "生鲜乳")
    world.register("farm2", RAW2, "生鲜乳")
    world.register("dairy", MILK, "纯牛奶")
    world.register("dairy", YOGHURT, "酸奶")
    world.register("dairy", GIFT, "礼盒")
    world.register("bakery", CAKE, "奶油蛋糕")
    return world
