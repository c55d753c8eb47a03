"""The white paper's figures on a ledger built for them, with known answers: a lot counted
once and failed if any inspection failed, periods cut in China time, the inspection's own
time rather than the statement's, corrections, districts, output value and the index's
renormalised weights (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.log.entry import Statement
from ledger.log.keys import generate_private_key
from ledger.reports import Period, build_report, scope_of
from tests.ledger.conftest import Producer, append, enrol, make_uscc

DRINK = "06901234567892"  # category 08, beverages
SEAT = "06901234567915"   # category 62, children's car seats
LAB = make_uscc(901)
NOW = datetime(2027, 2, 1, tzinfo=UTC)


def _statement(maker: Producer, type_: str, payload: dict[str, Any],
               event_time: str = "2026-06-01T08:00:00+08:00") -> Any:
    return Statement(type_, maker.uscc, maker.key_id, event_time, payload).sign(maker.key)


def _product(gtin: str, category: str) -> dict[str, Any]:
    return {"gtin": gtin, "name": f"产品{gtin[-3:]}", "category": category,
            "standard": "GB 7101-2022" if category == "08" else "GB 27887-2024", "spec": "1"}


def _production(gtin: str, lot: str, when: str, value: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"gtin": gtin, "lot": lot, "quantity": "100", "unit": "pcs",
                               "produced_at": when, "inputs": [], "additives_used": []}
    if value is not None:
        payload["output_value"] = value
    return payload


def _inspection(gtin: str, lot: str, when: str, verdict: str, kind: str = "self") -> dict[
        str, Any]:
    return {"gtin": gtin, "lot": lot, "kind": kind, "lab": "检验所", "lab_uscc": LAB,
            "verdict": verdict, "report_no": f"R-{lot}-{kind}", "inspected_at": when,
            "items": [{"name": "菌落总数", "value": "50", "limit": "≤100", "unit": "CFU/mL",
                       "pass": verdict == "pass"}]}


@pytest.fixture
def built(session: Session, ledger: log.Ledger) -> Session:
    maker = enrol(session, ledger, 1)  # 福州市
    seats = Producer(make_uscc(2), generate_private_key())
    enrol_enterprise(session, ledger, KeyVault("test"), {
        "uscc": seats.uscc, "name": "座椅厂", "roles": ["producer"],
        "district": "厦门市湖里区"}, seats.key.public_key())
    session.commit()
    batch = [
        _statement(maker, "product_registered", _product(DRINK, "08")),
        _statement(seats, "product_registered", _product(SEAT, "62")),
        _statement(maker, "production", _production(DRINK, "L1", "2026-03-01T08:00:00+08:00",
                                                    "1000")),
        # produced and inspected on New Year's Eve in China time: 2026
        _statement(maker, "production", _production(DRINK, "L2", "2026-12-31T23:30:00+08:00",
                                                    "300")),
        _statement(maker, "production", _production(DRINK, "L3", "2025-06-01T08:00:00+08:00",
                                                    "500")),
        # inspected at 00:10 on 1 January 2027 in China (still 2026 in UTC): 2027
        _statement(maker, "production", _production(DRINK, "L4", "2026-12-30T08:00:00+08:00",
                                                    None)),
        _statement(maker, "production", _production(DRINK, "L5", "2026-07-01T08:00:00+08:00",
                                                    "200")),
        _statement(seats, "production", _production(SEAT, "S1", "2026-05-01T08:00:00+08:00",
                                                    "2000")),
        _statement(maker, "inspection", _inspection(DRINK, "L1", "2026-03-02T08:00:00+08:00",
                                                    "pass")),
        _statement(maker, "inspection", _inspection(DRINK, "L1", "2026-03-05T08:00:00+08:00",
                                                    "fail", "spot_check")),
        # the statement's event time says 2025, the inspection says 2026: it counts in 2026
        _statement(maker, "inspection", _inspection(DRINK, "L2", "2026-12-31T23:50:00+08:00",
                                                    "pass"), "2025-01-01T08:00:00+08:00"),
        _statement(maker, "inspection", _inspection(DRINK, "L3", "2025-06-02T08:00:00+08:00",
                                                    "fail")),
        _statement(maker, "inspection", _inspection(DRINK, "L4", "2027-01-01T00:10:00+08:00",
                                                    "pass")),
        _statement(maker, "inspection", _inspection(DRINK, "L5", "2026-07-02T08:00:00+08:00",
                                                    "fail")),
        _statement(seats, "inspection", _inspection(SEAT, "S1", "2026-05-02T08:00:00+08:00",
                                                    "pass", "spot_check")),
    ]
    appended = append(session, ledger, batch)
    l5 = appended[-2].entry.seq
    # L5's failure was a typing error: the correction's pass replaces it
    append(session, ledger, [_statement(maker, "correction", {
        "seq": l5, "reason": "录入错误",
        "replacement": _inspection(DRINK, "L5", "2026-07-02T08:00:00+08:00", "pass")})])
    session.commit()
    return session


def test_known_answers_for_2026(built: Session) -> None:
    report = build_report(built, Period(2026), scope_of(built, None), now=NOW)
    figures = report.current
    # L1 (passed, then failed a spot check), L2, L5 (corrected to pass), S1; not L3 (2025) or
    # L4 (2027 in China)
    assert (figures.lots.total, figures.lots.passed) == (4, 3)
    rates = {rate.key: (rate.total, rate.passed) for rate in figures.by_category}
    assert rates == {"08": (3, 2), "62": (1, 1)}
    districts = {rate.key: (rate.total, rate.passed) for rate in figures.by_district}
    assert districts == {"福州市": (3, 2), "厦门市湖里区": (1, 1)}
    kinds = {rate.key: (rate.total, rate.passed) for rate in figures.by_kind}
    assert kinds == {"self": (3, 3), "third_party": (0, 0), "incoming": (0, 0),
                     "spot_check": (2, 1)}
    [failed] = figures.failed_spot_checks
    assert (failed.lot, failed.district, failed.failed_items) == ("L1", "福州市", ("菌落总数",))
    value = figures.output_value
    # L1 1000 failed, L2 300, L5 200, S1 2000 passed; L4 has no value
    assert (value.lots, value.value, value.passed_value) == (4, Decimal(3500), Decimal(2500))
    assert value.lots_without_value == 1 and value.rate == pytest.approx(2500 / 3500)
    assert [(m.month, m.total, m.passed) for m in figures.monthly if m.total] == [
        (3, 1, 0), (5, 1, 1), (7, 1, 1), (12, 1, 1)]
    assert figures.recalls.items == () and figures.recalls.recall_free == 1.0
    index = {c.key: c.score for c in report.index.components}
    assert index == {"lot_rate": 0.75, "spot_check_rate": 0.5,
                     "output_value_rate": pytest.approx(2500 / 3500), "credit": 0.8,
                     "recall_free": 1.0}
    expected = 100 * (0.30 * 0.75 + 0.25 * 0.5 + 0.15 * 2500 / 3500 + 0.20 * 0.8 + 0.10)
    assert report.index.value == round(expected, 1)


def test_the_previous_year_and_the_weights_of_missing_components(built: Session) -> None:
    report = build_report(built, Period(2026), scope_of(built, None), now=NOW)
    previous = report.previous
    assert (previous.lots.total, previous.lots.passed) == (1, 0)  # L3
    assert previous.spot_checks.total == 0 and previous.spot_checks.rate is None
    # 2025 has no spot check: its weight is left out, the others renormalised
    scores = {c.key: c.score for c in report.previous_index.components}
    assert scores["spot_check_rate"] is None
    weights = {"lot_rate": 0.30, "output_value_rate": 0.15, "credit": 0.20,
               "recall_free": 0.10}
    values = {"lot_rate": 0.0, "output_value_rate": 0.0, "credit": 0.8, "recall_free": 1.0}
    expected = 100 * sum(weights[k] * values[k] for k in weights) / sum(weights.values())
    assert report.previous_index.value == round(expected, 1)


def test_a_quarter_and_a_district(built: Session) -> None:
    xiamen = build_report(built, Period(2026, 2), scope_of(built, "厦门市"), now=NOW)
    assert (xiamen.current.lots.total, xiamen.current.lots.passed) == (1, 1)
    assert xiamen.enterprises == 1 and xiamen.districts == ("厦门市湖里区",)
    q4 = build_report(built, Period(2026, 4), scope_of(built, "福州市"), now=NOW)
    assert (q4.current.lots.total, q4.current.lots.passed) == (1, 1)  # L2 only
    assert [m.month for m in q4.current.monthly] == [10, 11, 12]
    assert build_report(built, Period(2027, 1), scope_of(built, None),
                        now=NOW).current.lots.total == 1  # L4
