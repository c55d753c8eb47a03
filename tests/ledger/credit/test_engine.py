"""The grading over a real ledger: a failed spot check and a 一级 recall move an enterprise
down, a clean year moves it back up, borderline results do not make it flap; every change is
a ``credit_grade`` entry whose evidence seqs exist and are named; deadlines missed count; the
panel's approval grants A for its term; and reading the ledger again from the start (however
the grading was run before) decides exactly the changes on the ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.credit import current_grades, grade_history
from ledger.credit.engine import catch_up, rebuild
from ledger.credit.models import CreditScoreRow
from ledger.db import Base
from ledger.log.entry import Statement
from ledger.log.keys import generate_private_key
from ledger.log.sequencer import rfc3339
from ledger.log.storage import EntryRow
from ledger.recall import start_recall
from ledger.supervision.admission import rebuild as rebuild_projections
from ledger.supervision.credit import names_seq
from ledger.supervision.models import CREDIT_PROJECTIONS
from ledger.supervision.submit import Appended, submit
from tests.ledger.conftest import ORIGIN, make_uscc
from tests.ledger.conftest import projection_snapshot as supervision_snapshot
from tests.ledger.supervision.test_rules import (
    DRINK,
    Record,
    inspection,
    intake,
    product,
    production,
    receipt,
    shipment,
)

VAULT = KeyVault("test")
START = datetime(2026, 1, 5, 8, tzinfo=UTC)
MAKER, OTHER, REGULATOR = make_uscc(10), make_uscc(11), make_uscc(12)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Network:
    session: Session
    ledger: log.Ledger
    clock: Clock
    lots: int = 0
    runs: list[int] = field(default_factory=list)

    def submit(self, enterprise: str, *records: Record, **overrides: Any) -> list[Appended]:
        when = rfc3339(self.clock())
        statements = [Statement(r.type, enterprise, "", when, {**r.payload, **overrides})
                      for r in records]
        appended = submit(self.session, self.ledger, VAULT, statements)
        self.session.commit()
        self.clock.advance(minutes=1)
        return appended

    def grade(self) -> list[Any]:
        """Run the grading; return the changes it appended."""
        result = catch_up(self.session, self.ledger, VAULT)
        self.session.commit()
        self.runs.append(result.read)
        return result.changes

    def new_lot(self, maker: str = MAKER) -> str:
        self.lots += 1
        lot = f"P{self.lots}"
        self.submit(maker, intake(lot=f"RM{self.lots}"),
                    production(lot, inputs=[{"gtin": "06901234567908", "lot": f"RM{self.lots}",
                                             "quantity": "400", "unit": "kg"}]))
        return lot

    def inspect(self, lot: str, verdict: str, kind: str = "self", by: str = MAKER,
                maker: str = MAKER) -> Appended:
        record = inspection(lot, verdict)
        record.payload["kind"] = kind
        (appended,) = self.submit(by, record)
        return appended

    def standing(self, enterprise: str = MAKER) -> str:
        return current_grades(self.session)[enterprise].grade


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(clock: Clock) -> log.Ledger:
    return log.Ledger(ORIGIN, generate_private_key(), clock=clock)


@pytest.fixture
def network(sessions: sessionmaker[Session], ledger: log.Ledger,
            clock: Clock) -> Iterator[Network]:
    with sessions() as session:
        log.initialise(session, ledger)
        for uscc, roles, district, licences in (
                (MAKER, ["producer"], "福州市鼓楼区", {"SC": "SC10635010200015"}),
                (OTHER, ["producer"], "福州市台江区", {"SC": "SC10635010200023"}),
                (REGULATOR, ["regulator"], "", {})):
            enrol_enterprise(session, ledger, VAULT, {
                "uscc": uscc, "name": f"企业{uscc[-4:]}", "roles": roles,
                "district": district, "licences": licences})
        session.commit()
        net = Network(session, ledger, clock)
        net.submit(MAKER, product())
        yield net


def projection_snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """The supervision projections and the credit ones."""
    tables = supervision_snapshot(session)
    for model in CREDIT_PROJECTIONS:
        table = Base.metadata.tables[model.__tablename__]
        tables[table.name] = [tuple(row) for row in session.execute(
            select(*table.columns).order_by(*table.primary_key.columns))]
    return tables


def check_entries(session: Session, changes: list[Any]) -> None:
    """Every credit_grade entry's evidence seqs exist, precede it and are named."""
    for seq, body in session.execute(select(EntryRow.seq, EntryRow.body)
                                     .where(EntryRow.type == "credit_grade")):
        payload = json.loads(body)["payload"]
        assert payload["evidence"], seq
        for evidence in payload["evidence"]:
            assert session.get(EntryRow, evidence) is not None and evidence < seq
            assert names_seq(payload["reason_zh"], evidence)
            assert names_seq(payload["reason_en"], evidence)


