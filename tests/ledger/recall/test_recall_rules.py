"""Recalls through the library: the three recall record types and ``rule.recall.active``,
their effects on the recall projections, every rejection (with the ledger and every
projection left as they were), the service's scope expansion and notices, the deadline
arithmetic, and rebuild == live. The last test checks every recall rule was exercised."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.errors import LedgerError, NotFoundError, render_field
from ledger.log.entry import Statement
from ledger.outbox.models import OutboxMessage
from ledger.recall import (
    FULL,
    HOLDER,
    PUBLIC,
    expand_scope,
    list_recalls,
    lot_status,
    public_recalls,
    recall_view,
    start_recall,
)
from ledger.supervision.admission import rebuild
from ledger.supervision.models import (
    LotRecallRow,
    RecallHolderRow,
    RecallHoldingRow,
    RecallLotRow,
    RecallReportRow,
    RecallRow,
    StockRow,
)
from ledger.supervision.names import RECALL_CLOSED, RECALL_INITIATED, RECALL_PROGRESS
from ledger.supervision.recall_levels import (
    CHINA,
    LEVELS,
    deadlines,
    is_working_day,
    parse_moment,
    working_days_after,
)
from ledger.supervision.recalls import REVIEW
from ledger.supervision.rules import RULES, RuleViolation
from ledger.supervision.submit import Appended, submit
from tests.ledger.conftest import make_uscc, projection_snapshot
from tests.ledger.supervision.test_rules import (
    DAY,
    DRINK,
    JUICE,
    SUPPLIER,
    SYRUP,
    Record,
    inspection,
    intake,
    message_pattern,
    product,
    production,
    receipt,
    shipment,
    source,
)

VAULT = KeyVault("test")
#: the recall starts the day after the goods moved
STARTED = "2026-11-27T09:00:00+08:00"
LATER = "2026-11-28T10:00:00+08:00"
REVIEWED = {"cause": "糖浆供应商原料污染", "responsibility": "供应商质量负责人已处理",
            "lessons": "全员培训进货查验", "corrective_actions": "每批糖浆加测"}

#: every recall rule code a test below saw refuse an entry
SEEN: set[str] = set()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """SQLite for most tests here (they are about the rules, not the database); the tests
    marked ``BOTH`` run on PostgreSQL as well."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path / 'tracenet.db'}"
    url: str = request.getfixturevalue("postgres").new_database()
    return url


BOTH = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True)


@dataclass
class Party:
    """An enrolled enterprise with a custodial key, submitting bare statements."""

    session: Session
    ledger: log.Ledger
    uscc: str

    def statement(self, record: Record, event_time: str) -> Statement:
        return Statement(record.type, self.uscc, "", event_time, record.payload)

    def ok(self, *records: Record, at: str = DAY) -> list[Appended]:
        appended = submit(self.session, self.ledger, VAULT,
                          [self.statement(r, at) for r in records])
        self.session.commit()
        return appended

    def refused(self, rule: str, field: str | None, record: Record,
                at: str = LATER) -> RuleViolation:
        """Submit ``record``, which ``rule`` refuses at ``field``; nothing changes."""
        size, before = log.ledger_size(self.session), projection_snapshot(self.session)
        with pytest.raises(RuleViolation, match=message_pattern(rule)) as caught:
            submit(self.session, self.ledger, VAULT, [self.statement(record, at)])
        self.session.rollback()
        assert caught.value.code == f"rule.{rule}"
        assert render_field(caught.value.field) == field
        assert re.fullmatch(message_pattern(rule, language=0), caught.value.message_zh)
        assert log.ledger_size(self.session) == size
        assert projection_snapshot(self.session) == before
        SEEN.add(rule)
        return caught.value

    def invalid(self, match: str, field: str, record: Record) -> None:
        """Submit a malformed ``record``: an error naming ``field``; nothing changes."""
        size = log.ledger_size(self.session)
        with pytest.raises(LedgerError, match=match) as caught:
            submit(self.session, self.ledger, VAULT, [self.statement(record, LATER)])
        self.session.rollback()
        assert render_field(caught.value.field) == field
        assert log.ledger_size(self.session) == size


