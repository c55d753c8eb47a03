"""The grading application flow: each step by its role, in order; a step by the wrong role or
out of order is refused and leaves the ledger as it was; violations are a regulator's, within
its district. The last test checks every credit rule was exercised here or in the other credit
tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.credit.flow import applications, apply, enforce, review
from ledger.credit.models import CreditScoreRow
from ledger.log.storage import EntryRow
from ledger.supervision.credit import APPROVED, REJECTED
from ledger.supervision.models import CreditApplicationRow
from ledger.supervision.rules import RULES, RuleViolation
from tests.ledger.conftest import make_uscc

VAULT = KeyVault("test")
MAKER, OTHER = make_uscc(20), make_uscc(21)
ASSOCIATION, DISTRICT, ELSEWHERE = make_uscc(22), make_uscc(23), make_uscc(24)
CITY = make_uscc(25)
FUZHOU = make_uscc(26)  # the city's bureau, registered with the city as its district
SEEN: set[str] = set()


@pytest.fixture
def session(sessions: sessionmaker[Session], ledger: log.Ledger) -> Iterator[Session]:
    with sessions() as session:
        log.initialise(session, ledger)
        for uscc, roles, district in (
                (MAKER, ["producer"], "福州市鼓楼区"), (OTHER, ["producer"], "福州市台江区"),
                (ASSOCIATION, ["association"], ""), (DISTRICT, ["regulator"], "福州市鼓楼区"),
                (ELSEWHERE, ["regulator"], "福州市台江区"), (CITY, ["regulator"], ""),
                (FUZHOU, ["regulator"], "福州市")):
            enrol_enterprise(session, ledger, VAULT, {"uscc": uscc, "name": uscc[-6:],
                                                      "roles": roles, "district": district})
        # The maker has earned the right to apply (the grading scored it 92).
        session.add(CreditScoreRow(enterprise=MAKER, grade="B", score=920, exempt_until=None,
                                   grade_seq=None, licences="SC"))
        session.commit()
        yield session


def refused(session: Session, rule: str, action: Callable[[], object]) -> RuleViolation:
    """``action`` is refused by ``rule`` and the ledger stays as it was."""
    size = session.scalar(select(func.count()).select_from(EntryRow))
    with pytest.raises(RuleViolation) as raised:
        action()
    session.rollback()
    assert raised.value.code == f"rule.{rule}"
    assert session.scalar(select(func.count()).select_from(EntryRow)) == size
    SEEN.add(rule)
    return raised.value


def test_the_four_steps_in_order_by_their_roles(session: Session, ledger: log.Ledger) -> None:
    number = apply(session, ledger, VAULT, MAKER, "近三年抽检全部合格")
    session.commit()
    steps = [("prereview", ASSOCIATION), ("district_review", DISTRICT),
             ("panel_decision", CITY)]
    for step, by in steps:
        (application,) = applications(session, MAKER)
        assert application.next_step == step
        review(session, ledger, VAULT, by, number, step, "approve", "同意")
        session.commit()
    (application,) = applications(session, MAKER)
    assert application.state == APPROVED and application.next_step is None
    assert [(s.step, s.by) for s in application.steps] == steps
    assert application.state_names == ("已批准", "approved")
    # Closed: no step can follow, and the maker may apply again.
    refused(session, "credit.out_of_order",
            lambda: review(session, ledger, VAULT, CITY, number, "panel_decision", "approve"))
    apply(session, ledger, VAULT, MAKER, "再次申请")


def test_a_step_by_the_wrong_role_is_refused(session: Session, ledger: log.Ledger) -> None:
    number = apply(session, ledger, VAULT, MAKER, "申请")
    session.commit()
    for by in (MAKER, DISTRICT, CITY):
        error = refused(session, "credit.wrong_role", lambda by=by: review(
            session, ledger, VAULT, by, number, "prereview", "approve"))
        assert "association" in str(error)
    review(session, ledger, VAULT, ASSOCIATION, number, "prereview", "approve")
    session.commit()
    # The district review is the applicant's own district's, not another's nor the city's.
    for by in (ELSEWHERE, CITY, ASSOCIATION):
        refused(session, "credit.wrong_role", lambda by=by: review(
            session, ledger, VAULT, by, number, "district_review", "approve"))
    review(session, ledger, VAULT, DISTRICT, number, "district_review", "approve")
    session.commit()
    for by in (DISTRICT, ELSEWHERE, ASSOCIATION, MAKER):
        refused(session, "credit.wrong_role", lambda by=by: review(
            session, ledger, VAULT, by, number, "panel_decision", "approve"))
    # The bureau registered for the whole city (福州市, above 福州市鼓楼区) decides too.
    review(session, ledger, VAULT, FUZHOU, number, "panel_decision", "approve")


def test_a_step_out_of_order_is_refused(session: Session, ledger: log.Ledger) -> None:
    number = apply(session, ledger, VAULT, MAKER, "申请")
    session.commit()
    error = refused(session, "credit.out_of_order", lambda: review(
        session, ledger, VAULT, CITY, number, "panel_decision", "approve"))
    assert "the next step is the association's pre-review" in str(error)
    refused(session, "credit.out_of_order", lambda: review(
        session, ledger, VAULT, DISTRICT, number, "district_review", "approve"))
    # A rejection closes the application.
    review(session, ledger, VAULT, ASSOCIATION, number, "prereview", "reject", "材料不全")
    session.commit()
    assert applications(session, MAKER)[0].state == REJECTED
    refused(session, "credit.out_of_order", lambda: review(
        session, ledger, VAULT, DISTRICT, number, "district_review", "approve"))
    refused(session, "credit.application_unknown", lambda: review(
        session, ledger, VAULT, ASSOCIATION, 99999, "prereview", "approve"))


def test_who_may_apply_and_when(session: Session, ledger: log.Ledger) -> None:
    refused(session, "credit.not_eligible",
            lambda: apply(session, ledger, VAULT, OTHER, "申请"))  # scored 80, not 90
    session.add(CreditScoreRow(enterprise=CITY, grade="B", score=950, exempt_until=None,
                               grade_seq=None, licences=""))
    session.commit()
    refused(session, "credit.not_applicant", lambda: apply(session, ledger, VAULT, CITY, "申请"))
    apply(session, ledger, VAULT, MAKER, "申请")
    session.commit()
    refused(session, "credit.application_open",
            lambda: apply(session, ledger, VAULT, MAKER, "又一次"))
    assert session.scalar(select(func.count()).select_from(CreditApplicationRow)) == 1


def test_violations_are_recorded_by_a_regulator_in_its_district(session: Session,
                                                               ledger: log.Ledger) -> None:
    refused(session, "credit.not_regulator", lambda: enforce(
        session, ledger, VAULT, ASSOCIATION, MAKER, "shipment.not_inspected", "检查发现", []))
    refused(session, "credit.outside_district", lambda: enforce(
        session, ledger, VAULT, ELSEWHERE, MAKER, "shipment.not_inspected", "检查发现", []))
    refused(session, "credit.enterprise_unknown", lambda: enforce(
        session, ledger, VAULT, CITY, make_uscc(99), "other", "检查发现", []))
    refused(session, "credit.evidence_unknown", lambda: enforce(
        session, ledger, VAULT, CITY, MAKER, "other", "检查发现", [10**6]))
    enforce(session, ledger, VAULT, DISTRICT, MAKER, "additive.over_limit", "超量使用", [1])
    enforce(session, ledger, VAULT, CITY, OTHER, "material.rejected", "使用不合格原料", [])
    session.commit()


def test_every_credit_rule_is_exercised(request: pytest.FixtureRequest) -> None:
    """Runs last: the grade entry's rules are exercised in test_grade_entries.py."""
    module = request.node.module
    selected = {getattr(item, "originalname", item.name) for item in request.session.items
                if getattr(item, "module", None) is module}
    if selected != {name for name in vars(module) if name.startswith("test_")}:
        pytest.skip("only a run of the whole module exercises every rule")
    in_grade_entries = {"credit.not_operator", "credit.previous_mismatch", "credit.unchanged",
                        "credit.evidence_unnamed"}
    assert sorted(code for code in RULES if code.startswith("credit.")
                  and code not in SEEN | in_grade_entries) == []
