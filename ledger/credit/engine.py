"""The grading: reads the ledger past its cursor, keeps every enterprise's score current and
appends each grade change as a ``credit_grade`` entry signed by the operator.

Incremental: each call reads only the entries since the last (``credit_cursor``), loads the
facts of just the enterprises they touch, and evaluates an enterprise only when an entry
concerns it or one of its facts stops counting. Time is the ledger's own: the grading's clock
is the latest ``recorded_at`` it has read (``credit_grade`` entries, which it writes itself,
do not move it), and a fact expiring, a deadline passing or an exemption ending is handled
when the clock passes it. So the grades are a function of the ledger alone: however the
entries were batched and whenever the grading ran, reading the ledger again from the start
(:func:`rebuild`) decides the same changes at the same seqs, which are the ones the
``credit_grade`` entries already on the ledger recorded.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.credit import model
from ledger.credit.model import Fact
from ledger.credit.models import (
    ENGINE_TABLES,
    CreditCursorRow,
    CreditDeadlineRow,
    CreditFactRow,
    CreditScoreRow,
)
from ledger.credit.standing import parse_time
from ledger.errors import LedgerError
from ledger.log import Ledger
from ledger.log.identity import ENTERPRISE_REGISTERED
from ledger.log.sequencer import lock_head
from ledger.log.storage import EnterpriseRow, EntryRow, LedgerHead
from ledger.supervision import names
from ledger.supervision.credit import DEFAULT_GRADE, STEPS, VIOLATIONS
from ledger.supervision.models import CreditApplicationRow, CreditStepRow, LotRow, ProductRow
from ledger.supervision.reference import ReferenceData, load_reference
from ledger.supervision.submit import submit

__all__ = ["CatchUp", "Change", "catch_up", "keep_grading", "rebuild", "stored_fact",
           "utc_text"]

logger = logging.getLogger(__name__)

#: the entry types the grading reads the payload of
_READ = frozenset({ENTERPRISE_REGISTERED, names.INSPECTION, names.PRODUCTION, names.SHIPMENT,
                   names.RECEIPT, names.MATERIAL_INTAKE, names.RECALL_INITIATED,
                   names.ENFORCEMENT, names.CREDIT_REVIEW, names.CREDIT_GRADE})
#: records whose lateness counts (entered long after the event they record)
_FILED = frozenset({names.INSPECTION, names.PRODUCTION, names.SHIPMENT, names.RECEIPT,
                    names.MATERIAL_INTAKE})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DEADLINE_TABLE = cast(Table, CreditDeadlineRow.__table__)
_FACT_TABLE = cast(Table, CreditFactRow.__table__)
_DEADLINES = _DEADLINE_TABLE.c
#: deleting the deadlines a filing met (executed many rows at a time): a lot's inspection;
#: a shipment's receipt, by its receiver from its shipper
_MEET_LOT = delete(_DEADLINE_TABLE).where(
    _DEADLINES.kind == bindparam("kind"), _DEADLINES.gtin == bindparam("gtin"),
    _DEADLINES.lot == bindparam("lot"))
_MEET_RECEIVER = _MEET_LOT.where(_DEADLINES.enterprise == bindparam("enterprise"),
                                 _DEADLINES.party == bindparam("party"))
_MISSING, _UNRECEIVED = "missing_filing", "unreceived_shipment"


def utc_text(moment: datetime) -> str:
    """A time as fixed-width UTC text, which sorts as the times do."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Change:
    """A grade change the grading decided after ``as_of_seq``."""

    enterprise: str
    previous: str
    grade: str
    points: int
    as_of_seq: int
    cause: str
    evidence: list[int]
    reason_zh: str
    reason_en: str
    exempt_until: str | None

    def payload(self) -> dict[str, Any]:
        """The ``credit_grade`` entry's payload."""
        return {"enterprise": self.enterprise, "previous": self.previous, "grade": self.grade,
                "score": model.format_points(self.points), "as_of_seq": self.as_of_seq,
                "cause": self.cause, "evidence": self.evidence, "reason_zh": self.reason_zh,
                "reason_en": self.reason_en, "exempt_until": self.exempt_until}