def test_down_with_a_failed_spot_check_and_a_recall_and_back_up_after_a_clean_year(
        network: Network) -> None:
    lot = network.new_lot()
    network.inspect(lot, "pass")
    assert network.grade() == [] and network.standing() == "B"

    failed = network.inspect(lot, "fail", kind="spot_check", by=REGULATOR)
    (down,) = network.grade()
    assert (down.previous, down.grade) == ("B", "C")
    assert failed.entry.seq in down.evidence and names_seq(down.reason_en, failed.entry.seq)
    assert network.standing() == "C"

    recall = start_recall(network.session, network.ledger, VAULT, enterprise=REGULATOR,
                          kind="ordered", level=1, reason="抽检不合格", hazard="微生物超标",
                          lots=[(DRINK, lot)], producer=MAKER)
    network.session.commit()
    (worse,) = network.grade()
    assert (worse.previous, worse.grade) == ("C", "D")
    assert recall.seq in worse.evidence and "level 1 recall" in worse.reason_en
    assert network.standing() == "D"

    # A clean year: new lots inspected and passing; the old facts stop counting at 365 days.
    for _month in range(12):
        network.clock.advance(days=31)
        network.inspect(network.new_lot(), "pass", kind="third_party")
        network.grade()
    assert network.standing() == "B"
    history = grade_history(network.session, MAKER)
    assert [(c.previous, c.grade) for c in reversed(history)] == [
        ("B", "C"), ("C", "D"), ("D", "B")]
    up = history[0]
    assert failed.entry.seq in up.evidence and recall.seq in up.evidence
    assert "over 365 days" in up.reason_en and "365 天" in up.reason_zh
    check_entries(network.session, history)


def test_borderline_results_do_not_make_the_grade_flap(network: Network) -> None:
    lot = network.new_lot()
    network.inspect(lot, "pass")
    # Down below B's hold line: four failed third-party inspections, 80.5 -> 60.5 (C).
    for _ in range(4):
        network.inspect(lot, "fail", kind="third_party")
    assert [(c.previous, c.grade) for c in network.grade()] == [("B", "C")]

    def results(*verdicts: str) -> list[str]:
        seen = []
        for verdict in verdicts:
            network.inspect(lot, verdict, kind="third_party" if verdict == "pass" else "self")
            seen.extend(f"{c.previous}>{c.grade}" for c in network.grade())
        return seen

    # The score goes 62, 63.5, 65, 66.5, 63.5, 60.5 again and again, across 65 each time:
    # it stays C (B is entered at 70).
    for _round in range(4):
        assert results("pass", "pass", "pass", "pass", "fail", "fail") == []
    assert network.standing() == "C"
    # Up to 71: B; then 68, 69.5, 71 again and again, across 70: it stays B (left below 65).
    assert results(*["pass"] * 7) == ["C>B"]
    for _round in range(4):
        assert results("fail", "pass", "pass") == []
    assert network.standing() == "B"
    assert len(grade_history(network.session, MAKER)) == 2


def test_missed_deadlines_count_against_who_missed_them(network: Network) -> None:
    lot = network.new_lot()  # never inspected: its inspection is missing 30 days on
    network.inspect(lot, "pass")  # ... no: this one is inspected
    unchecked = network.new_lot()
    network.submit(MAKER, shipment(OTHER, lot=lot))  # OTHER never files the receipt
    received = network.new_lot()
    network.inspect(received, "pass")
    network.submit(MAKER, shipment(OTHER, lot=received, document_no="DN-2"))
    network.submit(OTHER, receipt(MAKER, lot=received, document_no="DN-2"))
    network.grade()
    network.clock.advance(days=31)
    network.submit(OTHER, intake(lot="RM-late"))  # any entry moves the grading's clock
    network.grade()
    rows = {row.enterprise: row.score for row in network.session.scalars(
        select(CreditScoreRow))}
    assert rows[MAKER] == 800 + 5 + 5 - 20  # two self passes, one lot never inspected
    assert rows[OTHER] == 800 - 20  # one shipment it never received
    assert unchecked


