"""Serialising a lot (ledger.supervision.serials): random serials, supervision codes with the
product's next unit numbers, one ``serialization`` entry through submit; the unit queries;
product numbers; rebuild == live."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.errors import EntryError, ForbiddenError, NotFoundError
from ledger.log.entry import Statement
from ledger.supervision import unit_codes
from ledger.supervision.admission import rebuild
from ledger.supervision.models import LotRow, ProductRow, UnitRow
from ledger.supervision.names import SERIALIZATION
from ledger.supervision.queries import (
    find_unit,
    find_unit_by_code,
    lot_units,
    product_by_number,
)
from ledger.supervision.rules import RuleViolation
from ledger.supervision.serials import (
    SERIAL_ALPHABET,
    SERIAL_LENGTH,
    new_serials,
    serialize_lot,
)
from ledger.supervision.submit import submit
from scanners import supervision_code
from tests.ledger.conftest import make_uscc, projection_snapshot
from tests.ledger.supervision.test_rules import (
    DAY,
    DRINK,
    JUICE,
    Record,
    inspection,
    intake,
    product,
    production,
    shipment,
)

VAULT = KeyVault("test")
SECRET = b"test code secret"
SEAT = "06901234567915"


@pytest.fixture
def maker(session: Session, ledger: log.Ledger) -> str:
    """A custodial drinks maker with products DRINK (number 1) and JUICE (number 2), and lot
    P1 of DRINK made (2000 pcs)."""
    uscc = make_uscc(1)
    enrol_enterprise(session, ledger, VAULT, {"uscc": uscc, "name": "饮料厂",
                                              "roles": ["producer"], "district": "福州市"})
    submit_as(session, ledger, uscc, product(), intake(), production(),
              product(gtin=JUICE))
    return uscc


def submit_as(session: Session, ledger: log.Ledger, uscc: str, *records: Record) -> None:
    submit(session, ledger, VAULT, [Statement(r.type, uscc, "", DAY, r.payload)
                                    for r in records])
    session.commit()


def serialize(session: Session, ledger: log.Ledger, uscc: str, count: int, lot: str = "P1",
              gtin: str = DRINK):  # type: ignore[no-untyped-def]
    done = serialize_lot(session, ledger, VAULT, enterprise=uscc, gtin=gtin, lot=lot,
                         count=count, code_secret=SECRET)
    session.commit()
    return done


def test_serials_are_random_distinct_and_gs1_safe() -> None:
    serials = new_serials(5000)
    assert len(set(serials)) == 5000
    assert all(len(s) == SERIAL_LENGTH and set(s) <= set(SERIAL_ALPHABET) for s in serials)
    assert len(SERIAL_ALPHABET) == 32 and not set("01IO") & set(SERIAL_ALPHABET)
    # every symbol shows up in every position: nothing sequential or fixed
    for position in range(SERIAL_LENGTH):
        assert {s[position] for s in serials} == set(SERIAL_ALPHABET)


def test_a_lot_is_serialised_with_codes_of_the_products_next_units(
        session: Session, ledger: log.Ledger, maker: str) -> None:
    first = serialize(session, ledger, maker, 3)
    second = serialize(session, ledger, maker, 2)
    assert [supervision_code.parse(c).unit for c in first.codes + second.codes] == [
        1, 2, 3, 4, 5]
    for code in first.codes + second.codes:
        read = supervision_code.parse(code)
        assert read.product == 1 and supervision_code.authentic(SECRET, read)
    assert first.appended.entry.statement.payload == {
        "gtin": DRINK, "lot": "P1", "serials": list(first.serials), "codes": list(first.codes)}
    product_row = session.get(ProductRow, DRINK)
    assert product_row is not None and product_row.units_issued == 5
    lot = session.get(LotRow, (DRINK, "P1"))
    assert lot is not None and lot.serialized == 5
    serial, code = second.serials[1], second.codes[1]
    unit = find_unit(session, gtin=DRINK, serial=serial)
    assert unit is not None and unit == find_unit_by_code(session, code)
    assert (unit.gtin, unit.lot, unit.serial, unit.supervision_code, unit.seq) == (
        DRINK, "P1", serial, code, second.seq)
    assert find_unit(session, gtin=DRINK, serial="NEVER") is None
    assert find_unit_by_code(session, unit_codes.mint(SECRET, 1, 6)) is None
    assert [u.serial for u in lot_units(session, DRINK, "P1")] == [
        *first.serials, *second.serials]
    assert product_by_number(session, 2).gtin == JUICE  # type: ignore[union-attr]
    assert product_by_number(session, 3) is None


def test_refusals_leave_the_ledger_unchanged(session: Session, ledger: log.Ledger,
                                             maker: str) -> None:
    size = log.ledger_size(session)
    for count in (0, -1, 100_001, True):
        with pytest.raises(EntryError, match="count must be a whole number") as caught:
            serialize(session, ledger, maker, count)
        assert caught.value.field == ("count",)
    with pytest.raises(NotFoundError, match="not on the ledger"):
        serialize(session, ledger, maker, 1, lot="NOPE")
    submit_as(session, ledger, maker, production(lot="BULK", inputs=[], unit="kg"))
    with pytest.raises(EntryError, match="bulk goods have no units") as bulk:
        serialize(session, ledger, maker, 1, lot="BULK")
    assert bulk.value.field == ("lot",)
    other = make_uscc(2)
    enrol_enterprise(session, ledger, VAULT, {"uscc": other, "name": "别家",
                                              "roles": ["producer"], "district": "福州市"})
    session.commit()
    size = log.ledger_size(session)
    with pytest.raises(ForbiddenError, match="only its maker"):
        serialize(session, ledger, other, 1)
    assert log.ledger_size(session) == size


def test_product_numbers_follow_registration_and_survive_rebuild(
        session: Session, ledger: log.Ledger, maker: str) -> None:
    submit_as(session, ledger, maker, product(SEAT, "62", "GB 27887-2024"),
              production(gtin=SEAT, lot="S1", inputs=[], quantity="10"),
              inspection(gtin=SEAT, lot="S1", standard=None))
    numbers = dict(session.execute(select(ProductRow.gtin, ProductRow.number)).all())
    assert numbers == {DRINK: 1, JUICE: 2, SEAT: 3}
    with pytest.raises(RuleViolation, match="must be serialised"):
        submit_as(session, ledger, maker, shipment(make_uscc(9), gtin=SEAT, lot="S1",
                                                   quantity="1"))
    session.rollback()
    seats = serialize(session, ledger, maker, 4, lot="S1", gtin=SEAT)
    assert {supervision_code.parse(c).product for c in seats.codes} == {3}
    submit_as(session, ledger, maker, shipment(make_uscc(9), gtin=SEAT, lot="S1",
                                               quantity="1"))
    serialize(session, ledger, maker, 3)
    live = projection_snapshot(session)
    assert rebuild(session) == log.ledger_size(session)
    session.commit()
    assert projection_snapshot(session) == live


def test_a_serialization_with_codes_from_a_client_is_checked_like_ours(
        session: Session, ledger: log.Ledger, maker: str) -> None:
    codes = [unit_codes.mint(b"someone else's secret", 1, unit) for unit in (1, 2)]
    submit(session, ledger, VAULT, [Statement(SERIALIZATION, maker, "", DAY, {
        "gtin": DRINK, "lot": "P1", "serials": ["X1", "X2"], "codes": codes})])
    session.commit()
    # The rules hold no secret: such codes are admitted, and never authentic at lookup.
    assert not supervision_code.authentic(SECRET, supervision_code.parse(codes[0]))
    # The service carries on from the numbers the ledger has used.
    assert supervision_code.parse(serialize(session, ledger, maker, 1).codes[0]).unit == 3


@given(st.integers(1, unit_codes.MAX_PRODUCT), st.integers(1, unit_codes.MAX_UNIT))
@settings(max_examples=200)
def test_the_rules_read_the_numbers_scanners_read(product_number: int, unit: int) -> None:
    code = unit_codes.mint(SECRET, product_number, unit)
    read = supervision_code.parse(code)
    assert unit_codes.code_numbers(code) == (read.product, read.unit) == (product_number, unit)
    assert unit_codes.code_numbers(code[:-1] + str((int(code[-1]) + 1) % 10)) is None


@pytest.mark.slow
def test_a_hundred_thousand_units_in_one_entry(session: Session, ledger: log.Ledger,
                                               maker: str) -> None:
    submit_as(session, ledger, maker, production(lot="BIG", inputs=[], quantity="100000"))
    started = time.perf_counter()
    done = serialize(session, ledger, maker, 100_000, lot="BIG")
    took = time.perf_counter() - started
    assert len(set(done.serials)) == len(set(done.codes)) == 100_000
    assert session.scalar(select(func.count()).select_from(UnitRow)) == 100_000
    with pytest.raises(RuleViolation, match="never made"):
        serialize(session, ledger, maker, 1, lot="BIG")
    assert find_unit_by_code(session, done.codes[-1]).serial == done.serials[-1]  # type: ignore[union-attr]
    print(f"100,000 units serialised in {took:.2f} s")
    assert took < 60
