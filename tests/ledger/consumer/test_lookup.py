"""lookup_code: what a shopper sees of a product, lot or unit code, and the query counter."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ledger.consumer import Lookup, lookup_code
from ledger.consumer.models import UnitQueryRow
from ledger.recall import start_recall
from ledger.supervision.admission import rebuild
from scanners import supervision_code
from tests.ledger.consumer.conftest import (
    CODE_SECRET,
    MILK,
    SERIALS,
    VAULT,
    Code,
    World,
    code,
)

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def look(session: Session, parsed: Any, **options: Any) -> Lookup:
    options.setdefault("now", NOW)
    found = lookup_code(session, parsed, code_secret=CODE_SECRET, **options)
    session.commit()
    return found


def shape(value: Any) -> Any:
    """The JSON's structure: keys and value types, lists by their first item's shape."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "null"


def test_a_unit_code_shows_the_product_maker_lot_and_inspections(world: World,
                                                                 session: Session) -> None:
    found = look(session, code(MILK, "L1", SERIALS[0]))
    assert (found.level, found.found, found.authenticity) == ("unit", True, "genuine")
    assert (found.gtin, found.lot, found.serial) == (MILK, "L1", SERIALS[0])
    assert found.code == f"(01){MILK}(21){SERIALS[0]}"
    assert found.product.name == "全脂纯牛奶 250mL"
    assert (found.product.category_zh, found.product.category_en) == ("乳制品", "Dairy products")
    assert (found.maker.name, found.maker.licence_status) == ("闽榕乳业", "licensed")
    assert [(lic.kind, lic.number) for lic in found.maker.licences] == [
        ("SC", "SC10535012100053")]
    assert (found.lot_info.produced_at, found.lot_info.expiry) == (
        "2026-11-20T10:00:00+08:00", "2027-05-20")
    assert not found.lot_info.expired
    (inspection,) = found.inspections
    assert (inspection.kind, inspection.lab, inspection.verdict, inspection.inspected_at) == (
        "third_party", "福建省产品质量检验研究院", "pass", "2026-11-21T09:00:00+08:00")
    assert found.recall.status == "none"
    assert found.warnings == ()
    roles = {entry.role: entry for entry in found.entries}
    assert roles["product"].seq == world.seqs["product"] and roles["product"].public
    assert roles["lot"].seq == world.seqs["production"] and not roles["lot"].public
    assert roles["inspection"].seq == world.seqs["inspection"] and roles["inspection"].public
    assert roles["unit"].seq == world.seqs["serialization"] and not roles["unit"].public
    assert roles["maker"].type == "enterprise_registered" and roles["maker"].public
    assert list(found.seqs) == sorted(entry.seq for entry in found.entries)


def test_the_answer_never_holds_customers_suppliers_quantities_or_documents(
        world: World, session: Session) -> None:
    text = json.dumps(look(session, code(MILK, "L1", SERIALS[0])).as_json(),
                      ensure_ascii=False)
    for secret in (world.shop, "永辉超市", "4817", "480", "DN-SECRET-77"):
        assert secret not in text


def test_queries_are_counted_first_then_how_many_and_since_when(world: World,
                                                                session: Session) -> None:
    first = look(session, code(MILK, "L1", SERIALS[1]))
    assert (first.queries.counted, first.queries.count, first.queries.first) == (True, 1, True)
    later = look(session, code(MILK, serial=SERIALS[1]),
                 now=datetime(2026, 11, 29, tzinfo=UTC))
    assert (later.queries.count, later.queries.first) == (2, False)
    assert later.queries.first_at == first.queries.first_at == "2026-11-28T04:00:00.000000Z"
    assert not later.counterfeit


def test_above_the_threshold_a_genuine_code_warns_of_a_counterfeit(world: World,
                                                                  session: Session) -> None:
    for _ in range(3):
        assert not look(session, code(MILK, "L1", SERIALS[2]), threshold=3).counterfeit
    found = look(session, code(MILK, "L1", SERIALS[2]), threshold=3)
    assert found.authenticity == "too_many_queries" and found.counterfeit
    assert found.warnings == ("counterfeit.too_many_queries",)