def enrol(session: Session, ledger: log.Ledger, serial: int, role: str = "producer") -> Party:
    uscc = make_uscc(serial)
    enrol_enterprise(session, ledger, VAULT, {"uscc": uscc, "name": f"企业{serial}",
                                              "roles": [role], "district": "福州市"})
    session.commit()
    return Party(session, ledger, uscc)


@dataclass
class Chain:
    """A drinks maker whose lot P1 (from syrup RM1) went to a shop (received) and to a second
    shop (still in transit), a regulator, and an enterprise with nothing to do with it."""

    maker: Party
    shop: Party
    kiosk: Party
    regulator: Party
    stranger: Party


@pytest.fixture
def chain(session: Session, ledger: log.Ledger) -> Chain:
    maker, shop, kiosk = (enrol(session, ledger, n) for n in (1, 2, 3))
    regulator = enrol(session, ledger, 4, "regulator")
    stranger = enrol(session, ledger, 5)
    maker.ok(product(), product(gtin=JUICE, standard="GB 7101-2022"), intake(),
             production(), inspection(), shipment(shop.uscc),
             shipment(kiosk.uscc, quantity="300", document_no="DN-2"))
    shop.ok(receipt(maker.uscc))
    return Chain(maker, shop, kiosk, regulator, stranger)


def lots(*keys: tuple[str, str]) -> list[dict[str, str]]:
    return [{"gtin": gtin, "lot": lot} for gtin, lot in keys]


P1, RM1 = (DRINK, "P1"), (SYRUP, "RM1")


def initiated(kind: str = "voluntary", named: tuple[tuple[str, str], ...] = (P1,), *,
              scope: tuple[tuple[str, str], ...] | None = None, level: Any = 2,
              producer: str | None = None, holders: list[dict[str, Any]] | None = None,
              as_of: Any = 1) -> Record:
    return Record(RECALL_INITIATED, {
        "kind": kind, "level": level, "producer": producer, "reason": "糖浆批次检出致病菌",
        "hazard": "可能引起腹泻", "consumer_advice": None, "lots": lots(*named),
        "scope": {"as_of": as_of, "lots": lots(*(scope or named)), "holders": holders or []}})


def progress(recall: int, *items: dict[str, Any], evidence: tuple[str, ...] = ("XH-1",),
             complete: bool = False) -> Record:
    return Record(RECALL_PROGRESS, {
        "recall": recall, "evidence": list(evidence), "complete": complete, "note": None,
        "lots": [{"gtin": DRINK, "lot": "P1", "unit": "pcs", "withdrawn": "0",
                  "retrieved": "0", "destroyed": "0", "reworked": "0", **item}
                 for item in items]})


def closed(recall: int, **review: str | None) -> Record:
    return Record(RECALL_CLOSED, {"recall": recall, **{**REVIEWED, **review},
                                  "report": "ZH-1"})


