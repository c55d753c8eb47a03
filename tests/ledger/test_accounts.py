"""Console accounts: scrypt hashes, sign-in, and the checks on creating an account."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.models import UserRow
from ledger.accounts.users import (
    AccountError,
    authenticate,
    create_user,
    hash_password,
    verify_password,
)
from ledger.errors import render_field
from ledger.supervision.admission import rebuild
from tests.ledger.conftest import Producer, make_uscc


def test_hash_is_self_describing_and_salted() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second  # a fresh salt each time
    scheme, n, r, p, _salt, _digest = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert verify_password("correct horse", first)
    assert not verify_password("correct horsE", first)


@pytest.mark.parametrize("stored", ["", "scrypt$1$2", "bcrypt$16384$8$1$AAAA$AAAA",
                                    "scrypt$16384$8$1$not base64!$AAAA",
                                    "scrypt$x$8$1$AAAA$AAAA"])
def test_malformed_stored_hashes_never_match(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_create_and_authenticate(session: Session, producer: Producer) -> None:
    create_user(session, username="zhang.san", password="s3cret-pass", enterprise=producer.uscc,
                role="producer")
    session.commit()
    user = authenticate(session, "zhang.san", "s3cret-pass")
    assert user is not None
    assert (user.enterprise, user.role) == (producer.uscc, "producer")
    assert user.password_hash.startswith("scrypt$")
    assert "s3cret-pass" not in user.password_hash
    assert authenticate(session, "zhang.san", "wrong-pass") is None
    assert authenticate(session, "nobody", "s3cret-pass") is None


def test_operator_admin_needs_no_registered_enterprise(session: Session) -> None:
    create_user(session, username="root", password="operator-pass", enterprise="operator",
                role="admin")
    assert session.get(UserRow, "root") is not None


@pytest.mark.parametrize(("changes", "field", "match"), [
    ({"username": "a b"}, "username", "3-60 characters"),
    ({"role": "inspector"}, "role", "role must be one of producer, regulator, admin"),
    ({"password": "short"}, "password", "at least 8 characters"),
    ({"enterprise": make_uscc(99)}, "enterprise", "is not registered"),
    ({"enterprise": "operator"}, "enterprise", "is not registered"),  # only admins act for it
])
def test_bad_accounts_are_refused(session: Session, producer: Producer, changes: dict[str, str],
                                  field: str, match: str) -> None:
    account = {"username": "li.si", "password": "long-enough", "enterprise": producer.uscc,
               "role": "producer", **changes}
    with pytest.raises(AccountError, match=match) as caught:
        create_user(session, **account)
    assert render_field(caught.value.field) == field


def test_usernames_are_unique(session: Session, producer: Producer) -> None:
    create_user(session, username="wang", password="password-1", enterprise=producer.uscc,
                role="producer")
    with pytest.raises(AccountError, match="username 'wang' is taken"):
        create_user(session, username="wang", password="password-2", enterprise=producer.uscc,
                    role="regulator")


def test_accounts_survive_a_rebuild(session: Session, producer: Producer,
                                    ledger: log.Ledger) -> None:
    create_user(session, username="zhao", password="password-1", enterprise=producer.uscc,
                role="producer")
    session.commit()
    rebuild(session)
    session.commit()
    assert authenticate(session, "zhao", "password-1") is not None


def test_migration_matches_the_model(session: Session) -> None:
    columns = {c["name"]: c for c in inspect(session.get_bind()).get_columns("users")}
    assert list(columns) == ["username", "password_hash", "enterprise", "role", "created_at",
                             "district"]
    assert not any(c["nullable"] for c in columns.values())