@dataclass
class CatchUp:
    """What one run read and decided."""

    read: int = 0
    #: the changes appended (live) or found already on the ledger (rebuild)
    changes: list[Change] = field(default_factory=list)
    #: ``credit_grade`` entries the grading would not have decided (the ledger's word stood)
    disagreements: list[int] = field(default_factory=list)
    #: changes decided but not on the ledger (rebuild only: the next run appends them)
    missing: list[Change] = field(default_factory=list)


@dataclass
class _Deadline:
    seq: int
    kind: str
    enterprise: str
    party: str
    gtin: str
    lot: str
    due_at: datetime


class _Grading:
    """One run over the ledger from the cursor: the state it loaded and what it changes.

    What an evaluation needs is kept per enterprise as running totals by factor
    (``credit_scores.totals``), moved by each new fact and each fact that expires, so scoring
    reads no facts; the facts themselves are read back only to explain a change.
    """

    def __init__(self, session: Session, reference: ReferenceData) -> None:
        self.session = session
        self.reference = reference
        cursor = session.get(CreditCursorRow, 1)
        if cursor is None:
            cursor = CreditCursorRow(id=1, seq=-1, clock=utc_text(_EPOCH))
            session.add(cursor)
        self.cursor = cursor
        self.clock = parse_time(cursor.clock)
        self.scores: dict[str, CreditScoreRow] = {}
        self.totals: dict[str, dict[str, int]] = {}
        self.new_facts: list[Fact] = []
        #: deadlines made in this run and not yet written, by (kind, GTIN, lot); those met
        self.deadlines: dict[tuple[str, str, str], list[_Deadline]] = {}
        self.met: list[tuple[str, str, str, str | None, str | None]] = []
        self.pending: list[Change] = []
        self.result = CatchUp()
        self.lots: dict[tuple[str, str], str | None] = {}
        self.products: dict[str, str | None] = {}
        self.registered: dict[str, bool] = {}
        #: enterprises known to have no score row yet
        self.absent: set[str] = set()
        self.next_due = self._next_due()
        #: facts expiring up to this time were handled by an earlier sweep
        self._swept = utc_text(self.clock)

    # -- state ------------------------------------------------------------------------------

    def score_row(self, enterprise: str) -> CreditScoreRow:
        row = self.scores.get(enterprise)
        if row is None:
            row = (None if enterprise in self.absent
                   else self.session.get(CreditScoreRow, enterprise))
            if row is None:
                row = CreditScoreRow(enterprise=enterprise, grade=DEFAULT_GRADE,
                                     score=model.BASE, exempt_until=None, grade_seq=None,
                                     licences="", totals="{}")
                self.session.add(row)
            self.scores[enterprise] = row
            self.totals[enterprise] = json.loads(row.totals)
        return row

    def totals_of(self, enterprise: str) -> dict[str, int]:
        self.score_row(enterprise)
        return self.totals[enterprise]

    def add_fact(self, fact: Fact | None, touched: dict[str, list[Fact]]) -> None:
        if fact is None:
            return
        totals = self.totals_of(fact.enterprise)
        totals[fact.factor] = totals.get(fact.factor, 0) + fact.points
        self.new_facts.append(fact)
        touched.setdefault(fact.enterprise, []).append(fact)
        if fact.expires_at is not None:
            self._due(fact.expires_at)

    def explaining(self, enterprise: str) -> list[Fact]:
        """The facts that count for ``enterprise`` now (read back to explain a change)."""
        self.write()
        now = utc_text(self.clock)
        return [stored_fact(row) for row in self.session.scalars(select(CreditFactRow).where(
            CreditFactRow.enterprise == enterprise,
            or_(CreditFactRow.expires_at.is_(None), CreditFactRow.expires_at > now))
            .order_by(CreditFactRow.seq))]

    def add_deadline(self, deadline: _Deadline) -> None:
        self.deadlines.setdefault((deadline.kind, deadline.gtin, deadline.lot),
                                  []).append(deadline)
        self._due(deadline.due_at)

    def meet(self, kind: str, gtin: str, lot: str, enterprise: str | None = None,
             party: str | None = None) -> None:
        """A filing the deadlines of ``kind`` for the lot waited for (those of ``enterprise``
        and ``party`` when given) arrived: they are met."""
        waiting = self.deadlines.get((kind, gtin, lot))
        if waiting:
            waiting[:] = [d for d in waiting if not (enterprise in (None, d.enterprise)
                                                     and party in (None, d.party))]
        self.met.append((kind, gtin, lot, enterprise, party))

    def _due(self, moment: datetime) -> None:
        if self.next_due is None or moment < self.next_due:
            self.next_due = moment

    def _next_due(self) -> datetime | None:
        """The next moment something is due (written state only: call after ``write``)."""
        now = utc_text(self.clock)
        candidates = [parse_time(value) for value in (
            self.session.scalar(select(func.min(CreditDeadlineRow.due_at))),
            self.session.scalar(select(func.min(CreditFactRow.expires_at))
                                .where(CreditFactRow.expires_at > now)),
            self.session.scalar(select(func.min(CreditScoreRow.exempt_until))
                                .where(CreditScoreRow.grade == "A"))) if value is not None]
        candidates.extend(parse_time(row.exempt_until) for row in self.scores.values()
                          if row.grade == "A" and row.exempt_until)
        return min(candidates, default=None)

    def write(self) -> None:
        """Write the facts, deadlines and totals decided so far."""
        # Core inserts, not the ORM's bulk path: no objects come of them, and the ORM's
        # bookkeeping was a sixth of what writing them cost.
        connection = self.session.connection()
        if self.new_facts:
            connection.execute(insert(_FACT_TABLE), [
                {"seq": f.seq, "enterprise": f.enterprise, "factor": f.factor,
                 "points": f.points, "at": utc_text(f.at),
                 "expires_at": utc_text(f.expires_at) if f.expires_at else None,
                 "label": f"{f.zh}|{f.en}"[:200]} for f in self.new_facts])
            self.new_facts.clear()
        if self.met:
            for statement in (_MEET_LOT, _MEET_RECEIVER):
                rows = [{"kind": kind, "gtin": gtin, "lot": lot, "enterprise": enterprise,
                         "party": party} for kind, gtin, lot, enterprise, party in self.met
                        if (enterprise is not None) == (statement is _MEET_RECEIVER)]
                if rows:
                    connection.execute(statement, rows)
        self.met.clear()
        made = sorted((d for waiting in self.deadlines.values() for d in waiting),
                      key=lambda d: d.seq)
        if made:
            connection.execute(insert(_DEADLINE_TABLE), [
                {"seq": d.seq, "kind": d.kind, "enterprise": d.enterprise, "party": d.party,
                 "gtin": d.gtin, "lot": d.lot, "due_at": utc_text(d.due_at)} for d in made])
        self.deadlines.clear()
        for enterprise, totals in self.totals.items():
            text = json.dumps(totals, sort_keys=True, separators=(",", ":"))
            if self.scores[enterprise].totals != text:
                self.scores[enterprise].totals = text
        self.cursor.clock = utc_text(self.clock)
        self.session.flush()

    # -- reading entries --------------------------------------------------------------------

    def prefetch(self, entries: Sequence[_Read]) -> None:
        """Load, a few queries for a whole chunk, the rows its entries will look up: the
        lots' makers, the products' categories and the enterprises' score rows."""
        lots = {(str(e.payload.get("gtin")), str(e.payload.get("lot"))) for e in entries
                if e.type == names.INSPECTION} - set(self.lots)
        gtins = {str(e.payload.get("gtin")) for e in entries
                 if e.type == names.PRODUCTION} - set(self.products)
        for part in _parts(sorted(lots)):
            found = {(gtin, lot): origin for gtin, lot, origin in self.session.execute(
                select(LotRow.gtin, LotRow.lot, LotRow.origin).where(
                    LotRow.gtin.in_({gtin for gtin, _lot in part}),
                    LotRow.lot.in_({lot for _gtin, lot in part})))}
            self.lots.update({key: found.get(key) for key in part})
        for part in _parts(sorted(gtins)):
            found_products = {gtin: category for gtin, category in self.session.execute(
                select(ProductRow.gtin, ProductRow.category).where(ProductRow.gtin.in_(part)))}
            self.products.update({gtin: found_products.get(gtin) for gtin in part})
        wanted = {e.enterprise for e in entries if e.type in _FILED}
        for e in entries:
            for name in ("counterparty", "enterprise", "producer", "uscc"):
                value = e.payload.get(name)
                if isinstance(value, str):
                    wanted.add(value)
        wanted |= {maker for maker in self.lots.values() if maker is not None}
        wanted -= set(self.scores) | self.absent
        for part in _parts(sorted(wanted)):
            for row in self.session.scalars(select(CreditScoreRow).where(
                    CreditScoreRow.enterprise.in_(part))):
                self.scores[row.enterprise] = row
                self.totals[row.enterprise] = json.loads(row.totals)
        self.absent |= wanted - set(self.scores)

    def read(self, seq: int, type_: str, enterprise: str, event_time: str, recorded_at: str,
             payload: Mapping[str, Any]) -> None:
        """Read one entry: move the clock, then count what it says."""
        self.result.read += 1
        self.cursor.seq = seq
        if type_ == names.CREDIT_GRADE:
            self.reconcile(seq, payload)
            return
        touched: dict[str, list[Fact]] = {}
        expired: dict[str, list[Fact]] = {}
        at = parse_time(recorded_at)
        if at > self.clock:
            self.clock = at
            if self.next_due is not None and self.next_due <= at:
                self.sweep(touched, expired)
        self.count(seq, type_, enterprise, event_time, at, payload, touched)
        for subject in sorted(set(touched) | set(expired)):
            self.evaluate(subject, seq, touched.get(subject, []), expired.get(subject, []))

    def count(self, seq: int, type_: str, enterprise: str, event_time: str, at: datetime,
              payload: Mapping[str, Any], touched: dict[str, list[Fact]]) -> None:
        if type_ in _FILED:
            try:
                happened = parse_time(event_time)
            except ValueError:
                happened = at
            self.add_fact(model.late_filing_fact(seq, at, enterprise, happened), touched)
        gtin, lot = str(payload.get("gtin", "")), str(payload.get("lot", ""))
        if type_ == ENTERPRISE_REGISTERED:
            uscc = payload.get("uscc")
            if isinstance(uscc, str):
                self.score_row(uscc).licences = ",".join(
                    sorted(str(kind) for kind in dict(payload.get("licences") or {})))[:400]
        elif type_ == names.INSPECTION:
            maker = self.maker(gtin, lot)
            if maker is not None:
                for fact in model.inspection_facts(seq, at, maker, str(payload.get("kind")),
                                                   str(payload.get("verdict"))):
                    self.add_fact(fact, touched)
            self.meet(_MISSING, gtin, lot)
        elif type_ == names.PRODUCTION:
            self.add_deadline(_Deadline(seq, _MISSING, enterprise, enterprise, gtin, lot,
                                        at + model.DEADLINE))
            category = self.category(gtin)
            if category is not None and "licence" not in self.totals_of(enterprise):
                licences = [k for k in self.score_row(enterprise).licences.split(",") if k]
                self.add_fact(model.licence_fact(seq, at, enterprise,
                                                 self.reference.is_food(category), licences),
                              touched)
        elif type_ == names.SHIPMENT:
            receiver = payload.get("counterparty")
            if isinstance(receiver, str):
                self.add_deadline(_Deadline(seq, _UNRECEIVED, receiver, enterprise, gtin, lot,
                                            at + model.DEADLINE))
        elif type_ == names.RECEIPT:
            self.meet(_UNRECEIVED, gtin, lot, enterprise=enterprise,
                      party=str(payload.get("counterparty")))
        elif type_ == names.RECALL_INITIATED:
            level = payload.get("level")
            producer = payload.get("producer") or enterprise
            if isinstance(level, int) and isinstance(producer, str):
                self.add_fact(model.recall_fact(seq, at, producer, level,
                                                payload.get("kind") == "voluntary"), touched)
        elif type_ == names.ENFORCEMENT:
            subject = payload.get("enterprise")
            zh, en = VIOLATIONS.get(str(payload.get("violation")), VIOLATIONS["other"])
            if isinstance(subject, str):
                self.add_fact(model.violation_fact(seq, at, subject, zh, en), touched)
        elif (type_ == names.CREDIT_REVIEW and payload.get("step") == "panel_decision"
              and payload.get("outcome") == "approve"):
            self.grant(seq, payload.get("application"))

    def is_registered(self, enterprise: str) -> bool:
        if enterprise not in self.registered:
            self.registered[enterprise] = self.session.get(EnterpriseRow, enterprise) is not None
        return self.registered[enterprise]

    def maker(self, gtin: str, lot: str) -> str | None:
        if (gtin, lot) not in self.lots:
            row = self.session.get(LotRow, (gtin, lot))
            self.lots[(gtin, lot)] = row.origin if row is not None else None
        return self.lots[(gtin, lot)]

    def category(self, gtin: str) -> str | None:
        if gtin not in self.products:
            row = self.session.get(ProductRow, gtin)
            self.products[gtin] = row.category if row is not None else None
        return self.products[gtin]

    def sweep(self, touched: dict[str, list[Fact]], expired: dict[str, list[Fact]]) -> None:
        """The clock passed a due moment: deadlines missed, facts expired, exemptions ended."""
        self.write()
        now = utc_text(self.clock)
        missed = list(self.session.scalars(select(CreditDeadlineRow).where(
            CreditDeadlineRow.due_at <= now).order_by(CreditDeadlineRow.seq)))
        if missed:
            self.session.execute(delete(CreditDeadlineRow).where(
                CreditDeadlineRow.seq.in_([row.seq for row in missed])))
        for row in missed:
            self.add_fact(model.missed_deadline_fact(
                row.seq, parse_time(row.due_at), row.enterprise, row.kind, row.gtin, row.lot),
                touched)
        for stored in self.session.scalars(select(CreditFactRow).where(
                CreditFactRow.expires_at <= now, CreditFactRow.expires_at > self._swept)
                .order_by(CreditFactRow.seq)):
            fact = stored_fact(stored)
            totals = self.totals_of(fact.enterprise)
            totals[fact.factor] = totals.get(fact.factor, 0) - fact.points
            expired.setdefault(fact.enterprise, []).append(fact)
        for score in self.session.scalars(select(CreditScoreRow).where(
                CreditScoreRow.grade == "A", CreditScoreRow.exempt_until <= now)):
            self.score_row(score.enterprise)
            expired.setdefault(score.enterprise, [])
        for score in self.scores.values():
            if score.grade == "A" and score.exempt_until and score.exempt_until <= now:
                expired.setdefault(score.enterprise, [])
        self._swept = now
        self.write()
        self.next_due = self._next_due()

    def evaluate(self, enterprise: str, seq: int, triggers: list[Fact],
                 expired: list[Fact]) -> None:
        row = self.score_row(enterprise)
        points = model.score_totals(self.totals[enterprise])
        row.score = points
        exempt = parse_time(row.exempt_until) if row.exempt_until else None
        decision = model.next_grade(row.grade, points, exempt, self.clock)
        if decision.grade == row.grade or not self.is_registered(enterprise):
            return
        counted = self.explaining(enterprise)
        evidence, zh, en = model.explain(row.grade, decision, points, counted, triggers,
                                         expired)
        cause = "grading"
        if row.grade == "A" and row.grade_seq is not None:
            evidence.append(row.grade_seq)
            zh += f"原 A 级见 seq {row.grade_seq}。"
            en += f" The A grade was given at seq {row.grade_seq}."
            if exempt is not None and self.clock >= exempt:
                cause = "exemption_ended"
        self.decide(Change(enterprise, row.grade, decision.grade, points, seq, cause,
                           evidence, zh, en, None))

    def grant(self, seq: int, application: object) -> None:
        """The city panel approved an application: the applicant is graded A for a term."""
        if not isinstance(application, int):
            return
        applied = self.session.get(CreditApplicationRow, application)
        if applied is None:
            return
        row = self.score_row(applied.enterprise)
        if row.grade == applied.grade:
            return
        steps = list(self.session.scalars(select(CreditStepRow).where(
            CreditStepRow.application == application, CreditStepRow.seq <= seq)
            .order_by(CreditStepRow.seq)))
        until = utc_text(self.clock + model.A_TERM)
        zh = [f"{row.grade} → {applied.grade}：信用免检，至 {until[:10]}。"
              f"seq {application} 企业申请"]
        en = [f"{row.grade} → {applied.grade}: credit exemption until {until[:10]}. "
              f"seq {application} the enterprise applied"]
        for step in steps:
            zh.append(f"seq {step.seq} {STEPS[step.step][2]}通过")
            en.append(f"seq {step.seq} {STEPS[step.step][3]} approved")
        self.decide(Change(applied.enterprise, row.grade, applied.grade, row.score, seq,
                           "panel", [application, *(step.seq for step in steps)],
                           "；".join(zh) + "。", "; ".join(en) + ".", until))
        self._due(self.clock + model.A_TERM)

    def decide(self, change: Change) -> None:
        row = self.score_row(change.enterprise)
        row.grade = change.grade
        row.exempt_until = change.exempt_until
        self.pending.append(change)

    def reconcile(self, seq: int, payload: Mapping[str, Any]) -> None:
        """A ``credit_grade`` entry: the change it records should be one decided already."""
        enterprise, grade = str(payload.get("enterprise")), str(payload.get("grade"))
        for index, change in enumerate(self.pending):
            if (change.enterprise, change.as_of_seq, change.grade) == (
                    enterprise, payload.get("as_of_seq"), grade):
                del self.pending[index]
                self.result.changes.append(change)
                row = self.score_row(enterprise)
                if row.grade == grade:
                    row.grade_seq = seq
                return
        self.result.disagreements.append(seq)
        row = self.score_row(enterprise)
        row.grade, row.grade_seq = grade, seq
        exempt = payload.get("exempt_until")
        row.exempt_until = utc_text(parse_time(exempt)) if isinstance(exempt, str) else None
        if row.exempt_until:
            self._due(parse_time(row.exempt_until))


