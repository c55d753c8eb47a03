"""A regulator's district scope (ledger/accounts/scope.py) and who may be scoped."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.accounts.models import UserRow
from ledger.accounts.scope import in_district, may_see, viewer_for, visible_enterprises
from ledger.accounts.tokens import issue_token
from ledger.accounts.users import AccountError, create_user
from ledger.log.keys import generate_private_key
from ledger.supervision.queries import list_enterprises
from tests.ledger.conftest import make_uscc


@dataclass(frozen=True)
class Account:
    enterprise: str
    role: str
    district: str = ""


def _register(session: Session, ledger: log.Ledger, serial: int, district: str) -> str:
    uscc = make_uscc(serial)
    enrol_enterprise(session, ledger, KeyVault("test"), {
        "uscc": uscc, "name": f"企业{serial}", "roles": ["producer"], "district": district},
        generate_private_key().public_key())
    return uscc


@pytest.fixture
def network(session: Session, ledger: log.Ledger) -> dict[str, str]:
    places = {"huli": "厦门市湖里区", "siming": "厦门市思明区", "gulou": "福州市鼓楼区",
              "odd": "厦门%_市"}
    found = {key: _register(session, ledger, n, place)
             for n, (key, place) in enumerate(places.items(), start=1)}
    session.commit()
    return found


def test_city_bureau_and_admin_see_everything(session: Session, network: dict[str, str]) -> None:
    assert visible_enterprises(session, Account(network["gulou"], "regulator")) is None
    assert visible_enterprises(session, Account("operator", "admin")) is None
    assert viewer_for(session, Account(network["gulou"], "regulator")) is None


def test_district_bureau_sees_its_district_only(session: Session,
                                                network: dict[str, str]) -> None:
    bureau = Account(network["gulou"], "regulator", "厦门市")
    assert visible_enterprises(session, bureau) == {network["huli"], network["siming"]}
    narrow = Account(network["gulou"], "regulator", "厦门市湖里区")
    assert visible_enterprises(session, narrow) == {network["huli"]}
    assert may_see(session, narrow, network["huli"])
    assert not may_see(session, narrow, network["siming"])
    # the records viewer adds the bureau's own enterprise (recalls it ordered)
    assert viewer_for(session, narrow) == frozenset({network["huli"], network["gulou"]})
    assert visible_enterprises(session, Account(network["gulou"], "regulator", "上海市")) == set()


def test_district_is_a_literal_prefix_not_a_pattern(session: Session,
                                                    network: dict[str, str]) -> None:
    assert visible_enterprises(session, Account(network["gulou"], "regulator", "厦门%")) == {
        network["odd"]}
    assert in_district("厦门市湖里区", "厦门市") and not in_district("厦门市湖里区", "福州市")
    assert in_district("anything", "")


def test_producer_sees_itself(session: Session, network: dict[str, str]) -> None:
    producer = Account(network["huli"], "producer")
    assert visible_enterprises(session, producer) == {network["huli"]}
    assert viewer_for(session, producer) == network["huli"]


def test_enterprise_listing_takes_the_scope(session: Session, network: dict[str, str]) -> None:
    only = visible_enterprises(session, Account(network["gulou"], "regulator", "厦门市湖里区"))
    page = list_enterprises(session, limit=10, only=only)
    assert [item["uscc"] for item in page.items] == [network["huli"]]


def test_only_regulators_have_a_district(session: Session, network: dict[str, str]) -> None:
    create_user(session, username="xm.bureau", password="long-enough", enterprise=network["gulou"],
                role="regulator", district=" 厦门市 ")
    row = session.get(UserRow, "xm.bureau")
    assert row is not None and row.district == "厦门市"
    with pytest.raises(AccountError, match="only a regulator is scoped to a district"):
        create_user(session, username="clerk", password="long-enough",
                    enterprise=network["huli"], role="producer", district="厦门市")
    with pytest.raises(AccountError, match="only a regulator is scoped"):
        issue_token(session, network["huli"], "producer", "2026-11-28T00:00:00Z",
                    district="厦门市")
    with pytest.raises(AccountError, match="at most 100 characters"):
        issue_token(session, network["gulou"], "regulator", "2026-11-28T00:00:00Z",
                    district="区" * 101)
