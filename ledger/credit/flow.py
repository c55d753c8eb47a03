"""The grading application flow (信用评级申请): the enterprise applies, the industry association
pre-reviews, the district bureau reviews, the city panel decides. Each step is a ledger entry
(``credit_application``, then ``credit_review`` entries) whose rules
(:mod:`ledger.supervision.credit`) refuse a step by the wrong role or out of order; the panel's
approval is what the grading (:mod:`.engine`) turns into an A grade.

Statements are signed with the acting enterprise's custodial key and appended through
``submit``; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.credit import model
from ledger.credit.models import CreditScoreRow
from ledger.log import Ledger
from ledger.log.entry import Statement
from ledger.log.sequencer import rfc3339
from ledger.supervision.credit import STATES, STEPS
from ledger.supervision.models import CreditApplicationRow, CreditStepRow
from ledger.supervision.names import CREDIT_APPLICATION, CREDIT_REVIEW, ENFORCEMENT
from ledger.supervision.rules import RuleViolation
from ledger.supervision.submit import submit

__all__ = ["Application", "Step", "applications", "apply", "enforce", "review"]


def _append(session: Session, ledger: Ledger, vault: KeyVault, type_: str, enterprise: str,
            payload: dict[str, object]) -> int:
    statement = Statement(type_, enterprise, "", rfc3339(ledger.clock()), payload)
    (appended,) = submit(session, ledger, vault, [statement])
    return appended.entry.seq


def apply(session: Session, ledger: Ledger, vault: KeyVault, enterprise: str,
          statement: str) -> int:
    """``enterprise`` applies for 信用免检 (grade A); returns the application's seq.

    Refused (rule ``credit.not_eligible``) when the grading scores it below 90."""
    row = session.get(CreditScoreRow, enterprise)
    points = row.score if row is not None else model.BASE
    if points < model.A_ELIGIBLE:
        raise RuleViolation("credit.not_eligible", ("payload", "grade"),
                            line=model.format_points(model.A_ELIGIBLE),
                            score=model.format_points(points))
    return _append(session, ledger, vault, CREDIT_APPLICATION, enterprise,
                   {"grade": "A", "statement": statement})


def review(session: Session, ledger: Ledger, vault: KeyVault, enterprise: str,
           application: int, step: str, outcome: str, note: str | None = None) -> int:
    """``enterprise`` takes ``step`` on ``application`` (approve or reject); returns its seq."""
    payload: dict[str, object] = {"application": application, "step": step, "outcome": outcome}
    if note:
        payload["note"] = note
    return _append(session, ledger, vault, CREDIT_REVIEW, enterprise, payload)


def enforce(session: Session, ledger: Ledger, vault: KeyVault, regulator: str,
            enterprise: str, violation: str, note: str, evidence: list[int]) -> int:
    """A regulator records a violation it found against ``enterprise``; returns its seq."""
    return _append(session, ledger, vault, ENFORCEMENT, regulator,
                   {"enterprise": enterprise, "violation": violation, "note": note,
                    "evidence": evidence})


@dataclass(frozen=True)
class Step:
    """A step taken on an application."""

    seq: int
    step: str
    outcome: str
    by: str
    note: str
    at: str

    @property
    def names(self) -> tuple[str, str]:
        """The step's name in zh-CN and English."""
        return STEPS[self.step][2], STEPS[self.step][3]


@dataclass(frozen=True)
class Application:
    """An application and where it stands."""

    seq: int
    enterprise: str
    grade: str
    statement: str
    state: str
    applied_at: str
    steps: tuple[Step, ...]

    @property
    def state_names(self) -> tuple[str, str]:
        """The state in zh-CN and English."""
        return STATES[self.state]

    @property
    def next_step(self) -> str | None:
        """The step the application waits for (None: closed)."""
        return next((step for step, spec in STEPS.items() if spec[0] == self.state), None)


def applications(session: Session, enterprise: str | None = None,
                 states: tuple[str, ...] | None = None) -> list[Application]:
    """Applications, newest first: one enterprise's, or everyone's; in ``states`` if given."""
    query = select(CreditApplicationRow).order_by(CreditApplicationRow.seq.desc())
    if enterprise is not None:
        query = query.where(CreditApplicationRow.enterprise == enterprise)
    if states is not None:
        query = query.where(CreditApplicationRow.state.in_(states))
    rows = list(session.scalars(query.limit(500)))
    steps: dict[int, list[Step]] = {}
    if rows:
        for step in session.scalars(select(CreditStepRow).where(
                CreditStepRow.application.in_([row.seq for row in rows]))
                .order_by(CreditStepRow.seq)):
            steps.setdefault(step.application, []).append(
                Step(step.seq, step.step, step.outcome, step.by, step.note, step.at))
    return [Application(row.seq, row.enterprise, row.grade, row.statement, row.state,
                        row.applied_at, tuple(steps.get(row.seq, ()))) for row in rows]
