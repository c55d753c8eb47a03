"""Rules for quality credit (企业质量信用): grade changes, grading applications and the
violations a regulator records.

What grade an enterprise deserves is decided in :mod:`ledger.credit`, from ledger facts; here
its entries are checked and applied to the projections, so ``rebuild`` recomputes them.

Who may do what:

- ``credit_grade``: only the ledger operator (the grading runs with the operator's key). The
  entry names the enterprise, the grade it had (which must be its current one: B for an
  enterprise never graded), the new grade, the seqs it rests on (each an earlier entry) and an
  explanation in zh-CN and English that names every one of them as ``seq N``.
- ``credit_application``: an enterprise registered as a producer applies for itself, one
  application at a time.
- ``credit_review``: the application's steps, in this order and by these roles:
  ``prereview`` by an industry association (an enterprise with the ``association`` role),
  ``district_review`` by the regulator of the applicant's district (a ``regulator``
  registered in the applicant's district), ``panel_decision`` by the city panel (a
  ``regulator`` above the reviewing bureau: with no district, or a district strictly holding
  the reviewer's, as districts nest by prefix: 福州市 holds 福州市鼓楼区). A step that
  rejects closes the application; an approving panel decision closes it approved, and the
  grading then gives the grade applied for.
- ``enforcement``: a violation a regulator found (of one of :data:`VIOLATIONS`), against an
  enterprise in its district (any, for the city bureau).
"""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from ledger.accounts.roles import ASSOCIATION, REGULATOR
from ledger.errors import EntryError
from ledger.log.identity import OPERATOR
from ledger.log.storage import EnterpriseRow
from ledger.supervision.context import RecordContext
from ledger.supervision.models import (
    CreditApplicationRow,
    CreditChangeRow,
    CreditGradeRow,
    CreditStepRow,
)
from ledger.supervision.rules import RuleViolation

__all__ = [
    "APPLIED",
    "APPROVED",
    "ASSOCIATION",
    "DEFAULT_GRADE",
    "GRADES",
    "OPEN_STATES",
    "REJECTED",
    "STATES",
    "STEPS",
    "VIOLATIONS",
    "credit_application",
    "credit_grade",
    "credit_review",
    "enforcement",
    "names_seq",
]

#: the grades, best first
GRADES = ("A", "B", "C", "D")
#: the grade of an enterprise the grading never moved
DEFAULT_GRADE = "B"

APPLIED, PREREVIEWED, DISTRICT_REVIEWED = "applied", "prereviewed", "district_reviewed"
APPROVED, REJECTED = "approved", "rejected"
#: application state -> (zh-CN, en)
STATES: dict[str, tuple[str, str]] = {
    APPLIED: ("已申请，待行业协会初审", "applied, awaiting the association's pre-review"),
    PREREVIEWED: ("协会已初审，待区县局审核", "pre-reviewed, awaiting the district review"),
    DISTRICT_REVIEWED: ("区县局已审核，待市评审委员会决定",
                        "district-reviewed, awaiting the city panel"),
    APPROVED: ("已批准", "approved"),
    REJECTED: ("未通过", "rejected"),
}
OPEN_STATES = (APPLIED, PREREVIEWED, DISTRICT_REVIEWED)

#: step -> (the state it needs, the state approval leads to, zh-CN, en, who zh, who en)
STEPS: dict[str, tuple[str, str, str, str, str, str]] = {
    "prereview": (APPLIED, PREREVIEWED, "行业协会初审", "the association's pre-review",
                  "行业协会", "an industry association"),
    "district_review": (PREREVIEWED, DISTRICT_REVIEWED, "区县局审核", "the district review",
                        "申请企业所在区县的监管部门", "the applicant's district regulator"),
    "panel_decision": (DISTRICT_REVIEWED, APPROVED, "市评审委员会决定", "the city panel's decision",
                       "审核区县局的上级（市级）监管部门（评审委员会）",
                       "the bureau above the reviewing district's (the city panel)"),
}
_NEXT_STEP = {needs: step for step, (needs, *_rest) in STEPS.items()}

#: what a regulator may record against an enterprise: code -> (zh-CN, en)
VIOLATIONS: dict[str, tuple[str, str]] = {
    "shipment.not_inspected": ("未经检验合格出厂", "shipped without a passing inspection"),
    "material.rejected": ("使用验收不合格原料", "used rejected material"),
    "additive.over_limit": ("超范围超限量使用食品添加剂", "used additives over the limit"),
    "filing.missing": ("未按规定登记台账", "failed to file required records"),
    "other": ("其他违法违规行为", "another violation"),
}


