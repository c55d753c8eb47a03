"""The credit_grade entry's rule and projection, and ``current_grades`` (the interface risk
and reports read): B for an enterprise never graded; only the operator records a grade; the
previous grade must be the current one; evidence seqs must be earlier entries named in both
explanations; the migration matches the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import log
from ledger.credit import CreditStanding, current_grades, grade_history, standing_of
from ledger.credit.models import ENGINE_TABLES
from ledger.db import Base
from ledger.log.storage import EntryRow
from ledger.supervision.models import CreditChangeRow, CreditGradeRow
from ledger.supervision.rules import RuleViolation
from tests.ledger.conftest import Producer, append, make_uscc

TABLES = {model.__tablename__ for model in (*ENGINE_TABLES, CreditGradeRow, CreditChangeRow)} | {
    "credit_applications", "credit_steps"}


def grade_payload(enterprise: str, previous: str, grade: str, evidence: list[int],
                  **extra: Any) -> dict[str, Any]:
    named_zh = "；".join(f"seq {seq} 监督抽检不合格" for seq in evidence)
    named_en = "; ".join(f"seq {seq} failed spot check" for seq in evidence)
    return {"enterprise": enterprise, "previous": previous, "grade": grade, "score": "55.0",
            "as_of_seq": max(evidence, default=0), "cause": "grading", "evidence": evidence,
            "reason_zh": f"评分 55.0：{named_zh}", "reason_en": f"score 55.0: {named_en}",
            "exempt_until": None, **extra}


def test_the_migration_matches_the_models(session: Session) -> None:
    differences = compare_metadata(MigrationContext.configure(session.connection()),
                                   Base.metadata)
    assert [d for d in differences if any(table in repr(d) for table in TABLES)] == []


def test_an_enterprise_never_graded_stands_at_b(session: Session, producer: Producer) -> None:
    standings = current_grades(session)
    assert set(standings) == {producer.uscc}
    standing = standings[producer.uscc]
    assert (standing.grade, standing.seq, standing.exempt_until) == ("B", -1, None)
    assert standing.since.tzinfo is not None
    assert standing_of(session, producer.uscc) == standing
    assert standing_of(session, make_uscc(77)) is None


def test_the_operator_records_a_grade_change(session: Session, ledger: log.Ledger,
                                             producer: Producer) -> None:
    (first,) = append(session, ledger, [producer.signed()])
    payload = grade_payload(producer.uscc, "B", "C", [first.entry.seq])
    (graded,) = append(session, ledger, [ledger.operator_statement("credit_grade", payload)])
    session.commit()
    standing = current_grades(session)[producer.uscc]
    assert isinstance(standing, CreditStanding)
    assert (standing.grade, standing.seq) == ("C", graded.entry.seq)
    (change,) = grade_history(session, producer.uscc)
    assert (change.previous, change.grade, change.evidence) == ("B", "C", (first.entry.seq,))
    # A then needs its exemption end, and the previous grade is now C.
    a_grade = grade_payload(producer.uscc, "C", "A", [first.entry.seq],
                            exempt_until="2029-11-28T00:00:00Z")
    append(session, ledger, [ledger.operator_statement("credit_grade", a_grade)])
    standing = current_grades(session)[producer.uscc]
    assert standing.exempt_until == datetime(2029, 11, 28, tzinfo=UTC)
    assert standing.exempt_at(datetime(2028, 1, 1, tzinfo=UTC))
    assert not standing.exempt_at(datetime(2030, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("change", "rule"), [
    ({"previous": "C"}, "rule.credit.previous_mismatch"),
    ({"grade": "B"}, "rule.credit.unchanged"),
    ({"evidence": [99]}, "rule.credit.evidence_unknown"),
    ({"reason_en": "no seq named"}, "rule.credit.evidence_unnamed"),
    ({"enterprise": make_uscc(55)}, "rule.credit.enterprise_unknown"),
])
def test_a_bad_grade_entry_is_refused_and_nothing_changes(
        session: Session, ledger: log.Ledger, producer: Producer, change: dict[str, Any],
        rule: str) -> None:
    (first,) = append(session, ledger, [producer.signed()])
    session.commit()
    size = session.scalar(select(EntryRow.seq).order_by(EntryRow.seq.desc()).limit(1))
    payload = {**grade_payload(producer.uscc, "B", "C", [first.entry.seq]), **change}
    with pytest.raises(RuleViolation) as raised:
        append(session, ledger, [ledger.operator_statement("credit_grade", payload)])
    session.rollback()
    assert raised.value.code == rule
    assert session.scalar(select(EntryRow.seq).order_by(EntryRow.seq.desc()).limit(1)) == size
    assert session.scalars(select(CreditGradeRow)).all() == []


def test_only_the_operator_records_grades(session: Session, ledger: log.Ledger,
                                          producer: Producer) -> None:
    (first,) = append(session, ledger, [producer.signed()])
    payload = grade_payload(producer.uscc, "B", "A", [first.entry.seq],
                            exempt_until="2029-11-28T00:00:00Z")
    with pytest.raises(RuleViolation, match="recorded by the ledger operator"):
        append(session, ledger, [producer.signed("credit_grade", **payload)])
