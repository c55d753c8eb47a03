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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
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
from ledger.log import Ledger
from ledger.log.identity import ENTERPRISE_REGISTERED
from ledger.log.sequencer import lock_head
from ledger.log.storage import EnterpriseRow, EntryRow
from ledger.supervision import names
from ledger.supervision.credit import DEFAULT_GRADE, STEPS, VIOLATIONS
from ledger.supervision.models import CreditApplicationRow, CreditStepRow, LotRow, ProductRow
from ledger.supervision.reference import ReferenceData, load_reference
from ledger.supervision.submit import submit

__all__ = ["CatchUp", "Change", "catch_up", "rebuild", "stored_fact", "utc_text"]

#: the entry types the grading reads the payload of
_READ = frozenset({ENTERPRISE_REGISTERED, names.INSPECTION, names.PRODUCTION, names.SHIPMENT,
                   names.RECEIPT, names.MATERIAL_INTAKE, names.RECALL_INITIATED,
                   names.ENFORCEMENT, names.CREDIT_REVIEW, names.CREDIT_GRADE})
#: records whose lateness counts (entered long after the event they record)
_FILED = frozenset({names.INSPECTION, names.PRODUCTION, names.SHIPMENT, names.RECEIPT,
                    names.MATERIAL_INTAKE})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
    """One run over the ledger from the cursor: the state it loaded and what it changes."""

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
        self.facts: dict[str, list[Fact]] = {}
        self.new_facts: list[Fact] = []
        self.deadlines = {row.seq: _Deadline(row.seq, row.kind, row.enterprise, row.party,
                                             row.gtin, row.lot, parse_time(row.due_at))
                          for row in session.scalars(select(CreditDeadlineRow))}
        self.new_deadlines: set[int] = set()
        self.met_deadlines: set[int] = set()
        self.pending: list[Change] = []
        self.result = CatchUp()
        self.lots: dict[tuple[str, str], str | None] = {}
        self.products: dict[str, str | None] = {}
        self.next_due = self._next_due()
        #: facts expiring up to this time were handled by an earlier sweep
        self._swept = utc_text(self.clock)
        self.registered: dict[str, bool] = {}

    # -- state ------------------------------------------------------------------------------

    def score_row(self, enterprise: str) -> CreditScoreRow:
        row = self.scores.get(enterprise)
        if row is None:
            row = self.session.get(CreditScoreRow, enterprise)
            if row is None:
                row = CreditScoreRow(enterprise=enterprise, grade=DEFAULT_GRADE,
                                     score=model.BASE, exempt_until=None, grade_seq=None,
                                     licences="")
                self.session.add(row)
            self.scores[enterprise] = row
        return row

    def facts_of(self, enterprise: str) -> list[Fact]:
        if enterprise not in self.facts:
            now = utc_text(self.clock)
            self.facts[enterprise] = [
                stored_fact(row) for row in self.session.scalars(select(CreditFactRow).where(
                    CreditFactRow.enterprise == enterprise,
                    or_(CreditFactRow.expires_at.is_(None), CreditFactRow.expires_at > now))
                    .order_by(CreditFactRow.seq))]
        return self.facts[enterprise]

    def add_fact(self, fact: Fact | None, touched: dict[str, list[Fact]]) -> None:
        if fact is None:
            return
        facts = self.facts_of(fact.enterprise)
        if any(f.seq == fact.seq and f.factor == fact.factor for f in facts):
            return  # one fact per entry, enterprise and factor
        facts.append(fact)
        self.new_facts.append(fact)
        touched.setdefault(fact.enterprise, []).append(fact)
        if fact.expires_at is not None:
            self._due(fact.expires_at)

    def add_deadline(self, deadline: _Deadline) -> None:
        self.deadlines[deadline.seq] = deadline
        self.new_deadlines.add(deadline.seq)
        self._due(deadline.due_at)

    def meet(self, kind: str, gtin: str, lot: str, enterprise: str | None = None,
             party: str | None = None) -> None:
        for seq, deadline in list(self.deadlines.items()):
            if (deadline.kind == kind and deadline.gtin == gtin and deadline.lot == lot
                    and (enterprise is None or deadline.enterprise == enterprise)
                    and (party is None or deadline.party == party)):
                self._drop_deadline(seq)

    def _drop_deadline(self, seq: int) -> None:
        del self.deadlines[seq]
        if seq in self.new_deadlines:
            self.new_deadlines.discard(seq)
        else:
            self.met_deadlines.add(seq)

    def _due(self, moment: datetime) -> None:
        if self.next_due is None or moment < self.next_due:
            self.next_due = moment

    def _next_due(self) -> datetime | None:
        now = utc_text(self.clock)
        candidates = [d.due_at for d in self.deadlines.values()]
        for value in (
                self.session.scalar(select(func.min(CreditFactRow.expires_at))
                                    .where(CreditFactRow.expires_at > now)),
                self.session.scalar(select(func.min(CreditScoreRow.exempt_until))
                                    .where(CreditScoreRow.grade == "A"))):
            if value is not None:
                candidates.append(parse_time(value))
        candidates.extend(f.expires_at for f in self.new_facts if f.expires_at is not None
                          and f.expires_at > self.clock)
        candidates.extend(parse_time(row.exempt_until) for row in self.scores.values()
                          if row.grade == "A" and row.exempt_until)
        return min(candidates, default=None)

    def write(self) -> None:
        """Write the facts and deadlines decided so far (score rows are ORM objects)."""
        if self.new_facts:
            self.session.execute(insert(CreditFactRow), [
                {"seq": f.seq, "enterprise": f.enterprise, "factor": f.factor,
                 "points": f.points, "at": utc_text(f.at),
                 "expires_at": utc_text(f.expires_at) if f.expires_at else None,
                 "label": f"{f.zh}|{f.en}"[:200]} for f in self.new_facts])
            self.new_facts.clear()
        if self.new_deadlines:
            self.session.execute(insert(CreditDeadlineRow), [
                {"seq": d.seq, "kind": d.kind, "enterprise": d.enterprise, "party": d.party,
                 "gtin": d.gtin, "lot": d.lot, "due_at": utc_text(d.due_at)}
                for d in (self.deadlines[seq] for seq in sorted(self.new_deadlines))])
            self.new_deadlines.clear()
        if self.met_deadlines:
            self.session.execute(delete(CreditDeadlineRow).where(
                CreditDeadlineRow.seq.in_(sorted(self.met_deadlines))))
            self.met_deadlines.clear()
        self.cursor.clock = utc_text(self.clock)
        self.session.flush()

    # -- reading entries --------------------------------------------------------------------

    def read(self, seq: int, type_: str, enterprise: str, event_time: str, recorded_at: str,
             body: bytes | None) -> None:
        """Read one entry: move the clock, then count what it says."""
        self.result.read += 1
        self.cursor.seq = seq
        payload: Mapping[str, Any] = json.loads(body)["payload"] if body is not None else {}
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
            if category is not None and not any(
                    f.factor == "licence" for f in self.facts_of(enterprise)):
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
        for seq, deadline in sorted(self.deadlines.items()):
            if deadline.due_at <= self.clock:
                self._drop_deadline(seq)
                self.add_fact(model.missed_deadline_fact(
                    seq, deadline.due_at, deadline.enterprise, deadline.kind, deadline.gtin,
                    deadline.lot), touched)
        self.write()
        now = utc_text(self.clock)
        for row in self.session.scalars(select(CreditFactRow).where(
                CreditFactRow.expires_at <= now, CreditFactRow.expires_at > self._swept)
                .order_by(CreditFactRow.seq)):
            expired.setdefault(row.enterprise, []).append(stored_fact(row))
        for score in self.session.scalars(select(CreditScoreRow).where(
                CreditScoreRow.grade == "A", CreditScoreRow.exempt_until <= now)):
            self.scores.setdefault(score.enterprise, score)
            expired.setdefault(score.enterprise, [])
        for score in self.scores.values():
            if score.grade == "A" and score.exempt_until and score.exempt_until <= now:
                expired.setdefault(score.enterprise, [])
        self._swept = now
        self.next_due = self._next_due()

    def evaluate(self, enterprise: str, seq: int, triggers: list[Fact],
                 expired: list[Fact]) -> None:
        row = self.score_row(enterprise)
        counted = [f for f in self.facts_of(enterprise) if f.counts_at(self.clock)]
        self.facts[enterprise] = counted
        points = model.score(counted, self.clock)
        row.score = points
        exempt = parse_time(row.exempt_until) if row.exempt_until else None
        decision = model.next_grade(row.grade, points, exempt, self.clock)
        if decision.grade == row.grade or not self.is_registered(enterprise):
            return
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