def test_a_code_never_issued_answers_in_the_same_shape_and_warns(world: World,
                                                                 session: Session) -> None:
    genuine = look(session, code(MILK, "L1", SERIALS[0]))
    fake = look(session, code(MILK, "L1", "Z9999"))
    assert (fake.found, fake.authenticity) == (False, "not_issued")
    assert fake.warnings == ("counterfeit.not_issued",)
    assert shape(fake.as_json())["queries"] == shape(genuine.as_json())["queries"]
    assert shape(fake.as_json()).keys() == shape(genuine.as_json()).keys()
    # Its queries are counted too, so a copied fake code shows up as scanned again and again.
    assert look(session, code(MILK, "L1", "Z9999")).queries.count == 2
    # A genuine serial printed with another lot is a copy.
    assert look(session, code(MILK, "L2", SERIALS[0])).authenticity == "not_issued"


def test_every_code_answers_with_the_same_keys(world: World, session: Session) -> None:
    forged = supervision_code.parse(supervision_code.mint(b"not-the-secret", 1, 1))
    answers = [look(session, parsed) for parsed in (
        code(MILK), code(MILK, "L1"), code(MILK, "L1", SERIALS[0]), code(MILK, "NOPE"),
        code("06901234000003"), Code("supervision_code", supervision=forged))]
    shapes = [shape(answer.as_json()) for answer in answers]
    for found in shapes[1:]:
        assert found.keys() == shapes[0].keys()
        for section in ("product", "maker", "lot_info", "recall", "queries"):
            assert found[section].keys() == shapes[0][section].keys()


def test_a_forged_supervision_code_is_not_authentic(world: World, session: Session) -> None:
    forged = supervision_code.parse(supervision_code.mint(b"not-the-secret", 1, 1))
    found = look(session, Code("supervision_code", supervision=forged))
    assert (found.level, found.found, found.authenticity) == ("unit", False, "not_authentic")
    assert found.warnings == ("counterfeit.not_authentic",)
    assert found.queries.count == 1


def test_an_authentic_supervision_code_never_issued_is_not_issued(world: World,
                                                                  session: Session) -> None:
    minted = supervision_code.parse(supervision_code.mint(CODE_SECRET, 999_999, 9_999_999))
    found = look(session, Code("supervision_code", supervision=minted))
    assert (found.found, found.authenticity) == (False, "not_issued")


def test_lot_and_product_codes_count_nothing(world: World, session: Session) -> None:
    lot = look(session, code(MILK, "L1"))
    assert (lot.level, lot.found, lot.authenticity, lot.queries.counted) == (
        "lot", True, "unchecked", False)
    product = look(session, code(MILK))
    assert (product.level, product.found, product.lot_info.found) == ("product", True, False)
    assert product.product.name == "全脂纯牛奶 250mL"
    assert not look(session, code(MILK, "L1", SERIALS[0]), count=False).queries.counted
    assert session.scalars(select(UnitQueryRow)).all() == []


def test_unknown_items_are_not_found(world: World, session: Session) -> None:
    assert not look(session, code(MILK, "NOPE")).found
    unknown = look(session, code("06901234000003"))
    assert not unknown.found and not unknown.product.found and not unknown.maker.found
    assert unknown.entries == ()


def test_an_expired_lot_says_so(world: World, session: Session) -> None:
    found = look(session, code(MILK, "L2"))
    assert found.lot_info.expired and "lot.expired" in found.warnings
    assert not look(session, code(MILK, "L2"),
                    now=datetime(2026, 11, 24, tzinfo=UTC)).lot_info.expired


def test_a_recalled_lot_carries_the_recall(world: World, session: Session) -> None:
    started = start_recall(session, world.ledger, VAULT, enterprise=world.dairy,
                           kind="voluntary", level=1, reason="检出致病菌", hazard="腹泻",
                           lots=[(MILK, "L1")], consumer_advice="请停止饮用",
                           event_time="2026-11-27T09:00:00+08:00")
    session.commit()
    found = look(session, code(MILK, "L1", SERIALS[0]))
    assert (found.recall.status, found.recall.id, found.recall.level) == (
        "open", started.seq, 1)
    assert (found.recall.reason, found.recall.consumer_advice) == ("检出致病菌", "请停止饮用")
    assert "lot.recalled" in found.warnings
    recall = next(entry for entry in found.entries if entry.role == "recall")
    assert recall.type == "recall_initiated" and not recall.public  # it names the holders