def rows(session: Session, model: Any, **where: Any) -> list[Any]:
    query = select(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return list(session.scalars(query))


def stock(session: Session, party: Party, gtin: str = DRINK, lot: str = "P1") -> str | None:
    row = session.get(StockRow, (party.uscc, gtin, lot))
    return None if row is None else row.quantity


def start(chain: Chain, **kwargs: Any) -> int:
    """Start a recall through the service (voluntary by the maker unless told) and commit."""
    kwargs = {"enterprise": chain.maker.uscc, "kind": "voluntary", "level": 2,
              "reason": "糖浆批次检出致病菌", "hazard": "可能引起腹泻", "lots": [P1],
              "event_time": STARTED, **kwargs}
    started = start_recall(chain.maker.session, chain.maker.ledger, VAULT, **kwargs)
    chain.maker.session.commit()
    return started.seq


# -- starting ------------------------------------------------------------------------------------

def test_a_voluntary_recall_reaches_every_holder_with_a_notice(chain: Chain,
                                                               session: Session) -> None:
    size = log.ledger_size(session)
    seq = start(chain)
    assert seq == size
    entry = log.get_entry(session, seq)
    scope = entry.statement.payload["scope"]
    assert scope["as_of"] == size and scope["lots"] == lots(P1)
    assert scope["holders"] == sorted([
        {"enterprise": chain.maker.uscc, "lots": [
            {"gtin": DRINK, "lot": "P1", "held": "1200", "unit": "pcs"}]},
        {"enterprise": chain.shop.uscc, "lots": [
            {"gtin": DRINK, "lot": "P1", "held": "500", "unit": "pcs"}]},
        {"enterprise": chain.kiosk.uscc, "lots": [  # in transit: reached all the same
            {"gtin": DRINK, "lot": "P1", "held": "0", "unit": "pcs"}]},
    ], key=lambda holder: holder["enterprise"])
    (recall,) = rows(session, RecallRow)
    assert (recall.seq, recall.kind, recall.level, recall.producer, recall.status,
            recall.initiated_at, recall.as_of) == (seq, "voluntary", 2, chain.maker.uscc,
                                                    "open", STARTED, size)
    assert [(r.gtin, r.lot, r.via, r.via_seq) for r in rows(session, RecallLotRow)] == [
        (DRINK, "P1", "named", seq)]
    holders = {h.enterprise: h for h in rows(session, RecallHolderRow)}
    assert set(holders) == {chain.maker.uscc, chain.shop.uscc, chain.kiosk.uscc}
    assert {h.notice for h in holders.values()} == {"issued"}
    status = session.get(LotRecallRow, P1)
    assert status is not None
    assert (status.open_count, status.open_recall, status.open_level, status.last_recall) == (
        1, seq, 2, seq)
    messages = {m.enterprise: m for m in rows(session, OutboxMessage)}
    assert set(messages) == set(holders)
    notice = json.loads(messages[chain.shop.uscc].payload)
    assert (notice["recall"], notice["level"], notice["complete_by"]) == (
        seq, 2, "2026-12-25")  # 20 working days after Friday 27 November
    assert notice["your_lots"] == [{"gtin": DRINK, "lot": "P1", "held": "500", "unit": "pcs"}]
    assert messages[chain.shop.uscc].key == f"recall/{seq}/{chain.shop.uscc}"


def test_an_ordered_recall_expands_a_raw_material_downstream(chain: Chain,
                                                             session: Session) -> None:
    chain.maker.ok(production(lot="P2", inputs=[source(quantity="100")]),
                   production(lot="J1", gtin=JUICE, inputs=[
                       {"gtin": DRINK, "lot": "P2", "quantity": "10", "unit": "pcs"}]))
    seq = start(chain, enterprise=chain.regulator.uscc, kind="ordered", level=1, lots=[RM1])
    recall = session.get(RecallRow, seq)
    assert recall is not None and recall.producer == SUPPLIER  # the named lot's producer
    assert sorted((r.gtin, r.lot, r.via) for r in rows(session, RecallLotRow)) == sorted([
        (DRINK, "P1", "downstream"), (DRINK, "P2", "downstream"), (JUICE, "J1", "downstream"),
        (SYRUP, "RM1", "named")])
    assert {h.enterprise for h in rows(session, RecallHolderRow)} == {
        SUPPLIER, chain.maker.uscc, chain.shop.uscc, chain.kiosk.uscc}
    # A second, voluntary recall of one of its lots by the maker: the lot stays under the
    # more serious one.
    second = start(chain, lots=[(JUICE, "J1")], level=3)
    status = session.get(LotRecallRow, (JUICE, "J1"))
    assert status is not None
    assert (status.open_count, status.open_recall, status.open_level, status.last_recall) == (
        2, seq, 1, second)
    chain.regulator.ok(closed(seq), at=LATER)
    session.expire_all()
    status = session.get(LotRecallRow, (JUICE, "J1"))
    assert status is not None
    assert (status.open_count, status.open_recall, status.open_level) == (1, second, 3)
    assert session.get(LotRecallRow, P1).open_count == 0  # type: ignore[union-attr]


def test_a_recall_scope_can_be_recomputed_from_its_entry(chain: Chain,
                                                         session: Session) -> None:
    seq = start(chain, lots=[RM1], enterprise=chain.regulator.uscc, kind="ordered",
                producer=chain.maker.uscc)
    stored = log.get_entry(session, seq).statement.payload["scope"]
    again = expand_scope(session, [RM1])
    assert [list(key) for key in again.lots] == [[lot["gtin"], lot["lot"]]
                                                for lot in stored["lots"]]
    assert {h["enterprise"] for h in again.payload()["holders"]} == {  # type: ignore[union-attr]
        h["enterprise"] for h in stored["holders"]}
    with pytest.raises(NotFoundError, match="lot 06901234567892/NOPE is not on the ledger"):
        expand_scope(session, [(DRINK, "NOPE")])


#: (rule, field, who submits, the refused recall_initiated)
START_REFUSALS = [
    ("recall.not_regulator", "payload.kind", "maker",
     initiated("ordered", producer=make_uscc(1))),
    ("recall.producer_unrelated", "payload.producer", "regulator",
     initiated("ordered", producer=make_uscc(2))),
    ("recall.not_producer", "payload.lots[0].lot", "shop", initiated()),
    ("recall.not_producer", "payload.lots[0].lot", "maker", initiated(named=(RM1,))),
    ("recall.scope_incomplete", "payload.lots[0].lot", "maker", initiated(scope=(RM1,))),
    ("lot.unknown", "payload.scope.lots[1].lot", "maker",
     initiated(scope=(P1, (DRINK, "P9")))),
    ("recall.lot_not_in_scope", "payload.scope.holders[0].lots[0].lot", "maker",
     initiated(holders=[{"enterprise": make_uscc(2), "lots": [
         {"gtin": SYRUP, "lot": "RM1", "held": "1", "unit": "kg"}]}])),
    ("unit.mismatch", "payload.scope.holders[0].lots[1].unit", "maker",
     initiated(holders=[{"enterprise": make_uscc(2), "lots": [
         {"gtin": DRINK, "lot": "P1", "held": "1", "unit": "pcs"},
         {"gtin": DRINK, "lot": "P1", "held": "1", "unit": "case"}]}])),
]


@BOTH
def test_a_recall_start_is_refused(chain: Chain) -> None:
    for rule, field, who, record in START_REFUSALS:
        getattr(chain, who).refused(rule, field, record)


#: (message pattern, field, the malformed recall_initiated)
MALFORMED = [
    ("payload.kind must be one of", "payload.kind", initiated("forced")),
    ("payload.level must be one of 1, 2, 3", "payload.level", initiated(level=4)),
    ("payload.level must be one of", "payload.level", initiated(level="1")),
    ("payload.scope.as_of must be a ledger size", "payload.scope.as_of",
     initiated(as_of=10**9)),
    ("payload.lots must be a non-empty list", "payload.lots", initiated(named=())),
    ("producer of a voluntary recall", "payload.producer",
     initiated(producer=make_uscc(2))),
    ("holder .* is listed twice", "payload.scope.holders[1].enterprise",
     initiated(holders=[{"enterprise": make_uscc(2)}, {"enterprise": make_uscc(2)}])),
]


def test_a_malformed_recall_is_refused(chain: Chain) -> None:
    for match, field, record in MALFORMED:
        chain.maker.invalid(match, field, record)


# -- rule.recall.active ----------------------------------------------------------------------

@BOTH
def test_a_recalled_lot_is_neither_shipped_nor_used(chain: Chain, session: Session) -> None:
    seq = start(chain)
    after = {"shipped_at": LATER}
    late_shipment = Record(shipment(chain.stranger.uscc).type,
                           {**shipment(chain.stranger.uscc, document_no="DN-3").payload,
                            **after})
    refusal = chain.shop.refused("recall.active", "payload.lot", late_shipment)
    assert f"seq {seq}" in refusal.message and "二级召回" in refusal.message_zh
    used = Record(production().type, {
        **production(lot="J1", gtin=JUICE, inputs=[
            {"gtin": DRINK, "lot": "P1", "quantity": "10", "unit": "pcs"}]).payload,
        "produced_at": LATER})
    chain.maker.refused("recall.active", "payload.inputs[0].lot", used)
    # Once the recall is closed the lot moves again.
    chain.maker.ok(closed(seq), at=LATER)
    chain.shop.ok(late_shipment, at=LATER)


@BOTH
def test_goods_that_moved_before_the_recall_are_pulled_into_it(chain: Chain,
                                                               session: Session) -> None:
    seq = start(chain)
    # Recorded after the recall started, but shipped and made the day before it:
    shipped = chain.shop.ok(shipment(chain.stranger.uscc, quantity="50", document_no="DN-3"),
                            at=LATER)[0].entry.seq
    made = chain.maker.ok(production(lot="J1", gtin=JUICE, quantity="30", inputs=[
        {"gtin": DRINK, "lot": "P1", "quantity": "10", "unit": "pcs"}]), at=LATER)[0].entry.seq
    holders = {h.enterprise: h for h in rows(session, RecallHolderRow, recall=seq)}
    assert holders[chain.stranger.uscc].via_seq == shipped
    assert holders[chain.stranger.uscc].notice == "issued"
    held = {(h.enterprise, h.gtin, h.lot): (h.held, h.unit)
            for h in rows(session, RecallHoldingRow, recall=seq)}
    assert held[(chain.stranger.uscc, DRINK, "P1")] == ("50", "pcs")
    assert held[(chain.maker.uscc, JUICE, "J1")] == ("30", "pcs")
    (pulled,) = rows(session, RecallLotRow, recall=seq, gtin=JUICE)
    assert (pulled.lot, pulled.via, pulled.via_seq) == ("J1", "made_from", made)
    status = session.get(LotRecallRow, (JUICE, "J1"))
    assert status is not None and (status.open_count, status.open_recall) == (1, seq)
    # ... and the lot made from it is held in turn.
    juice_out = Record(shipment(chain.shop.uscc).type, {
        **shipment(chain.shop.uscc, gtin=JUICE, lot="J1", quantity="5",
                   document_no="DN-J").payload, "shipped_at": LATER})
    chain.maker.ok(inspection(lot="J1", gtin=JUICE), at=LATER)
    chain.maker.refused("recall.active", "payload.lot", juice_out)


def test_recalled_goods_taken_in_make_their_taker_a_holder(chain: Chain,
                                                           session: Session) -> None:
    # The syrup lot, which came from a supplier off the ledger, is recalled by the bureau.
    seq = start(chain, enterprise=chain.regulator.uscc, kind="ordered", level=1, lots=[RM1])
    # A second buyer of the same syrup lot records its intake after the recall started.
    taken = chain.stranger.ok(intake(quantity="120"), at=LATER)[0].entry.seq
    holders = {h.enterprise: h for h in rows(session, RecallHolderRow, recall=seq)}
    assert holders[chain.stranger.uscc].via_seq == taken
    held = {(h.enterprise, h.gtin, h.lot): (h.held, h.unit)
            for h in rows(session, RecallHoldingRow, recall=seq)}
    assert held[(chain.stranger.uscc, SYRUP, "RM1")] == ("120", "kg")
    # ... and may not pass them on.
    syrup_out = Record(shipment(chain.shop.uscc).type, {
        **shipment(chain.shop.uscc, gtin=SYRUP, lot="RM1", quantity="20", unit="kg",
                   document_no="DN-S").payload, "shipped_at": LATER})
    chain.stranger.refused("recall.active", "payload.lot", syrup_out)


# -- progress ----------------------------------------------------------------------------------

def test_holders_report_progress_to_completion(chain: Chain, session: Session) -> None:
    seq = start(chain)
    first = chain.shop.ok(progress(seq, {"withdrawn": "500", "destroyed": "200"},
                                   {"retrieved": "12", "destroyed": "12"}), at=LATER)
    assert stock(session, chain.shop) == "300"  # 500 - 200 destroyed, +12 back -12 destroyed
    holding = session.get(RecallHoldingRow, (seq, chain.shop.uscc, DRINK, "P1"))
    assert holding is not None
    assert (holding.held, holding.withdrawn, holding.retrieved, holding.destroyed,
            holding.reworked) == ("500", "500", "12", "212", "0")
    holder = session.get(RecallHolderRow, (seq, chain.shop.uscc))
    assert holder is not None
    assert (holder.notice, holder.reports, holder.first_report_at, holder.complete) == (
        "acknowledged", 1, LATER, False)
    done = chain.shop.ok(progress(seq, {"destroyed": "300"}, complete=True), at=LATER)
    session.expire_all()
    holder = session.get(RecallHolderRow, (seq, chain.shop.uscc))
    assert holder is not None
    assert (holder.notice, holder.reports, holder.complete, holder.completed_seq) == (
        "complete", 2, True, done[0].entry.seq)
    assert [(r.seq, r.complete, json.loads(r.evidence)) for r in
            rows(session, RecallReportRow, recall=seq)] == [
        (first[0].entry.seq, False, ["XH-1"]), (done[0].entry.seq, True, ["XH-1"])]
    # An acknowledgement without quantities needs no evidence.
    chain.kiosk.ok(progress(seq, evidence=()), at=LATER)
    view = recall_view(session, seq, viewer=None, now=parse_moment(LATER))
    assert view["progress"]["holders"] == 3
    assert (view["progress"]["acknowledged"], view["progress"]["complete"]) == (2, 1)
    assert view["progress"]["lots"] == [{"gtin": DRINK, "lot": "P1", "unit": "pcs",
                                         "held": "1700", "withdrawn": "500",
                                         "retrieved": "12", "destroyed": "512",
                                         "reworked": "0"}]


#: (rule, field, who reports, the refused recall_progress given the recall's seq)
PROGRESS_REFUSALS: list[tuple[str, str, str, Any]] = [
    ("recall.unknown", "payload.recall", "shop", lambda seq: progress(seq + 100)),
    ("recall.not_holder", "payload.recall", "stranger", lambda seq: progress(seq)),
    ("recall.lot_not_in_scope", "payload.lots[0].lot", "shop",
     lambda seq: progress(seq, {"lot": "P9", "withdrawn": "1"})),
    ("recall.evidence_missing", "payload.evidence", "shop",
     lambda seq: progress(seq, {"withdrawn": "1"}, evidence=())),
    ("stock.insufficient", "payload.lots[0].destroyed", "shop",
     lambda seq: progress(seq, {"destroyed": "501"})),
    ("unit.mismatch", "payload.lots[0].unit", "shop",
     lambda seq: progress(seq, {"unit": "case", "withdrawn": "1"})),
]


@BOTH
def test_progress_is_refused(chain: Chain) -> None:
    seq = start(chain)
    for rule, field, who, make in PROGRESS_REFUSALS:
        getattr(chain, who).refused(rule, field, make(seq))


# -- closing ---------------------------------------------------------------------------------

def test_a_closure_needs_all_four_reviews(chain: Chain) -> None:
    seq = start(chain)
    for missing in REVIEW:
        for blank in (None, "  "):
            refusal = chain.maker.refused("recall.review_missing", f"payload.{missing}",
                                          closed(seq, **{missing: blank}))
            assert REVIEW[missing][1] in refusal.message
    chain.maker.ok(closed(seq), at=LATER)


@BOTH
def test_who_closes_a_recall(chain: Chain, session: Session) -> None:
    voluntary = start(chain)
    ordered = start(chain, enterprise=chain.regulator.uscc, kind="ordered", level=1,
                    producer=chain.maker.uscc, lots=[RM1])
    chain.shop.refused("recall.not_yours", "payload.recall", closed(voluntary))
    chain.maker.refused("recall.approval_required", "payload.recall", closed(ordered))
    chain.maker.ok(closed(voluntary), at=LATER)
    closing = chain.regulator.ok(closed(ordered), at=LATER)[0].entry.seq
    recall = session.get(RecallRow, ordered)
    assert recall is not None
    assert (recall.status, recall.closed_seq, recall.closed_by, recall.cause, recall.report) == (
        "closed", closing, chain.regulator.uscc, REVIEWED["cause"], "ZH-1")
    chain.regulator.refused("recall.closed", "payload.recall", closed(ordered))
    chain.shop.refused("recall.closed", "payload.recall", progress(voluntary))
    assert session.get(LotRecallRow, RM1).open_count == 0  # type: ignore[union-attr]


# -- reading -----------------------------------------------------------------------------------

def test_each_viewer_sees_its_part(chain: Chain, session: Session) -> None:
    seq = start(chain)
    now = parse_moment(LATER)
    full = recall_view(session, seq, viewer=chain.maker.uscc, now=now)
    assert full["access"] == FULL and len(full["holders"]) == 3
    mine = recall_view(session, seq, viewer=chain.shop.uscc, now=now)
    assert mine["access"] == HOLDER
    assert [h["enterprise"] for h in mine["holders"]] == [chain.shop.uscc]
    public = recall_view(session, seq, viewer=chain.stranger.uscc, now=now)
    assert public["access"] == PUBLIC and "holders" not in public
    text = json.dumps(public_recalls(session, limit=10).items, ensure_ascii=False)
    for secret in (chain.shop.uscc, chain.kiosk.uscc, "1200", "500"):
        assert secret not in text  # no customers, no quantities
    assert [r["id"] for r in list_recalls(session, viewer=chain.shop.uscc, now=now,
                                          limit=10).items] == [seq]
    assert list_recalls(session, viewer=chain.stranger.uscc, now=now, limit=10).items == []
    with pytest.raises(NotFoundError):
        recall_view(session, seq + 100, viewer=None, now=now)


def test_a_lots_status_for_the_consumer_scan(chain: Chain, session: Session) -> None:
    assert lot_status(session, DRINK, "P1")["recall"]["status"] == "none"
    seq = start(chain, level=1)
    status = lot_status(session, DRINK, "P1")
    assert status["product"]["name"] == "橙汁饮料"
    assert {k: status["recall"][k] for k in ("status", "id", "level", "level_name_zh")} == {
        "status": "open", "id": seq, "level": 1, "level_name_zh": "一级召回"}
    chain.maker.ok(closed(seq), at=LATER)
    assert lot_status(session, DRINK, "P1")["recall"]["status"] == "closed"
    with pytest.raises(NotFoundError):
        lot_status(session, DRINK, "P9")


def test_holders_past_the_deadlines_are_flagged(chain: Chain, session: Session) -> None:
    seq = start(chain, level=1)  # Friday 27 Nov 09:00: start by Sat 09:00, done by 11 Dec
    chain.shop.ok(progress(seq, complete=True, evidence=()), at="2026-11-27T20:00:00+08:00")
    chain.kiosk.ok(progress(seq, evidence=()), at="2026-11-29T08:00:00+08:00")
    view = recall_view(session, seq, viewer=None, now=parse_moment("2026-12-12T00:00:00+08:00"))
    assert view["deadlines"] == {"start_by": "2026-11-28T09:00:00+08:00",
                                 "complete_by": "2026-12-11"}
    flags = {h["enterprise"]: (h["start_late"], h["overdue"]) for h in view["holders"]}
    assert flags == {chain.shop.uscc: (False, False), chain.kiosk.uscc: (True, True),
                     chain.maker.uscc: (True, True)}
    assert view["overdue"] and view["progress"]["overdue"] == 2
    early = recall_view(session, seq, viewer=None,
                        now=parse_moment("2026-12-11T23:59:00+08:00"))
    assert early["progress"]["overdue"] == 0


# -- rebuild ------------------------------------------------------------------------------------

@BOTH
def test_rebuild_gives_the_recall_projections_back(chain: Chain, session: Session) -> None:
    seq = start(chain)
    ordered = start(chain, enterprise=chain.regulator.uscc, kind="ordered", level=1,
                    producer=chain.maker.uscc, lots=[RM1])
    chain.shop.ok(shipment(chain.stranger.uscc, quantity="5", document_no="DN-3"), at=LATER)
    chain.shop.ok(progress(seq, {"withdrawn": "495", "destroyed": "495"}, complete=True),
                  at=LATER)
    chain.regulator.ok(closed(ordered), at=LATER)
    live = projection_snapshot(session)
    assert rebuild(session) == log.ledger_size(session)
    assert projection_snapshot(session) == live


# -- deadlines -------------------------------------------------------------------------------------

def test_the_levels_of_the_food_recall_measures() -> None:
    assert {n: (lv.name_zh, lv.start_within, lv.complete_within) for n, lv in LEVELS.items()} == {
        1: ("一级召回", timedelta(hours=24), 10), 2: ("二级召回", timedelta(hours=48), 20),
        3: ("三级召回", timedelta(hours=72), 30)}


@pytest.mark.parametrize(("day", "count", "expected"), [
    (date(2026, 11, 26), 1, date(2026, 11, 27)),   # Thursday -> Friday
    (date(2026, 11, 27), 1, date(2026, 11, 30)),   # Friday -> Monday, the day itself not counted
    (date(2026, 11, 26), 10, date(2026, 12, 10)),  # two weeks of working days
    (date(2026, 9, 30), 1, date(2026, 10, 8)),     # over National Day (国庆) week
    (date(2026, 9, 18), 1, date(2026, 9, 20)),     # Sunday 20 Sep is worked for it (调休)
    (date(2026, 12, 31), 1, date(2027, 1, 4)),     # New Year's Day, then a weekend
])
def test_working_days_are_counted_as_china_works(day: date, count: int,
                                                 expected: date) -> None:
    assert working_days_after(day, count) == expected


def test_deadlines_count_from_the_recalls_start_in_china_time() -> None:
    assert not is_working_day(date(2026, 10, 1)) and is_working_day(date(2026, 9, 20))
    # 17:00 UTC on Thursday is already Friday in Beijing.
    due = deadlines(1, datetime(2026, 11, 26, 17, 0, tzinfo=UTC))
    assert due.start_by == parse_moment("2026-11-27T17:00:00Z")
    assert due.complete_by == date(2026, 12, 11)
    assert due.complete_before == datetime(2026, 12, 12, tzinfo=CHINA)
    assert parse_moment("2026-11-26T10:00:00").tzinfo == CHINA
    with pytest.raises(ValueError, match="at least one"):
        working_days_after(date(2026, 1, 1), 0)


# -- every recall rule is exercised ----------------------------------------------------------------

def test_every_recall_rule_is_exercised_here(request: pytest.FixtureRequest) -> None:
    """Runs last: the tests above put the rules they saw in SEEN."""
    module = request.node.module
    selected = {getattr(item, "originalname", item.name) for item in request.session.items
                if getattr(item, "module", None) is module}
    if selected != {name for name in vars(module) if name.startswith("test_")}:
        pytest.skip("only a run of the whole module exercises every rule")
    assert sorted(code for code in RULES if code.startswith("recall.") and code not in SEEN) \
        == []
