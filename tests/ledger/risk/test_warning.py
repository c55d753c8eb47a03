"""Early warning: the hypergeometric tail, the rule on generated data with an injected rise
(it fires for that category and district, and for no cell that does not contain it), the
false-alarm rate without a rise, and alerts raised from real ledger entries, notified through
the outbox, acknowledged and closed with a note."""

from __future__ import annotations

import math
import random
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.risk import false_alarms, generate, month_names
from ledger import log
from ledger.errors import EntryError, NotFoundError
from ledger.log.entry import Statement
from ledger.outbox.models import OutboxMessage
from ledger.risk.models import ACKNOWLEDGED, CLOSED, OPEN
from ledger.risk.warning import (
    ALPHA,
    acknowledge,
    close,
    count,
    evaluate,
    keep_scanning,
    list_alerts,
    rates,
    scan,
    upper_tail,
)
from ledger.supervision.submit import submit
from tests.ledger.recall.test_recall_rules import VAULT, enrol
from tests.ledger.supervision.test_rules import inspection, intake, product, production


def test_upper_tail_matches_exact_hypergeometric_sums() -> None:
    def exact(x: int, n: int, k: int, total: int) -> float:
        return sum(math.comb(k, i) * math.comb(total - k, n - i)
                   for i in range(x, min(n, k) + 1)) / math.comb(total, n)

    for x, n, k, total in [(3, 30, 10, 400), (0, 5, 2, 20), (5, 10, 5, 50), (1, 1, 1, 2),
                           (12, 40, 30, 1000)]:
        assert upper_tail(x, n, k, total) == pytest.approx(exact(x, n, k, total), rel=1e-9)
    assert upper_tail(6, 5, 5, 20) == 0.0


def test_an_injected_rise_fires_for_its_cell_and_no_other() -> None:
    """The month's scan over 40 category-district cells (two years of about 30 inspections
    a month each, base rates 1-9 %), one of which rose to 45 % this month."""
    last = month_names(24)[-1]
    rng = random.Random(11)  # noqa: S311 - generated inspections, not a secret
    table = count(generate(rng, rise=("07", "台江区", last, 0.45)))
    fired = [t for t in evaluate(table, [last]) if t.fires]
    assert {(t.cell.dimension, t.cell.key, t.month) for t in fired
            if t.cell.dimension == "category_district"} == {("category_district", "07|台江区",
                                                              last)}
    for test in fired:  # every alert is about a cell that contains the injected one
        cell = test.cell
        assert test.month == last
        assert cell.category in (None, "07") and cell.district in (None, "台江区")
        assert cell.class_code in (None, "F")


def test_without_a_rise_false_alarms_stay_below_alpha() -> None:
    tests, alarms, _, _ = false_alarms(8, seed=5)
    assert tests > 5_000
    assert alarms / tests <= ALPHA


# -- alerts from the ledger ----------------------------------------------------------------

DAIRY = "06901234567946"


def _month_time(month: str, day: int) -> str:
    return f"{month}-{day:02d}T10:00:00+08:00"


def test_alerts_are_raised_from_inspections_notified_acknowledged_and_closed(
        session: Session, sessions: sessionmaker[Session], ledger: log.Ledger) -> None:
    maker = enrol(session, ledger, 31)
    regulator = enrol(session, ledger, 39, "regulator")
    maker.ok(product(gtin=DAIRY, category="07", standard="GB 25190-2010", name="纯牛奶",
                     spec="250mL"), intake(lot="RM1"),
             production(lot="M1", gtin=DAIRY, inputs=[
                 {"gtin": "06901234567908", "lot": "RM1", "quantity": "10", "unit": "kg"}]))
    months = month_names(13, (2025, 10))
    statements = []
    for month in months[:-1]:  # a year of baseline: 2 failures in 30 a month at most
        for day in range(1, 31):
            verdict = "fail" if day in (3,) and month.endswith(("01", "05", "09")) else "pass"
            record = inspection(lot="M1", gtin=DAIRY, verdict=verdict,
                                standard="GB 25190-2010")
            statements.append(Statement(record.type, maker.uscc, "",
                                        _month_time(month, min(day, 28)), record.payload))
    for day in range(1, 21):  # then 8 failures in 20
        record = inspection(lot="M1", gtin=DAIRY, verdict="fail" if day <= 8 else "pass",
                            standard="GB 25190-2010")
        statements.append(Statement(record.type, maker.uscc, "", _month_time(months[-1], day),
                                    record.payload))
    submit(session, ledger, VAULT, statements)
    session.commit()

    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    stop = threading.Event()

    def clock() -> datetime:  # the worker's loop, run once: this and last month
        stop.set()
        return now

    assert keep_scanning(sessions, clock, stop=stop) > 0
    raised = list_alerts(session)
    assert scan(session, now=now) == []  # the earlier months fire nothing more
    keys = {(alert.dimension, alert.key, alert.month) for alert in raised}
    assert ("category_district", "07|福州市", months[-1]) in keys
    assert {alert.month for alert in raised} == {months[-1]}
    notices = list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.event_type == "risk.alert")))
    assert {n.enterprise for n in notices} == {regulator.uscc}
    assert len(notices) == len(raised)

    figures = rates(session, now=datetime(2026, 10, 30, tzinfo=UTC))
    assert figures["category"][0]["key"] == "07"  # type: ignore[index]

    alert = raised[0]
    assert alert.status == OPEN
    with pytest.raises(EntryError, match="note is required"):
        acknowledge(session, alert.id, by="regulator", note="  ", now=now)
    acknowledge(session, alert.id, by="regulator", note="已派员核查", now=now)
    with pytest.raises(EntryError, match="not open"):
        acknowledge(session, alert.id, by="regulator", note="again", now=now)
    assert [a.id for a in list_alerts(session, status=ACKNOWLEDGED)] == [alert.id]
    close(session, alert.id, by="regulator", note="原料奶供应商更换，已整改", now=now)
    with pytest.raises(EntryError, match="already closed"):
        close(session, alert.id, by="regulator", note="x", now=now)
    session.commit()
    assert alert.status == CLOSED and alert.close_note == "原料奶供应商更换，已整改"
    assert list_alerts(session, districts=["厦门市"]) == []
    with pytest.raises(NotFoundError):
        close(session, 10_000, by="regulator", note="x", now=now)