def _entries(session: Session, after: int, limit: int | None
             ) -> Iterable[tuple[int, str, str, str, str, bytes | None]]:
    query = (select(EntryRow.seq, EntryRow.type, EntryRow.enterprise, EntryRow.event_time,
                    EntryRow.recorded_at, EntryRow.body)
             .where(EntryRow.seq > after).order_by(EntryRow.seq))
    if limit is not None:
        query = query.limit(limit)
    for seq, type_, enterprise, event_time, recorded_at, body in session.execute(
            query.execution_options(yield_per=2000)):
        yield seq, type_, enterprise, event_time, recorded_at, (
            body if type_ in _READ else None)


def catch_up(session: Session, ledger: Ledger, vault: KeyVault, *, limit: int | None = None,
             reference: ReferenceData | None = None) -> CatchUp:
    """Read the entries past the cursor (at most ``limit``), keep the scores current, and
    append the grade changes decided as ``credit_grade`` entries, in this transaction.

    Takes the ledger's head lock first, so two runs never decide the same change twice. The
    caller commits (or rolls back: the cursor goes back with the entries)."""
    lock_head(session)
    grading = _Grading(session, reference or load_reference())
    for entry in _entries(session, grading.cursor.seq, limit):
        grading.read(*entry)
    grading.write()
    if grading.pending:
        statements = [ledger.operator_statement(names.CREDIT_GRADE, change.payload())
                      for change in grading.pending]
        appended = submit(session, ledger, vault, statements)
        for item in appended:
            grading.read(item.entry.seq, names.CREDIT_GRADE, item.entry.statement.enterprise,
                         item.entry.statement.event_time, item.entry.recorded_at,
                         item.entry.canonical)
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
    for entry in _entries(session, -1, None):
        grading.read(*entry)
    grading.write()
    grading.result.missing = list(grading.pending)
    # The missing changes are not on the ledger: the scores keep the grades it records.
    for change in reversed(grading.pending):
        score = grading.score_row(change.enterprise)
        score.grade, score.exempt_until = change.previous, None
    session.flush()
    return grading.result