_SEQ = re.compile(r"\bseq (\d+)")


def names_seq(text: str, seq: int) -> bool:
    """Whether an explanation names ``seq`` as ``seq N``."""
    return str(seq) in _SEQ.findall(text)


def _enterprise(a: RecordContext, uscc: str) -> EnterpriseRow | None:
    """The registered enterprise, also when registered in this batch (a replay's chunk)."""
    row = a.session.get(EnterpriseRow, uscc)
    if row is None:
        row = next((new for new in a.session.new
                    if isinstance(new, EnterpriseRow) and new.uscc == uscc), None)
    return row


def _roles(a: RecordContext, enterprise: str) -> tuple[list[str], EnterpriseRow | None]:
    row = _enterprise(a, enterprise)
    return (row.roles.split(",") if row is not None else []), row


def _seq(a: RecordContext, name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise EntryError(f"payload.{name} must be a seq (an integer >= 0), got {value!r}",
                         field=a.field(name))
    return value


def _evidence(a: RecordContext) -> list[int]:
    value = a.payload.get("evidence", [])
    if not isinstance(value, list):
        raise EntryError("payload.evidence must be a list of seqs", field=a.field("evidence"))
    evidence: list[int] = []
    for index, item in enumerate(value):
        if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item < a.entry.seq:
            raise RuleViolation("credit.evidence_unknown", a.field("evidence", index), seq=item)
        evidence.append(item)
    return evidence


def credit_grade(a: RecordContext) -> None:
    """A grade change decided by the grading (``ledger.credit``), signed by the operator."""
    if a.enterprise != OPERATOR:
        raise RuleViolation("credit.not_operator", ("enterprise",), enterprise=a.enterprise)
    enterprise = a.text("enterprise")
    if _enterprise(a, enterprise) is None:
        raise RuleViolation("credit.enterprise_unknown", a.field("enterprise"),
                            enterprise=enterprise)
    grade, previous = a.text("grade"), a.text("previous")
    for name, value in (("grade", grade), ("previous", previous)):
        if value not in GRADES:
            raise EntryError(f"payload.{name} must be one of {', '.join(GRADES)}, got "
                             f"{value!r}", field=a.field(name))
    current = a.rows.get(CreditGradeRow, enterprise)
    current_grade = current.grade if current is not None else DEFAULT_GRADE
    if previous != current_grade:
        raise RuleViolation("credit.previous_mismatch", a.field("previous"),
                            enterprise=enterprise, current=current_grade, previous=previous)
    if grade == previous:
        raise RuleViolation("credit.unchanged", a.field("grade"), grade=grade)
    as_of = _seq(a, "as_of_seq", a.payload.get("as_of_seq"))
    if as_of >= a.entry.seq:
        raise RuleViolation("credit.evidence_unknown", a.field("as_of_seq"), seq=as_of)
    evidence = _evidence(a)
    reason_zh, reason_en = a.text("reason_zh"), a.text("reason_en")
    for index, seq in enumerate(evidence):
        if not (names_seq(reason_zh, seq) and names_seq(reason_en, seq)):
            raise RuleViolation("credit.evidence_unnamed", a.field("evidence", index), seq=seq)
    exempt_until = a.payload.get("exempt_until")
    if grade == "A" and not isinstance(exempt_until, str):
        raise EntryError("payload.exempt_until is required for grade A (信用免检)",
                         field=a.field("exempt_until"))
    if grade != "A":
        exempt_until = None
    at = a.entry.recorded_at
    if current is None:
        a.rows.add(CreditGradeRow(enterprise=enterprise, grade=grade, since=at,
                                  exempt_until=exempt_until, seq=a.entry.seq))
    else:
        current.grade, current.since, current.seq = grade, at, a.entry.seq
        current.exempt_until = exempt_until
    a.rows.add(CreditChangeRow(
        seq=a.entry.seq, enterprise=enterprise, previous=previous, grade=grade,
        score=str(a.payload.get("score", "")), as_of_seq=as_of, at=at,
        exempt_until=exempt_until, cause=str(a.payload.get("cause", "grading")),
        evidence=json.dumps(evidence), reason_zh=reason_zh, reason_en=reason_en))


def credit_application(a: RecordContext) -> None:
    """An enterprise applies for a grade (信用免检, grade A), starting the review."""
    roles, _row = _roles(a, a.enterprise)
    if "producer" not in roles:
        raise RuleViolation("credit.not_applicant", ("enterprise",), enterprise=a.enterprise)
    grade = a.text("grade")
    if grade != "A":
        raise EntryError(f"payload.grade must be A (信用免检), got {grade!r}",
                         field=a.field("grade"))
    statement = a.text("statement")
    pending = a.session.scalar(select(CreditApplicationRow.seq).where(
        CreditApplicationRow.enterprise == a.enterprise,
        CreditApplicationRow.state.in_(OPEN_STATES)).limit(1))
    for row in a.session.new:  # an application earlier in this very batch, not yet written
        if (isinstance(row, CreditApplicationRow) and row.enterprise == a.enterprise
                and row.state in OPEN_STATES):
            pending = row.seq
    if pending is not None:
        raise RuleViolation("credit.application_open", ("enterprise",), application=pending)
    a.rows.add(CreditApplicationRow(seq=a.entry.seq, enterprise=a.enterprise, grade=grade,
                                    statement=statement, state=APPLIED,
                                    applied_at=a.entry.recorded_at, updated_seq=a.entry.seq,
                                    district_reviewer=None))


def credit_review(a: RecordContext) -> None:
    """One step on an application, by the role that step needs, in order."""
    number = _seq(a, "application", a.payload.get("application"))
    application = a.rows.get(CreditApplicationRow, number)
    if application is None:
        raise RuleViolation("credit.application_unknown", a.field("application"),
                            application=number)
    step = a.text("step")
    if step not in STEPS:
        raise EntryError(f"payload.step must be one of {', '.join(STEPS)}, got {step!r}",
                         field=a.field("step"))
    outcome = a.text("outcome")
    if outcome not in ("approve", "reject"):
        raise EntryError(f"payload.outcome must be approve or reject, got {outcome!r}",
                         field=a.field("outcome"))
    needs, leads_to, step_zh, step_en, who_zh, who_en = STEPS[step]
    if application.state != needs:
        expected = _NEXT_STEP.get(application.state)
        expected_zh, expected_en = (STEPS[expected][2:4] if expected is not None
                                    else ("无（申请已结束）", "none (it is closed)"))
        state_zh, state_en = STATES[application.state]
        raise RuleViolation("credit.out_of_order", a.field("step"), application=number,
                            state_zh=state_zh, state_en=state_en, expected_zh=expected_zh,
                            expected_en=expected_en, step_zh=step_zh, step_en=step_en)
    roles, row = _roles(a, a.enterprise)
    _applicant_roles, applicant = _roles(a, application.enterprise)
    district = row.district if row is not None else ""
    if step == "prereview":
        allowed = ASSOCIATION in roles
    elif step == "district_review":
        # the bureau of the applicant's own district
        allowed = (REGULATOR in roles and bool(district) and applicant is not None
                   and applicant.district == district)
    else:
        # the panel sits above the bureau that reviewed: the whole city (no district), or a
        # district strictly holding the reviewer's
        reviewer = application.district_reviewer or ""
        allowed = REGULATOR in roles and (not district or (
            reviewer.startswith(district) and reviewer != district))
    if not allowed:
        raise RuleViolation("credit.wrong_role", ("enterprise",), step_zh=step_zh,
                            step_en=step_en, who_zh=who_zh, who_en=who_en,
                            enterprise=a.enterprise)
    if step == "district_review":
        application.district_reviewer = district
    application.state = leads_to if outcome == "approve" else REJECTED
    application.updated_seq = a.entry.seq
    note = a.payload.get("note")
    a.rows.add(CreditStepRow(seq=a.entry.seq, application=number, step=step, outcome=outcome,
                             by=a.enterprise, note=note if isinstance(note, str) else "",
                             at=a.entry.recorded_at))


def enforcement(a: RecordContext) -> None:
    """A violation a regulator found, recorded against an enterprise (it lowers its grade)."""
    roles, row = _roles(a, a.enterprise)
    if REGULATOR not in roles or row is None:
        raise RuleViolation("credit.not_regulator", ("enterprise",), enterprise=a.enterprise)
    enterprise = a.text("enterprise")
    target = _enterprise(a, enterprise)
    if target is None:
        raise RuleViolation("credit.enterprise_unknown", a.field("enterprise"),
                            enterprise=enterprise)
    if row.district and target.district != row.district:
        raise RuleViolation("credit.outside_district", a.field("enterprise"),
                            enterprise=enterprise, district=row.district)
    violation = a.text("violation")
    if violation not in VIOLATIONS:
        raise EntryError(f"payload.violation must be one of {', '.join(VIOLATIONS)}, got "
                         f"{violation!r}", field=a.field("violation"))
    a.text("note")
    _evidence(a)
