"""Spot-check draws (双随机抽查): the pure sampling (same seed, same draw; inclusion frequencies
that follow the weights, tested with a fixed set of seeds), the frame (exempt A-graded
enterprises left out, weights by grade, risk class and failures), and the two entries on the
ledger with every refusal of the draw rule, and rebuild == live."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import log
from ledger.log.entry import Statement
from ledger.log.storage import EntryRow
from ledger.risk import draws, grades
from ledger.risk.draws import build_frame, draw_spot_check, plan_details, plan_spot_check
from ledger.supervision.admission import rebuild
from ledger.supervision.models import SpotCheckPickRow, SpotCheckPlanRow
from ledger.supervision.names import SPOT_CHECK_DRAW
from ledger.supervision.rules import RuleViolation
from ledger.supervision.sampling import DrawStream, FrameEnterprise, commitment, draw, pps
from ledger.supervision.submit import submit
from tests.ledger.conftest import projection_snapshot
from tests.ledger.recall.test_recall_rules import VAULT, Party, enrol
from tests.ledger.supervision.test_rules import (
    SEAT,
    inspection,
    intake,
    product,
    production,
)


def seeds(count: int, label: str = "") -> list[bytes]:
    """A fixed list of seeds, the same on every run."""
    return [hashlib.sha256(f"{label}{i}".encode()).digest() for i in range(count)]


# -- the arithmetic ------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_draw_and_another_seed_another() -> None:
    frame = [FrameEnterprise(f"E{i}", i + 1, tuple(((f"G{i}", f"L{j}"), j + 1)
                                                   for j in range(5))) for i in range(30)]
    first = draw(b"s" * 32, b"salt", frame, 5, 2)
    assert first == draw(b"s" * 32, b"salt", frame, 5, 2)
    assert len(first) == 5 and all(len(lots) == 2 for _, lots in first)
    assert draw(b"t" * 32, b"salt", frame, 5, 2) != first
    assert draw(b"s" * 32, b"other", frame, 5, 2) != first  # the plan entry's hash counts


def test_below_is_uniform_and_in_range() -> None:
    stream = DrawStream(b"x" * 32, b"")
    counts = [0] * 7
    for _ in range(7000):
        counts[stream.below(7)] += 1
    assert all(850 < count < 1150 for count in counts)
    with pytest.raises(ValueError, match="expected 0 < m"):
        stream.below(0)


def _expected_inclusion(weights: list[int], n: int) -> list[float]:
    """Inclusion probabilities of the scheme: certainties first, then n*w/W for the rest."""
    chosen: set[int] = set()
    left = n
    while left:
        rest = [i for i in range(len(weights)) if i not in chosen]
        total = sum(weights[i] for i in rest)
        heaviest = max(rest, key=lambda i: weights[i])
        if left * weights[heaviest] < total:
            break
        chosen.add(heaviest)
        left -= 1
    total = sum(weights[i] for i in range(len(weights)) if i not in chosen)
    return [1.0 if i in chosen else left * weights[i] / total for i in range(len(weights))]


def test_one_pick_follows_the_weights_chi_square() -> None:
    """n = 1 is a multinomial draw: Pearson's chi-square over 6,000 fixed seeds stays below
    the 0.1% critical value of chi-square with k - 1 = 7 degrees of freedom (24.32)."""
    weights = [1, 2, 2, 4, 6, 8, 12, 16]
    counts = [0] * len(weights)
    for seed in seeds(6000, "one"):
        (index,) = pps(DrawStream(seed, b""), weights, 1)
        counts[index] += 1
    total = sum(weights)
    chi_square = sum((count - 6000 * w / total) ** 2 / (6000 * w / total)
                     for count, w in zip(counts, weights, strict=True))
    assert chi_square < 24.32, (chi_square, counts)


def test_inclusion_frequencies_follow_the_weights() -> None:
    """Drawing 3 of 10 over 4,000 fixed seeds: each unit is chosen in a share of draws within
    4 standard errors of its inclusion probability 3w/W (the certainty always)."""
    weights = [1, 1, 2, 3, 4, 6, 8, 12, 24, 80]  # 80 of 141: 3*80 > 141, a certainty
    expected = _expected_inclusion(weights, 3)
    assert expected[-1] == 1.0 and abs(sum(expected) - 3) < 1e-9
    counts = [0] * len(weights)
    runs = 4000
    for seed in seeds(runs, "three"):
        picked = pps(DrawStream(seed, b"plan"), weights, 3)
        assert len(picked) == 3 == len(set(picked))
        for index in picked:
            counts[index] += 1
    for count, p in zip(counts, expected, strict=True):
        if p == 1.0:
            assert count == runs
            continue
        se = math.sqrt(runs * p * (1 - p))
        assert abs(count - runs * p) < 4 * se, (counts, expected)


def test_zero_weights_are_never_drawn_and_small_frames_are_taken_whole() -> None:
    for seed in seeds(200, "zero"):
        assert 0 not in pps(DrawStream(seed, b""), [0, 1, 1, 1], 2)
    assert pps(DrawStream(b"", b""), [0, 3, 1], 5) == [1, 2]
    assert pps(DrawStream(b"", b""), [1, 1], 0) == []
    with pytest.raises(ValueError, match="negative"):
        pps(DrawStream(b"", b""), [-1, 1], 1)


# -- the frame and the entries -------------------------------------------------------------

DAIRY = "06901234567946"


def _network(session: Session, ledger: log.Ledger) -> dict[str, Party]:
    parties = {name: enrol(session, ledger, serial) for name, serial in
               (("drinks", 11), ("seats", 12), ("dairy", 13), ("idle", 14))}
    parties["regulator"] = enrol(session, ledger, 19, "regulator")
    parties["drinks"].ok(product(), intake(), production(), inspection())
    parties["seats"].ok(product(gtin=SEAT, category="62", standard="GB 27887-2024",
                                name="安全座椅", spec="9-36kg"))
    parties["dairy"].ok(product(gtin=DAIRY, category="07", standard="GB 25190-2010",
                                name="纯牛奶", spec="250mL"),
                        intake(lot="RM7"),
                        production(lot="M1", gtin=DAIRY, inputs=[
                            {"gtin": "06901234567908", "lot": "RM7", "quantity": "10",
                             "unit": "kg"}]),
                        inspection(lot="M1", gtin=DAIRY, verdict="fail",
                                   standard="GB 25190-2010"))
    return parties


@pytest.fixture
def network(session: Session, ledger: log.Ledger) -> dict[str, Party]:
    return _network(session, ledger)


def test_the_frame_weights_grade_risk_class_and_failures(
        session: Session, network: dict[str, Party], monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    monkeypatch.setattr(draws, "standings", lambda _session: {
        network["seats"].uscc: grades.Standing("D"),
        network["drinks"].uscc: grades.Standing("A", now + timedelta(days=30))})
    frame = build_frame(session, at=now)
    units = {unit["uscc"]: unit for unit in frame.units}
    # idle registered no product; the regulator makes nothing; drinks is A and exempt
    assert set(units) == {network["seats"].uscc, network["dairy"].uscc}
    assert frame.exempt == [{"uscc": network["drinks"].uscc,
                             "until": (now + timedelta(days=30)).isoformat(timespec="seconds")}]
    seats, dairy = units[network["seats"].uscc], units[network["dairy"].uscc]
    assert (seats["grade"], seats["risk_class"], seats["failures"], seats["weight"]) == \
        ("D", "high", 0, 8 * 3 * 2)
    assert (dairy["grade"], dairy["risk_class"], dairy["failures"], dairy["weight"]) == \
        ("B", "high", 1, 2 * 3 * 3)
    assert dairy["lots"] == [{"gtin": DAIRY, "lot": "M1", "weight": 3 * 3}]
    # past the exemption the A enterprise is back in the frame, at half a B's weight
    later = build_frame(session, at=now + timedelta(days=31))
    drinks = next(u for u in later.units if u["uscc"] == network["drinks"].uscc)
    assert drinks["grade"] == "A" and drinks["weight"] == 1 * 2 * 2


def test_exempt_enterprises_are_never_drawn(
        session: Session, network: dict[str, Party], monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    monkeypatch.setattr(draws, "standings", lambda _session: {
        network["dairy"].uscc: grades.Standing("A", now + timedelta(days=90))})
    frame = [FrameEnterprise(u["uscc"], u["weight"]) for u in build_frame(session, at=now).units]
    drawn = {uscc for seed in seeds(300, "exempt") for uscc, _ in draw(seed, b"", frame, 1, 0)}
    assert drawn == {network["drinks"].uscc, network["seats"].uscc}


def _draw_statement(regulator: Party, payload: dict[str, Any]) -> Statement:
    return Statement(SPOT_CHECK_DRAW, regulator.uscc, "", "2026-11-28T10:00:00+08:00", payload)


def test_a_plan_then_its_draw_on_the_ledger(session: Session, ledger: log.Ledger,
                                            network: dict[str, Party]) -> None:
    regulator = network["regulator"]
    seed = bytes(range(32))
    plan = plan_spot_check(session, ledger, VAULT, regulator=regulator.uscc,
                           title="乳制品及饮料抽查", enterprises=2, lots_per_enterprise=1,
                           seed=seed)
    session.commit()
    row = session.get(SpotCheckPlanRow, plan.seq)
    assert row is not None and row.commitment == commitment(seed) and row.draw_seq is None
    assert row.frame_size == 3
    stored = session.get(EntryRow, plan.seq)
    assert stored is not None
    expected = draw(seed, stored.leaf_hash, [FrameEnterprise(
        u["uscc"], u["weight"], tuple(((lot["gtin"], lot["lot"]), lot["weight"])
                                      for lot in u["lots"])) for u in plan.frame.units], 2, 1)

    good = {"plan": plan.seq, "seed": seed.hex(), "selected": [
        {"uscc": uscc, "lots": [{"gtin": g, "lot": lot} for g, lot in lots]}
        for uscc, lots in expected]}

    def refused(rule: str, payload: dict[str, Any], by: Party = regulator) -> None:
        size = log.ledger_size(session)
        with pytest.raises(RuleViolation) as caught:
            submit(session, ledger, VAULT, [_draw_statement(by, payload)])
        session.rollback()
        assert caught.value.code == f"rule.spot_check.{rule}"
        assert log.ledger_size(session) == size

    refused("seed_mismatch", {**good, "seed": "ab" * 32})
    refused("draw_mismatch", {**good, "selected": list(reversed(good["selected"]))})
    refused("draw_mismatch", {**good, "selected": good["selected"][:1]})
    refused("unknown_plan", {**good, "plan": plan.seq + 100})
    refused("not_planner", good, by=network["dairy"])

    seq = draw_spot_check(session, ledger, VAULT, plan=plan.seq)
    session.commit()
    row = session.get(SpotCheckPlanRow, plan.seq)
    assert row is not None and row.draw_seq == seq and row.seed == seed.hex()
    picks = list(session.scalars(select(SpotCheckPickRow).where(
        SpotCheckPickRow.plan == plan.seq)))
    assert sorted({p.enterprise for p in picks}) == sorted(uscc for uscc, _ in expected)
    refused("already_drawn", good)
    (details,) = plan_details(session)
    assert details["seed"] == seed.hex() and len(details["selected"]) == 2

    before = projection_snapshot(session)
    rebuild(session)
    assert projection_snapshot(session) == before


def test_a_draw_in_the_plans_own_batch_and_a_plan_by_a_producer_are_refused(
        session: Session, ledger: log.Ledger, network: dict[str, Party]) -> None:
    with pytest.raises(RuleViolation, match="regulator"):
        plan_spot_check(session, ledger, VAULT, regulator=network["dairy"].uscc,
                        title="自查", enterprises=1)
    session.rollback()
    seed = b"\x07" * 32
    frame = build_frame(session, at=datetime.now(UTC))
    plan_payload = {"title": "同批", "district": None, "categories": None, "enterprises": 1,
                    "lots_per_enterprise": 0, "commitment": commitment(seed),
                    "frame": frame.payload(), "exempt": []}
    size = log.ledger_size(session)
    with pytest.raises(RuleViolation) as caught:
        submit(session, ledger, VAULT, [
            Statement("spot_check_plan", network["regulator"].uscc, "",
                      "2026-11-28T10:00:00+08:00", plan_payload),
            _draw_statement(network["regulator"], {"plan": size, "seed": seed.hex(),
                                                   "selected": []})])
    session.rollback()
    assert caught.value.code == "rule.spot_check.unknown_plan"
    assert log.ledger_size(session) == size


@pytest.mark.parametrize(("rule", "units"), [
    ("empty_frame", []),
    ("frame_duplicate", [{"uscc": "91350100MA0000011X", "weight": 1, "lots": []}] * 2),
])
def test_a_malformed_frame_is_refused(session: Session, ledger: log.Ledger,
                                      network: dict[str, Party], rule: str,
                                      units: list[dict[str, Any]]) -> None:
    payload = {"title": "坏名录", "district": None, "categories": None, "enterprises": 1,
               "lots_per_enterprise": 0, "commitment": commitment(b"\x01" * 32),
               "frame": {"as_of": 1, "at": "2026-11-28T10:00:00+08:00", "enterprises": units},
               "exempt": []}
    size = log.ledger_size(session)
    with pytest.raises(RuleViolation) as caught:
        submit(session, ledger, VAULT, [Statement("spot_check_plan", network["regulator"].uscc,
                                                  "", "2026-11-28T10:00:00+08:00", payload)])
    session.rollback()
    assert caught.value.code == f"rule.spot_check.{rule}"
    assert log.ledger_size(session) == size
