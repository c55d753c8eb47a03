"""The grading model, factor by factor (one test each), the score's bounds, the grade's
hysteresis and the explanation, which names every evidence seq."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.credit import model
from ledger.credit.model import Fact
from ledger.supervision.credit import names_seq

NOW = datetime(2026, 11, 28, 8, tzinfo=UTC)
MAKER = "91350100MA00000010"


def total(facts: list[Fact], moment: datetime = NOW) -> int:
    return model.score(facts, moment) - model.BASE


# -- one test per factor ----------------------------------------------------------------------

def test_inspection_outcomes_are_weighted_by_kind_spot_checks_most() -> None:
    passed = {kind: total(model.inspection_facts(1, NOW, MAKER, kind, "pass"))
              for kind in ("spot_check", "third_party", "self", "incoming")}
    assert passed == {"spot_check": 30, "third_party": 15, "self": 5, "incoming": 5}
    failed = {kind: sum(f.points for f in model.inspection_facts(1, NOW, MAKER, kind, "fail")
                        if f.factor == "inspection")
              for kind in ("spot_check", "third_party", "self", "incoming")}
    assert failed == {"spot_check": -60, "third_party": -50, "self": -30, "incoming": -40}
    assert max(failed.values(), key=abs) == failed["spot_check"]
    # Passing results add at most 15 points however many there are.
    many = [f for seq in range(20) for f in model.inspection_facts(seq, NOW, MAKER,
                                                                   "spot_check", "pass")]
    assert total(many) == 150
    assert model.inspection_facts(1, NOW, MAKER, "hearsay", "pass") == []


def test_a_failed_spot_check_costs_a_further_twenty_points() -> None:
    facts = model.inspection_facts(7, NOW, MAKER, "spot_check", "fail")
    assert [(f.factor, f.points) for f in facts] == [("inspection", -60),
                                                    ("spot_check_failed", -200)]
    assert total(facts) == -260
    assert all(f.enterprise == MAKER and f.seq == 7 for f in facts)
    third_party = model.inspection_facts(7, NOW, MAKER, "third_party", "fail")
    assert [f.factor for f in third_party] == ["inspection"]


@pytest.mark.parametrize(("level", "voluntary", "points"), [
    (1, False, -300), (2, False, -150), (3, False, -80), (1, True, -150), (3, True, -40)])
def test_recalls_count_by_level_and_half_when_voluntary(level: int, voluntary: bool,
                                                        points: int) -> None:
    fact = model.recall_fact(3, NOW, MAKER, level, voluntary)
    assert fact is not None and (fact.factor, fact.points) == ("recall", points)
    assert model.recall_fact(3, NOW, MAKER, 4, False) is None


def test_a_recorded_violation_costs_ten_points() -> None:
    fact = model.violation_fact(9, NOW, MAKER, "未经检验合格出厂", "shipped without a passing "
                                "inspection")
    assert (fact.factor, fact.points) == ("violation", -100)
    assert "shipped without" in fact.en and "未经检验" in fact.zh


def test_late_filing_counts_past_72_hours_and_at_most_ten_points() -> None:
    assert model.late_filing_fact(1, NOW, MAKER, NOW - timedelta(hours=72)) is None
    late = model.late_filing_fact(1, NOW, MAKER, NOW - timedelta(days=5))
    assert late is not None and (late.factor, late.points) == ("late_filing", -10)
    assert "5" in late.zh and "5 days late" in late.en
    many = [model.late_filing_fact(seq, NOW, MAKER, NOW - timedelta(days=9))
            for seq in range(30)]
    assert total([f for f in many if f is not None]) == -100


def test_missing_filings_and_unreceived_shipments_cost_two_points_each_at_most_twenty() -> None:
    missing = model.missed_deadline_fact(4, NOW, MAKER, "missing_filing", "06901234567892",
                                         "P1")
    assert (missing.factor, missing.points, missing.at) == ("missing_filing", -20, NOW)
    unreceived = model.missed_deadline_fact(5, NOW, MAKER, "unreceived_shipment",
                                            "06901234567892", "P1")
    assert (unreceived.factor, unreceived.points) == ("unreceived_shipment", -20)
    many = [model.missed_deadline_fact(seq, NOW, MAKER, "missing_filing", "0", "L")
            for seq in range(15)]
    assert total(many) == -200


def test_a_licence_missing_counts_while_it_stands() -> None:
    assert model.licence_fact(1, NOW, MAKER, True, ["SC"]) is None
    assert model.licence_fact(1, NOW, MAKER, False, ["CCC"]) is None
    food = model.licence_fact(1, NOW, MAKER, True, ["生鲜乳收购许可证"])
    assert food is not None and (food.factor, food.points) == ("licence", -150)
    assert food.expires_at is None  # no window: it counts until a licence is on record
    assert total([food], NOW + timedelta(days=3000)) == -150
    other = model.licence_fact(1, NOW, MAKER, False, [])
    assert other is not None and "no licence" in other.en


def test_facts_count_for_365_days() -> None:
    facts = model.inspection_facts(1, NOW, MAKER, "spot_check", "fail")
    assert total(facts, NOW + timedelta(days=364)) == -260
    assert total(facts, NOW + timedelta(days=365)) == 0
    assert total(facts, NOW - timedelta(seconds=1)) == 0  # not yet recorded


# -- the score and the grade ------------------------------------------------------------------

@given(st.lists(st.tuples(st.sampled_from(["spot_check", "third_party", "self", "incoming"]),
                          st.sampled_from(["pass", "fail"])), max_size=60),
       st.integers(min_value=0, max_value=5))
def test_the_score_stays_within_0_and_100(results: list[tuple[str, str]], recalls: int) -> None:
    facts = [f for seq, (kind, verdict) in enumerate(results)
             for f in model.inspection_facts(seq, NOW, MAKER, kind, verdict)]
    facts += [f for seq in range(recalls)
              if (f := model.recall_fact(1000 + seq, NOW, MAKER, 1, False)) is not None]
    assert 0 <= model.score(facts, NOW) <= 1000


def grades(start: str, scores: list[int]) -> list[str]:
    grade, seen = start, []
    for points in scores:
        grade = model.next_grade(grade, points, None, NOW).grade
        seen.append(grade)
    return seen


def test_hysteresis_borderline_scores_do_not_make_the_grade_flap() -> None:
    # Around B's hold line (65) and its entry line (70): one change down, none back.
    assert grades("B", [660, 640, 660, 690, 660, 640, 690, 660]) == ["B"] + ["C"] * 7
    # Around C's lines (45, 50).
    assert grades("C", [460, 440, 480, 490, 460, 440]) == ["C", "D", "D", "D", "D", "D"]
    assert grades("D", [500, 480, 460, 490]) == ["C"] * 4
    # A clear move still moves it, several grades at once if the score says so.
    assert grades("B", [300]) == ["D"]
    assert grades("D", [720]) == ["B"]


def test_a_is_granted_not_reached_and_held_above_85_for_its_term() -> None:
    assert grades("B", [1000]) == ["B"]
    until = NOW + timedelta(days=10)
    assert model.next_grade("A", 860, until, NOW).grade == "A"
    below = model.next_grade("A", 840, until, NOW)
    assert below.grade == "B" and "85.0" in below.en
    assert model.next_grade("A", 600, until, NOW).grade == "C"
    ended = model.next_grade("A", 950, until, until)
    assert ended.grade == "B" and "exemption term ended" in ended.en


def test_the_explanation_names_every_evidence_seq() -> None:
    failed = model.inspection_facts(812, NOW, MAKER, "spot_check", "fail")
    recall = model.recall_fact(907, NOW, MAKER, 1, False)
    assert recall is not None
    passes = [f for seq in range(100, 120)
              for f in model.inspection_facts(seq, NOW, MAKER, "self", "pass")]
    old = model.violation_fact(5, NOW - timedelta(days=400), MAKER, "其他", "another")
    counted = [*failed, recall, *passes]
    points = model.score(counted, NOW)
    decision = model.next_grade("B", points, None, NOW)
    evidence, zh, en = model.explain("B", decision, points, counted, [recall], [old])
    assert decision.grade == "D"
    assert {907, 812, 5} <= set(evidence)
    assert len(evidence) <= 14
    for seq in evidence:
        assert names_seq(zh, seq) and names_seq(en, seq), seq
    assert not names_seq(en, 81)  # seq 812 does not name seq 81
    assert "B → D" in zh and "Score 34.0" in en