def test_the_panel_grants_a_and_the_term_ends(network: Network) -> None:
    from ledger.credit.flow import apply, review

    lot = network.new_lot()
    for _ in range(4):
        network.inspect(lot, "pass", kind="spot_check", by=REGULATOR)
    network.grade()
    association, district = make_uscc(13), make_uscc(14)
    enrol_enterprise(network.session, network.ledger, VAULT, {
        "uscc": association, "name": "食品行业协会", "roles": ["association"],
        "district": "", "licences": {}})
    enrol_enterprise(network.session, network.ledger, VAULT, {
        "uscc": district, "name": "鼓楼区局", "roles": ["regulator"],
        "district": "福州市鼓楼区", "licences": {}})
    application = apply(network.session, network.ledger, VAULT, MAKER, "近一年抽检全部合格")
    for step, by in (("prereview", association), ("district_review", district),
                     ("panel_decision", REGULATOR)):
        review(network.session, network.ledger, VAULT, by, application, step, "approve", "同意")
    network.session.commit()
    (granted,) = network.grade()
    assert (granted.previous, granted.grade, granted.cause) == ("B", "A", "panel")
    standing = current_grades(network.session)[MAKER]
    assert standing.grade == "A" and standing.exempt_until is not None
    assert standing.exempt_at(network.clock()) and application in granted.evidence
    network.clock.now = standing.exempt_until + timedelta(days=1)
    network.submit(OTHER, intake(lot="RM-x"))
    (ended,) = network.grade()
    assert (ended.grade, ended.cause) == ("B", "exemption_ended")
    assert standing.seq in ended.evidence


def test_reading_the_ledger_again_decides_the_same_changes(network: Network) -> None:
    lot = network.new_lot()
    network.inspect(lot, "fail", kind="spot_check", by=REGULATOR)
    other_lot = network.new_lot(OTHER) if False else None
    network.grade()
    for verdict in ("pass", "fail", "fail", "pass", "fail"):
        network.inspect(lot, verdict, kind="third_party")
        network.clock.advance(days=40)
    network.grade()
    network.clock.advance(days=400)
    network.inspect(network.new_lot(), "pass")
    network.grade()
    before = current_grades(network.session)
    scores = {row.enterprise: (row.grade, row.score) for row in network.session.scalars(
        select(CreditScoreRow))}
    projections = projection_snapshot(network.session)
    changes = len(grade_history(network.session, MAKER))
    assert changes >= 2 and other_lot is None

    rebuild_projections(network.session)
    result = rebuild(network.session)
    network.session.commit()
    assert result.disagreements == [] and result.missing == []
    assert len(result.changes) == changes
    assert current_grades(network.session) == before
    assert projection_snapshot(network.session) == projections
    assert {row.enterprise: (row.grade, row.score) for row in network.session.scalars(
        select(CreditScoreRow))} == scores
    assert network.grade() == []  # nothing left to append


def test_the_grading_reads_only_new_entries(network: Network) -> None:
    network.grade()
    lot = network.new_lot()
    network.inspect(lot, "pass")
    network.grade()
    assert network.runs[-1] == 3  # the intake, the production and the inspection


def test_the_worker_keeps_grades_current(network: Network,
                                         sessions: sessionmaker[Session]) -> None:
    import threading
    import time

    from ledger.credit.engine import keep_grading

    lot = network.new_lot()
    network.inspect(lot, "fail", kind="spot_check", by=REGULATOR)
    stop = threading.Event()
    worker = threading.Thread(target=keep_grading, args=(sessions, network.ledger, VAULT),
                              kwargs={"stop": stop, "poll": 0.05, "settle": 0.2})
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            network.session.rollback()  # see what the worker committed
            if network.standing() == "C":
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert network.standing() == "C" and not worker.is_alive()
