"""The white paper's figures (ledger.reports) on the demo network: what each counts, the
district scope, the previous year and the quality competitiveness index's formula."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.log.storage import EnterpriseRow
from ledger.reports import INDEX_WEIGHTS, Period, ReportError, build_report, scope_of
from ledger.reports.figures import GRADE_SCORES, Report
from ledger.supervision.models import RecordRow

NOW = datetime(2026, 11, 28, tzinfo=UTC)
FAILED_RAW_MILK_LOT = "SR20261102"


@pytest.fixture(scope="module")
def demo(reports_demo: Flask) -> Flask:
    return reports_demo


@pytest.fixture
def session(demo: Flask) -> Iterator[Session]:
    with demo.extensions["tracenet.runtime"].sessions() as db:
        yield db


@pytest.fixture
def report(session: Session) -> Report:
    return build_report(session, Period(2026), scope_of(session, None), now=NOW)


def test_lot_rates_count_each_inspected_lot_once(session: Session, report: Report) -> None:
    inspected = {(gtin, lot) for gtin, lot in session.execute(
        select(RecordRow.gtin, RecordRow.lot).where(RecordRow.type == "inspection"))}
    failed = {(gtin, lot) for gtin, lot in session.execute(
        select(RecordRow.gtin, RecordRow.lot).where(RecordRow.type == "inspection",
                                                    RecordRow.verdict == "fail"))}
    assert report.current.lots.total == len(inspected)
    assert report.current.lots.failed == len(failed) == 1
    assert sum(rate.total for rate in report.current.by_category) == len(inspected)
    assert sum(rate.total for rate in report.current.by_district) == len(inspected)
    dairy = next(rate for rate in report.current.by_category if rate.key == "07")
    assert (dairy.label_zh, dairy.failed) == ("乳制品", 1)
    assert all(rate.failed == 0 for rate in report.current.by_category if rate.key != "07")


def test_the_failed_spot_check_is_the_raw_milk_lot_of_its_ranch(report: Report) -> None:
    spot = report.current.spot_checks
    assert spot.total >= 2 and spot.failed == 1
    [failed] = report.current.failed_spot_checks
    assert failed.lot == FAILED_RAW_MILK_LOT
    assert failed.district == "龙岩市长汀县" and "汀江源" in failed.enterprise_name
    assert failed.failed_items == ("三聚氰胺",)
    changting = next(rate for rate in report.current.by_district if rate.key == "龙岩市长汀县")
    assert changting.failed == 1


def test_output_value_rate_weighs_lots_by_their_recorded_value(report: Report) -> None:
    value = report.current.output_value
    assert value.lots > 0 and value.lots_without_value == 0
    assert Decimal(0) < value.value - value.passed_value < value.value
    assert value.rate == pytest.approx(float(value.passed_value / value.value))


def test_recalls_of_the_year(report: Report) -> None:
    recalls = report.current.recalls
    assert [item.level for item in recalls.items] == [1]
    assert recalls.by_level == {1: 1, 2: 0, 3: 0}
    assert 0 < recalls.lots_recalled < recalls.lots_produced


def test_the_index_is_the_documented_weighted_mean(report: Report) -> None:
    assert sum(INDEX_WEIGHTS.values()) == Decimal(1)
    scores = {c.key: c.score for c in report.index.components}
    assert scores["lot_rate"] == report.current.lots.rate
    assert scores["spot_check_rate"] == report.current.spot_checks.rate
    assert scores["output_value_rate"] == report.current.output_value.rate
    assert scores["recall_free"] == report.current.recalls.recall_free
    counts = report.grades.counts
    assert scores["credit"] == pytest.approx(
        float(sum(GRADE_SCORES[g] * n for g, n in counts.items()) / sum(counts.values())))
    expected = 100 * sum(float(INDEX_WEIGHTS[k]) * s for k, s in scores.items()
                         if s is not None) / sum(float(INDEX_WEIGHTS[k]) for k, s in
                                                 scores.items() if s is not None)
    assert report.index.value == pytest.approx(round(expected, 1), abs=0.05)
    assert 80 < report.index.value < 100


def test_a_year_without_records_has_no_figures_and_no_index(report: Report) -> None:
    previous = report.previous
    assert previous.period == Period(2025)
    assert previous.lots.total == 0 and previous.lots.rate is None
    assert previous.output_value.rate is None and not previous.recalls.items
    assert report.previous_index.value is None


def test_grades_count_every_producer_as_b_until_graded(session: Session,
                                                       report: Report) -> None:
    producers = [roles for (roles,) in session.execute(select(EnterpriseRow.roles))
                 if "producer" in roles.split(",")]
    assert report.grades.total == len(producers) == report.enterprises
    if not report.grades.graded:
        assert report.grades.counts["B"] == len(producers)


def test_a_district_report_counts_its_districts_only(session: Session) -> None:
    fuzhou = build_report(session, Period(2026, 4), scope_of(session, "福州市"), now=NOW)
    assert fuzhou.current.by_district
    assert all(rate.key.startswith("福州市") for rate in fuzhou.current.by_district)
    assert all(d.startswith("福州市") for d in fuzhou.districts)
    assert fuzhou.current.failed_spot_checks == ()
    assert [m.month for m in fuzhou.current.monthly] == [10, 11, 12]
    whole = build_report(session, Period(2026, 4), scope_of(session, None), now=NOW)
    assert fuzhou.current.lots.total < whole.current.lots.total


@pytest.mark.parametrize(("make", "match"), [
    (lambda s: Period(1999), "expected a year from 2000 to 2100, got 1999"),
    (lambda s: Period(2026, 5), "expected a quarter 1 to 4, got 5"),
    (lambda s: scope_of(s, "上海市"), "no enterprise is registered in district '上海市'"),
    (lambda s: scope_of(s, "  "), "expected a district name"),
])
def test_bad_parameters_are_refused(session: Session, make, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReportError, match=match):
        make(session)
