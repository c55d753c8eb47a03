"""Known answers: trace on hand-built lot graphs, on SQLite and PostgreSQL.

Each test builds a small network record by record (``World``) and checks the lots, holdings
(with quantities), steps (with the seqs that make them), unit codes and truncation that
``trace_downstream`` / ``trace_upstream`` report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ledger import log
from ledger.errors import EntryError, ForbiddenError, NotFoundError
from ledger.log.storage import EntryRow
from ledger.trace import (
    Holding,
    Node,
    Trace,
    TraceStart,
    downstream_lots,
    ledger_size_at,
    parse_as_of,
    trace_downstream,
    trace_upstream,
)
from tests.ledger.trace.conftest import (
    CAKE,
    GIFT,
    MILK,
    RAW,
    RAW2,
    SUGAR,
    SUPPLIER,
    YOGHURT,
    World,
)

UNBOUNDED = {"depth": 1000, "limit": 100_000}

# -- reading a trace by the world's names --------------------------------------------------------


def _name(world: World, uscc: str) -> str:
    return next((name for name, member in world.members.items() if member.uscc == uscc),
                "supplier" if uscc == SUPPLIER else uscc)


def holdings(world: World, trace: Trace) -> dict[tuple[str, str, str], Holding]:
    """The holdings by (holder's short name, gtin, lot)."""
    return {(_name(world, h.holder), h.gtin, h.lot): h for h in trace.holdings}


def quantities(holding: Holding) -> tuple[str | None, ...]:
    """received, in transit, produced, passed on, used, held."""
    return (holding.received, holding.in_transit, holding.produced, holding.passed_on,
            holding.used, holding.held)


def steps(world: World, trace: Trace) -> set[tuple[str, str, str, str, tuple[int, ...]]]:
    """(kind, from, to, lot (or "input>output"), seqs) for every step."""
    return {(step.kind, _name(world, step.source.holder), _name(world, step.target.holder),
             step.source.lot if step.source.lot == step.target.lot
             else f"{step.source.lot}>{step.target.lot}", step.seqs) for step in trace.steps}


def node(world: World, name: str, gtin: str, lot: str) -> Node:
    return Node(world.uscc(name), gtin, lot)


# -- a chain ---------------------------------------------------------------------------------------


@pytest.fixture
def chain(world: World) -> dict[str, int]:
    """farm R1 (100 kg) -> dairy, made into M1 (50 pcs) -> distributor (30) -> shop (20)."""
    seqs = {"make_r1": world.make("farm", RAW, "R1", "100")}
    seqs["ship_r1"], seqs["receive_r1"] = world.move("farm", "dairy", RAW, "R1", "100")
    seqs["make_m1"] = world.make("dairy", MILK, "M1", "50", "pcs",
                                 ((RAW, "R1", "100", "kg"),))
    seqs["ship_m1"], seqs["receive_m1"] = world.move("dairy", "distributor", MILK, "M1", "30",
                                                     "pcs")
    seqs["ship_shop"], seqs["receive_shop"] = world.move("distributor", "shop", MILK, "M1",
                                                         "20", "pcs")
    return seqs


def test_a_chain_downstream(world: World, chain: dict[str, int]) -> None:
    trace = trace_downstream(world.session, TraceStart.of_lot(RAW, "R1"))
    assert [(lot.gtin, lot.lot, lot.depth, lot.product, lot.inspection) for lot in trace.lots] \
        == [(RAW, "R1", 0, "生鲜乳", "pass"), (MILK, "M1", 1, "纯牛奶", "pass")]
    found = holdings(world, trace)
    assert {key: (h.depth, quantities(h), h.end) for key, h in found.items()} == {
        ("farm", RAW, "R1"): (0, ("0", "0", "100", "100", "0", "0"), False),
        ("dairy", RAW, "R1"): (0, ("100", "0", None, "0", "100", "0"), False),
        ("dairy", MILK, "M1"): (1, ("0", "0", "50", "30", "0", "20"), False),
        ("distributor", MILK, "M1"): (2, ("30", "0", None, "20", "0", "10"), False),
        ("shop", MILK, "M1"): (3, ("20", "0", None, "0", "0", "20"), True),
    }
    assert found[("dairy", MILK, "M1")].name == "企业3"
    assert steps(world, trace) == {
        ("shipment", "farm", "dairy", "R1", (chain["ship_r1"],)),
        ("production", "dairy", "dairy", "R1>M1", (chain["make_m1"],)),
        ("shipment", "dairy", "distributor", "M1", (chain["ship_m1"],)),
        ("shipment", "distributor", "shop", "M1", (chain["ship_shop"],)),
    }
    shipped = next(s for s in trace.steps if s.seqs == (chain["ship_shop"],))
    assert (shipped.quantity, shipped.received, shipped.unit, shipped.receipt_seqs) == (
        "20", "20", "pcs", (chain["receive_shop"],))
    assert [(_name(world, h.holder), h.lot) for h in trace.ends] == [("shop", "M1")]
    assert not trace.truncated and trace.truncation == ()
    assert trace.size == log.ledger_size(world.session)


def test_a_chain_upstream(world: World, chain: dict[str, int]) -> None:
    trace = trace_upstream(world.session, TraceStart.of_lot(MILK, "M1"))
    assert {key: h.depth for key, h in holdings(world, trace).items()} == {
        ("dairy", MILK, "M1"): 0, ("distributor", MILK, "M1"): 0, ("shop", MILK, "M1"): 0,
        ("dairy", RAW, "R1"): 1, ("farm", RAW, "R1"): 2}
    assert [(_name(world, h.holder), h.lot) for h in trace.ends] == [("farm", "R1")]
    assert ("production", "dairy", "dairy", "R1>M1", (chain["make_m1"],)) in steps(world, trace)
    assert [lot.lot for lot in trace.lots] == ["M1", "R1"]


def test_depth_and_limit_truncate(world: World, chain: dict[str, int]) -> None:
    shallow = trace_downstream(world.session, TraceStart.of_lot(RAW, "R1"), depth=1)
    assert set(holdings(world, shallow)) == {("farm", RAW, "R1"), ("dairy", RAW, "R1"),
                                             ("dairy", MILK, "M1")}
    assert (shallow.truncated, shallow.truncation) == (True, ("depth",))
    few = trace_downstream(world.session, TraceStart.of_lot(RAW, "R1"), limit=3)
    assert len(few.holdings) == 3 and few.truncation == ("limit",)
    exact = trace_downstream(world.session, TraceStart.of_lot(RAW, "R1"), depth=3)
    assert not exact.truncated and len(exact.holdings) == 5


def test_downstream_lots_is_the_whole_reach(world: World, chain: dict[str, int]) -> None:
    reach = downstream_lots(world.session, RAW, "R1")
    size, lots, holders = reach
    assert size == log.ledger_size(world.session)
    assert lots == ((RAW, "R1"), (MILK, "M1"))
    assert set(holders) == {node(world, "farm", RAW, "R1"), node(world, "dairy", RAW, "R1"),
                            node(world, "dairy", MILK, "M1"),
                            node(world, "distributor", MILK, "M1"),
                            node(world, "shop", MILK, "M1")}
    assert list(holders) == sorted(holders)
    before = downstream_lots(world.session, RAW, "R1", as_of=chain["make_m1"])
    assert before.lots == ((RAW, "R1"),) and before.size == chain["make_m1"]


# -- a diamond, a split and a merge ---------------------------------------------------------------


def test_a_diamond(world: World) -> None:
    """R1 goes to the dairy and the bakery; both make from it; the bakery's cake also takes
    the dairy's milk: one lot reached by two paths is reported once."""
    world.make("farm", RAW, "R1", "100")
    world.move("farm", "dairy", RAW, "R1", "60")
    world.move("farm", "bakery", RAW, "R1", "40")
    world.make("dairy", MILK, "M1", "30", "pcs", ((RAW, "R1", "60", "kg"),))
    world.move("dairy", "bakery", MILK, "M1", "30", "pcs")
    cake = world.make("bakery", CAKE, "K1", "10", "pcs",
                      ((RAW, "R1", "40", "kg"), (MILK, "M1", "30", "pcs")))
    world.move("bakery", "shop", CAKE, "K1", "10", "pcs")
    trace = trace_downstream(world.session, TraceStart.of_lot(RAW, "R1"))
    found = holdings(world, trace)
    assert set(found) == {("farm", RAW, "R1"), ("dairy", RAW, "R1"), ("bakery", RAW, "R1"),
                          ("dairy", MILK, "M1"), ("bakery", MILK, "M1"),
                          ("bakery", CAKE, "K1"), ("shop", CAKE, "K1")}
    assert found[("bakery", CAKE, "K1")].depth == 1  # the shortest path: R1 at the bakery
    into_cake = {s for s in steps(world, trace) if s[3].endswith(">K1")}
    assert into_cake == {("production", "bakery", "bakery", "R1>K1", (cake,)),
                         ("production", "bakery", "bakery", "M1>K1", (cake,))}
    assert [lot.lot for lot in trace.lots] == ["R1", "M1", "K1"]  # by depth, then GTIN
    # upstream from the cake: both of its inputs, and the farm once
    up = trace_upstream(world.session, TraceStart.of_lot(CAKE, "K1"))
    assert {key for key, h in holdings(world, up).items() if h.end} == {("farm", RAW, "R1")}


def test_a_split_and_a_merge(world: World) -> None:
    world.make("farm", RAW, "R1", "90")
    world.make("farm2", RAW2, "R2", "50")
    for shop in ("shop", "shop2", "shop3"):  # the farm's lot split three ways
        world.move("farm", shop, RAW, "R1", "30")
    world.move("farm2", "dairy", RAW2, "R2", "50")
    world.move("shop", "dairy", RAW, "R1", "10")  # one shop sells some on to the dairy
    world.make("dairy", YOGHURT, "Y1", "20", "pcs",  # the merge
               ((RAW, "R1", "10", "kg"), (RAW2, "R2", "50", "kg")))
    down = trace_downstream(world.session, TraceStart.of_lot(RAW, "R1"))
    assert {key: quantities(h) for key, h in holdings(world, down).items()
            if key[0].startswith("shop")} == {
        ("shop", RAW, "R1"): ("30", "0", None, "10", "0", "20"),
        ("shop2", RAW, "R1"): ("30", "0", None, "0", "0", "30"),
        ("shop3", RAW, "R1"): ("30", "0", None, "0", "0", "30")}
    assert ("dairy", YOGHURT, "Y1") in holdings(world, down)
    assert ("farm2", RAW2, "R2") not in holdings(world, down)  # a co-input is not downstream
    up = trace_upstream(world.session, TraceStart.of_lot(YOGHURT, "Y1"))
    assert {key for key, h in holdings(world, up).items() if h.end} == {
        ("farm", RAW, "R1"), ("farm2", RAW2, "R2")}
    assert ("shop2", RAW, "R1") not in holdings(world, up)  # nothing of shop2's went in


# -- cycles ----------------------------------------------------------------------------------------


def test_a_return_and_reshipment_cycle_terminates(world: World) -> None:
    world.make("dairy", MILK, "M1", "100", "pcs")
    world.move("dairy", "distributor", MILK, "M1", "60", "pcs")
    world.move("distributor", "shop", MILK, "M1", "40", "pcs")
    back = world.move("shop", "distributor", MILK, "M1", "15", "pcs")  # a return
    world.move("distributor", "shop2", MILK, "M1", "25", "pcs")  # and shipped on again
    world.move("distributor", "dairy", MILK, "M1", "5", "pcs")  # even back to the maker
    trace = trace_downstream(world.session, TraceStart.of_lot(MILK, "M1"))
    found = holdings(world, trace)
    assert {key[0]: quantities(h) for key, h in found.items()} == {
        "dairy": ("5", "0", "100", "60", "0", "45"),
        "distributor": ("75", "0", None, "70", "0", "5"),
        "shop": ("40", "0", None, "15", "0", "25"),
        "shop2": ("25", "0", None, "0", "0", "25")}
    assert ("shipment", "shop", "distributor", "M1", (back[0],)) in steps(world, trace)
    assert {key[0] for key, h in found.items() if h.end} == {"shop2"}
    stock = world.stock()
    assert all(stock[(h.holder, h.gtin, h.lot)] == int(h.held or 0) for h in trace.holdings)
    up = trace_upstream(world.session, TraceStart.of_lot(MILK, "M1"))
    assert len(up.holdings) == 4 and not up.truncated


# -- corrections and as_of -------------------------------------------------------------------------


def test_a_correction_reroutes_a_shipment(world: World) -> None:
    world.make("dairy", MILK, "M1", "100", "pcs")
    wrong = world.ship("dairy", "shop", MILK, "M1", "30", "pcs", document="DN-1")
    corrected = world.correct("dairy", wrong, {
        "gtin": MILK, "lot": "M1", "quantity": "30", "unit": "pcs",
        "counterparty": world.uscc("shop2"), "document_no": "DN-1"})
    received = world.receive("shop2", "dairy", MILK, "M1", "30", "pcs", document="DN-1")
    trace = trace_downstream(world.session, TraceStart.of_lot(MILK, "M1"))
    assert set(holdings(world, trace)) == {("dairy", MILK, "M1"), ("shop2", MILK, "M1")}
    (step,) = trace.steps
    assert (step.seqs, step.receipt_seqs, step.received) == ((corrected,), (received,), "30")
    # before the correction the graph sent it to the first shop
    before = trace_downstream(world.session, TraceStart.of_lot(MILK, "M1"), as_of=corrected)
    assert set(holdings(world, before)) == {("dairy", MILK, "M1"), ("shop", MILK, "M1")}
    assert quantities(holdings(world, before)[("shop", MILK, "M1")]) == (
        "0", "30", None, "0", "0", "0")
    assert before.steps[0].seqs == (wrong,)
    after = trace_downstream(world.session, TraceStart.of_lot(MILK, "M1"), as_of=corrected + 1)
    assert quantities(holdings(world, after)[("shop2", MILK, "M1")]) == (
        "0", "30", None, "0", "0", "0")


def test_as_of_just_before_and_just_after_a_shipment(world: World) -> None:
    world.make("dairy", MILK, "M1", "100", "pcs")
    shipped = world.ship("dairy", "shop", MILK, "M1", "40", "pcs")
    stock_then = world.stock()
    received = world.receive("shop", "dairy", MILK, "M1", "40", "pcs")
    start = TraceStart.of_lot(MILK, "M1")
    before = trace_downstream(world.session, start, as_of=shipped)
    assert set(holdings(world, before)) == {("dairy", MILK, "M1")}
    assert quantities(before.holdings[0]) == ("0", "0", "100", "0", "0", "100")
    after = trace_downstream(world.session, start, as_of=shipped + 1)
    found = holdings(world, after)
    assert quantities(found[("shop", MILK, "M1")]) == ("0", "40", None, "0", "0", "0")
    assert found[("dairy", MILK, "M1")].held == str(
        stock_then[(world.uscc("dairy"), MILK, "M1")])
    assert after.steps[0].receipt_seqs == () and after.steps[0].received == "0"
    now = trace_downstream(world.session, start)
    assert quantities(holdings(world, now)[("shop", MILK, "M1")]) == (
        "40", "0", None, "0", "0", "40")
    assert now.steps[0].receipt_seqs == (received,)
    # the same, asked by time: the moment the shipment was recorded, and a moment before
    recorded = world.session.scalar(select(EntryRow.recorded_at)
                                     .where(EntryRow.seq == shipped))
    assert recorded is not None
    moment = datetime.fromisoformat(recorded.replace("Z", "+00:00"))
    assert ledger_size_at(world.session, moment) == shipped + 1
    assert ledger_size_at(world.session, moment - timedelta(microseconds=1)) == shipped
    by_time = trace_downstream(world.session, start, as_of=moment - timedelta(microseconds=1))
    assert by_time.size == shipped and set(holdings(world, by_time)) == set(
        holdings(world, before))
    assert trace_downstream(world.session, start, as_of=parse_as_of(recorded)).size \
        == shipped + 1
    assert ledger_size_at(world.session, datetime(2000, 1, 1, tzinfo=UTC)) == 0


def test_as_of_errors(world: World) -> None:
    world.make("dairy", MILK, "M1", "100", "pcs")
    size = log.ledger_size(world.session)
    with pytest.raises(NotFoundError, match=f"as_of {size + 1} is past the ledger's size"):
        trace_downstream(world.session, TraceStart.of_lot(MILK, "M1"), as_of=size + 1)
    with pytest.raises(NotFoundError, match=f"lot {MILK}/M1 is not on the ledger at size 3"):
        trace_downstream(world.session, TraceStart.of_lot(MILK, "M1"), as_of=3)
    with pytest.raises(EntryError, match="as_of must be a ledger size or an RFC 3339 time"):
        parse_as_of("yesterday")
    with pytest.raises(EntryError, match="with an offset"):
        parse_as_of("2026-11-26T08:00:00")
    assert parse_as_of(" 42 ") == 42
    assert parse_as_of("2026-11-26T08:00:00Z") == datetime(2026, 11, 26, 8, tzinfo=UTC)


# -- units, intake, who may see what ---------------------------------------------------------------


def test_a_serial_unit_inside_a_pallet(world: World) -> None:
    world.make("dairy", GIFT, "G1", "12", "pcs")
    codes = world.serialise("dairy", GIFT, "G1", *(f"{n:04d}" for n in range(1, 13)))
    case_a, case_b, pallet = "(00)069012340000000016", "(00)069012340000000023", \
        "(00)069012340000000030"
    world.pack("dairy", case_a, *codes[:6])
    world.pack("dairy", case_b, *codes[6:])
    packed = world.pack("dairy", pallet, case_a, case_b)
    world.move("dairy", "shop", GIFT, "G1", "12", "pcs")
    trace = trace_downstream(world.session, TraceStart.of_unit(codes[7]))
    assert [(u.code, u.gtin, u.lot, u.parent) for u in trace.start_unit] == [
        (codes[7], GIFT, "G1", case_b), (case_b, None, None, pallet), (pallet, None, None, None)]
    assert set(holdings(world, trace)) == {("dairy", GIFT, "G1"), ("shop", GIFT, "G1")}
    assert [(u.code, u.parent) for u in trace.units] == [
        (code, case_a if index < 6 else case_b) for index, code in enumerate(codes)]
    assert [(a.code, a.parent) for a in trace.aggregates] == [
        (case_a, pallet), (case_b, pallet), (pallet, None)]
    # from the pallet: the lots packed in it; before it was packed, the case stood alone
    assert [lot.lot for lot in trace_downstream(
        world.session, TraceStart.of_unit(pallet)).lots] == ["G1"]
    earlier = trace_downstream(world.session, TraceStart.of_unit(codes[7]), as_of=packed)
    assert [(u.code, u.parent) for u in earlier.start_unit] == [(codes[7], case_b),
                                                                (case_b, None)]
    assert [(a.code, a.parent) for a in earlier.aggregates] == [(case_a, None), (case_b, None)]
    with pytest.raises(NotFoundError, match="unit code .* is not on the ledger"):
        trace_downstream(world.session, TraceStart.of_unit(pallet), as_of=packed)
    few = trace_downstream(world.session, TraceStart.of_unit(codes[0]), limit=5)
    assert len(few.units) == 5 and few.truncation == ("limit",)


def test_an_intake_traced_both_ways(world: World) -> None:
    world.intake("dairy", SUGAR, "S1", "500")
    world.make("dairy", YOGHURT, "Y1", "100", "pcs", ((SUGAR, "S1", "20", "kg"),))
    world.move("dairy", "shop", YOGHURT, "Y1", "100", "pcs")
    down = trace_downstream(world.session, TraceStart.of_intake(world.uscc("dairy")))
    assert set(holdings(world, down)) == {("dairy", SUGAR, "S1"), ("dairy", YOGHURT, "Y1"),
                                          ("shop", YOGHURT, "Y1")}
    assert quantities(holdings(world, down)[("dairy", SUGAR, "S1")]) == (
        "500", "0", None, "0", "20", "480")
    up = trace_upstream(world.session, TraceStart.of_lot(YOGHURT, "Y1"))
    supplier = holdings(world, up)[("supplier", SUGAR, "S1")]
    assert (supplier.end, supplier.name, quantities(supplier)) == (
        True, None, (None, None, None, "500", None, None))
    (lot,) = [lot for lot in up.lots if lot.lot == "S1"]
    assert (lot.origin, lot.origin_type, lot.product) == (SUPPLIER, "material_intake", None)
    with pytest.raises(NotFoundError, match="took in nothing"):
        trace_downstream(world.session, TraceStart.of_intake(world.uscc("shop2")))


def test_an_enterprise_sees_its_own_lots_and_its_direct_customers(world: World,
                                                                   chain: dict[str, int]
                                                                   ) -> None:
    dairy = world.uscc("dairy")
    down = trace_downstream(world.session, TraceStart.of_lot(MILK, "M1"), viewer=dairy)
    found = holdings(world, down)
    assert set(found) == {("dairy", MILK, "M1"), ("distributor", MILK, "M1")}
    assert quantities(found[("distributor", MILK, "M1")]) == (None,) * 6
    assert found[("dairy", MILK, "M1")].held == "20"
    assert (down.truncated, down.truncation) == (True, ("scope",))
    up = trace_upstream(world.session, TraceStart.of_lot(MILK, "M1"), viewer=dairy)
    assert set(holdings(world, up)) == {("dairy", MILK, "M1"), ("dairy", RAW, "R1"),
                                        ("farm", RAW, "R1")}
    assert holdings(world, up)[("farm", RAW, "R1")].held is None
    shop = world.uscc("shop")
    assert {h.lot for h in trace_upstream(world.session, TraceStart.of_lot(MILK, "M1"),
                                          viewer=shop).holdings} == {"M1", "R1"}
    with pytest.raises(ForbiddenError, match="only lots it made or holds"):
        trace_downstream(world.session, TraceStart.of_lot(RAW, "R1"), viewer=shop)
    with pytest.raises(ForbiddenError, match="only its own intake"):
        trace_downstream(world.session, TraceStart.of_intake(dairy), viewer=shop)


def test_unknown_starts(world: World) -> None:
    with pytest.raises(NotFoundError, match=f"lot {MILK}/NOPE is not on the ledger$"):
        trace_upstream(world.session, TraceStart.of_lot(MILK, "NOPE"))
    with pytest.raises(NotFoundError, match="unit code X is not on the ledger"):
        trace_upstream(world.session, TraceStart.of_unit("X"))
    with pytest.raises(EntryError, match="depth must be >= 0 and limit >= 1"):
        trace_upstream(world.session, TraceStart.of_lot(MILK, "M1"), limit=0)