def test_a_failed_inspection_and_an_unlicensed_maker_warn(world: World,
                                                          session: Session) -> None:
    world.submit(world.dairy, "inspection", {
        "gtin": MILK, "lot": "L2", "kind": "spot_check", "lab": "市场监管局", "verdict": "fail",
        "report_no": "CC-1", "inspected_at": "2026-11-22T09:00:00+08:00",
        "items": [{"name": "菌落总数", "value": "9e5", "pass": False}]})
    found = look(session, code(MILK, "L2"))
    assert "lot.failed_inspection" in found.warnings
    assert found.inspections[-1].items[0]["pass"] is False


def test_rebuild_leaves_the_counters_alone(world: World, session: Session) -> None:
    look(session, code(MILK, "L1", SERIALS[0]))
    rebuild(session)
    session.commit()
    assert look(session, code(MILK, "L1", SERIALS[0])).queries.count == 2


@pytest.mark.parametrize("threshold", [0, 1])
def test_the_threshold_is_the_callers(world: World, session: Session, threshold: int) -> None:
    found = look(session, code(MILK, "L1", SERIALS[0]), threshold=threshold)
    assert found.counterfeit is (threshold == 0)


def statements(session: Session, parsed: Any) -> list[str]:
    """The SQL a lookup of ``parsed`` runs."""
    seen: list[str] = []
    engine = session.get_bind().engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        look(session, parsed)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_code_never_issued_runs_the_statements_an_issued_one_does(world: World,
                                                                    session: Session) -> None:
    look(session, code(MILK, "L1", SERIALS[0]))  # the lot's facts, read once per ledger state
    issued = statements(session, code(MILK, "L1", SERIALS[1]))
    assert statements(session, code(MILK, "L1", "NEVER1")) == issued
    assert len(issued) <= 4  # the ledger head, the unit, the count (and SQLite's BEGIN)
    forged = supervision_code.parse(supervision_code.mint(b"not-the-secret", 1, 2))
    minted = supervision_code.parse(supervision_code.mint(CODE_SECRET, 1, 9_000_001))
    look(session, Code("supervision_code", supervision=minted))  # warm, as above
    assert statements(session, Code("supervision_code", supervision=forged)) == statements(
        session, Code("supervision_code", supervision=minted))


def test_facts_follow_the_ledger_at_once(world: World, session: Session) -> None:
    assert look(session, code(MILK, "L2")).lot_info.inspection == "none"
    world.submit(world.dairy, "inspection", {
        "gtin": MILK, "lot": "L2", "kind": "self", "lab": "化验室", "verdict": "pass",
        "report_no": "S-1", "inspected_at": "2026-11-22T09:00:00+08:00",
        "items": [{"name": "蛋白质", "value": "3.1", "pass": True}]})
    after = look(session, code(MILK, "L2"))
    assert after.lot_info.inspection == "pass" and len(after.inspections) == 1


def supervision(text: str) -> Code:
    return Code("supervision_code", supervision=supervision_code.parse(text))


def test_an_issued_supervision_code_is_its_unit_counted_with_its_gs1_code(
        world: World, session: Session) -> None:
    text, serial = next(iter(world.codes.items()))
    found = look(session, supervision(text))
    assert (found.level, found.found, found.authenticity) == ("unit", True, "genuine")
    assert (found.gtin, found.lot, found.serial) == (MILK, "L1", serial)
    assert found.product.name == "全脂纯牛奶 250mL" and found.queries.first
    unit = next(entry for entry in found.entries if entry.role == "unit")
    assert (unit.seq, unit.type, unit.public) == (world.seqs["serialized"], "serialization",
                                                  False)
    # the unit's GS1 code and its supervision code are one unit: one counter
    assert look(session, code(MILK, "L1", serial)).queries.count == 2
    assert look(session, supervision(text)).queries.count == 3


def test_issued_and_never_issued_supervision_codes_run_the_same_statements(
        world: World, session: Session) -> None:
    issued = next(iter(world.codes))
    never = supervision_code.mint(CODE_SECRET, 1, 9_000_000)
    look(session, supervision(issued))
    look(session, supervision(never))  # each reads its facts once per ledger state
    assert look(session, supervision(never)).authenticity == "not_issued"
    assert statements(session, supervision(issued)) == statements(session, supervision(never))