def stored_fact(row: CreditFactRow) -> Fact:
    """A stored fact as the model's :class:`Fact`."""
    zh, _, en = row.label.partition("|")
    return Fact(row.seq, row.enterprise, row.factor, row.points, parse_time(row.at),
                parse_time(row.expires_at) if row.expires_at else None, zh, en)


class _Read(NamedTuple):
    """An entry as the grading reads it (the payload only of the types it counts)."""

    seq: int
    type: str
    enterprise: str
    event_time: str
    recorded_at: str
    payload: Mapping[str, Any]


def _parts(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _entries(session: Session, after: int, limit: int | None,
             chunk: int = 2000) -> Iterator[list[_Read]]:
    """The entries past ``after`` (at most ``limit``), in chunks, payloads decoded."""
    query = (select(EntryRow.seq, EntryRow.type, EntryRow.enterprise, EntryRow.event_time,
                    EntryRow.recorded_at, EntryRow.body)
             .where(EntryRow.seq > after).order_by(EntryRow.seq))
    if limit is not None:
        query = query.limit(limit)
    result = session.execute(query.execution_options(yield_per=chunk))
    for rows in result.partitions():
        yield [_Read(seq, type_, enterprise, event_time, recorded_at,
                     json.loads(body)["payload"] if type_ in _READ else {})
               for seq, type_, enterprise, event_time, recorded_at, body in rows]


def _read_all(grading: _Grading, session: Session, after: int, limit: int | None) -> None:
    with session.no_autoflush:  # the grading writes its rows itself, in bulk
        for chunk in _entries(session, after, limit):
            grading.prefetch(chunk)
            for entry in chunk:
                grading.read(*entry)
            grading.write()  # a chunk at a time: memory stays flat however far behind


def catch_up(session: Session, ledger: Ledger, vault: KeyVault, *, limit: int | None = None,
             reference: ReferenceData | None = None) -> CatchUp:
    """Read the entries past the cursor (at most ``limit``), keep the scores current, and
    append the grade changes decided as ``credit_grade`` entries, in this transaction.

    Takes the ledger's head lock first, so two runs never decide the same change twice. The
    caller commits (or rolls back: the cursor goes back with the entries)."""
    lock_head(session)
    grading = _Grading(session, reference or load_reference())
    _read_all(grading, session, grading.cursor.seq, limit)
    if grading.pending:
        statements = [ledger.operator_statement(names.CREDIT_GRADE, change.payload())
                      for change in grading.pending]
        appended = submit(session, ledger, vault, statements)
        with session.no_autoflush:
            for item in appended:
                grading.read(item.entry.seq, names.CREDIT_GRADE,
                             item.entry.statement.enterprise, item.entry.statement.event_time,
                             item.entry.recorded_at, item.entry.statement.payload)
        grading.write()
    return grading.result


def rebuild(session: Session, reference: ReferenceData | None = None) -> CatchUp:
    """Forget the grading's state and read the whole ledger again, appending nothing.

    The result lists the changes it decided that ``credit_grade`` entries on the ledger
    record (``changes``), any such entry it would not have decided (``disagreements``) and
    any change it decided that is not on the ledger yet (``missing``, which the next
    :func:`catch_up` appends). Run after the supervision projections are rebuilt."""
    for table in reversed(ENGINE_TABLES):
        session.execute(delete(table))
    session.flush()
    grading = _Grading(session, reference or load_reference())
    _read_all(grading, session, -1, None)
    grading.result.missing = list(grading.pending)
    # The missing changes are not on the ledger: the scores keep the grades it records.
    for change in reversed(grading.pending):
        score = grading.score_row(change.enterprise)
        score.grade, score.exempt_until = change.previous, None
    session.flush()
    return grading.result


def keep_grading(sessions: Callable[[], Session], ledger: Ledger, vault: KeyVault, *,
                 stop: threading.Event, poll: float = 1.0, settle: float = 2.0,
                 limit: int = 5000) -> int:
    """Keep the grades current as entries arrive, until ``stop`` is set; return how many
    grade changes were appended.

    Every ``poll`` seconds it looks at the ledger's size; once the ledger has been quiet for
    ``settle`` seconds (or is ahead of the grading by ``limit`` entries or more) it grades the
    new entries and commits. Waiting for a quiet moment keeps the grading's own entries from
    landing between the steps of a client's burst of appends. Run by ``tracenet worker``,
    beside the checkpoints, so the requests that append records add nothing of their own. A
    database error (another writer held the head, say) or a grading the rules refuse is
    logged and tried again on the next round.
    """
    appended = 0
    seen, quiet_since = -1, time.monotonic()
    while not stop.is_set():
        read = 0
        try:
            with sessions() as session:
                head = session.scalar(select(LedgerHead.size).where(LedgerHead.id == 1)) or 0
                cursor = session.scalar(select(CreditCursorRow.seq).where(
                    CreditCursorRow.id == 1))
                behind = head - 1 - (cursor if cursor is not None else -1)
                if head != seen:
                    seen, quiet_since = head, time.monotonic()
                if behind > 0 and (behind >= limit
                                   or time.monotonic() - quiet_since >= settle):
                    result = catch_up(session, ledger, vault, limit=limit)
                    session.commit()
                    read, appended = result.read, appended + len(result.changes)
        except (SQLAlchemyError, LedgerError) as exc:
            logger.warning("credit grading: %s, trying again in %g s",
                           str(exc).splitlines()[0], poll)
        if read < limit:
            stop.wait(poll)
    return appended
