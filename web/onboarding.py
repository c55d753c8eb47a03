"""Enterprise onboarding by a bureau, shared by the console (web/console/enterprises.py) and
the API (web/api/onboarding.py): register an enterprise on the ledger, issue and revoke its
API tokens, open and close its console accounts.

Who may do what is ``ledger.accounts.scope``'s decision (a district bureau: producers of its
own district only); bodies are checked by ``schemas.onboarding``; the ledger work is
``ledger.accounts`` (enrolment, tokens, users) and, for GS1 company prefixes and GLNs, the
EPCIS capture's ``register_gs1_keys``. Nothing here commits: the caller does, once, so a
refusal anywhere leaves the ledger and the accounts as they were. Each action is named in the
audit trail (:func:`web.audit.note`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.enrolment import enrol_enterprise
from ledger.accounts.models import ApiToken, TotpRow, UserRow
from ledger.accounts.scope import (
    Scoped,
    check_may_grant,
    check_may_manage,
    check_may_register,
)
from ledger.accounts.tokens import issue_token, revoke_token_by_id, token_id
from ledger.accounts.users import create_user
from ledger.errors import ConflictError, NotFoundError
from ledger.log.identity import ENTERPRISE_REGISTERED
from ledger.log.storage import EnterpriseRow
from ledger.supervision.gs1_registration import gs1_keys_of, register_gs1_keys
from schemas.events import PAYLOAD_SCHEMAS
from schemas.onboarding import EnterpriseBodySchema, TokenBodySchema, UserBodySchema
from web import audit
from web.db import get_ledger, get_vault

__all__ = ["add_user", "issue", "register", "remove_user", "revoke", "tokens_of", "users_of"]

_REGISTRATION_FIELDS = ("uscc", "name", "roles", "district", "licences")


def _gs1_keys(session: Session, enterprise: str, prefixes: list[str],
              glns: list[str]) -> dict[str, list[str]]:
    """Register the enterprise's GS1 keys through the EPCIS capture's function (an operator
    entry through ``submit``, its rules refusing a key another enterprise holds), and read
    back what the enterprise holds."""
    if prefixes or glns:
        register_gs1_keys(session, get_ledger(), get_vault(), enterprise,
                          prefixes=prefixes, glns=glns)
    return gs1_keys_of(session, enterprise)


def register(session: Session, actor: Scoped, body: Mapping[str, Any]) -> dict[str, Any]:
    """Register an enterprise (custodial key) as ``actor``; what was registered."""
    loaded = EnterpriseBodySchema().load(dict(body))
    check_may_register(actor, loaded["district"], loaded["roles"])
    if session.get(EnterpriseRow, loaded["uscc"]) is not None:
        raise ConflictError(f"enterprise {loaded['uscc']} is already registered",
                            field="uscc")
    registration = PAYLOAD_SCHEMAS[ENTERPRISE_REGISTERED]().load(
        {name: loaded[name] for name in _REGISTRATION_FIELDS})
    key_id = enrol_enterprise(session, get_ledger(), get_vault(), registration)
    session.flush()
    row = session.get(EnterpriseRow, loaded["uscc"])
    assert row is not None  # noqa: S101 - just enrolled
    keys = _gs1_keys(session, row.uscc, loaded["gs1_prefixes"], loaded["glns"])
    audit.note("enterprise_added", f"{row.uscc} {row.name} ({row.district})")
    return {"uscc": row.uscc, "name": row.name, "district": row.district,
            "roles": row.roles.split(","), "registered_seq": row.registered_seq,
            "key_id": key_id, **keys}


def _token(row: ApiToken) -> dict[str, Any]:
    return {"id": token_id(row.token_hash), "enterprise": row.enterprise, "role": row.role,
            "district": row.district, "label": row.label, "created_at": row.created_at,
            "revoked_at": row.revoked_at}


def tokens_of(session: Session, actor: Scoped, enterprise: str) -> list[dict[str, Any]]:
    """The enterprise's tokens, live ones first, newest first within each."""
    check_may_manage(session, actor, enterprise)
    rows = session.scalars(select(ApiToken).where(ApiToken.enterprise == enterprise)
                           .order_by(ApiToken.created_at.desc()))
    return sorted((_token(row) for row in rows), key=lambda t: t["revoked_at"] is not None)


def issue(session: Session, actor: Scoped, enterprise: str,
          body: Mapping[str, Any]) -> dict[str, Any]:
    """Issue a token for ``enterprise``; the answer holds the token, shown this once."""
    row = check_may_manage(session, actor, enterprise)
    loaded = TokenBodySchema().load(dict(body))
    check_may_grant(actor, row, loaded["role"], loaded["district"])
    token = issue_token(session, enterprise, loaded["role"], log.rfc3339(get_ledger().clock()),
                        district=loaded["district"], label=loaded["label"])
    session.flush()
    issued = session.get(ApiToken, hashlib.sha256(token.encode()).digest())
    assert issued is not None  # noqa: S101 - just issued
    audit.note("token_issued", f"{enterprise} token {token_id(issued.token_hash)} "
               f"({loaded['role']})")
    return {**_token(issued), "token": token}


def revoke(session: Session, actor: Scoped, enterprise: str, ident: str) -> dict[str, Any]:
    """Revoke the enterprise's live token ``ident``; NotFoundError when there is none."""
    check_may_manage(session, actor, enterprise)
    row = revoke_token_by_id(session, ident, log.rfc3339(get_ledger().clock()), enterprise)
    if row is None:
        raise NotFoundError(f"{enterprise} has no live token {ident}", field="token")
    audit.note("token_revoked", f"{enterprise} token {ident}")
    return _token(row)


def _user(row: UserRow) -> dict[str, Any]:
    return {"username": row.username, "enterprise": row.enterprise, "role": row.role,
            "district": row.district, "created_at": row.created_at}


def users_of(session: Session, actor: Scoped, enterprise: str) -> list[dict[str, Any]]:
    """The enterprise's console accounts, by username."""
    check_may_manage(session, actor, enterprise)
    return [_user(row) for row in session.scalars(
        select(UserRow).where(UserRow.enterprise == enterprise).order_by(UserRow.username))]


def add_user(session: Session, actor: Scoped, enterprise: str,
             body: Mapping[str, Any]) -> dict[str, Any]:
    """Open a console account for ``enterprise``."""
    row = check_may_manage(session, actor, enterprise)
    loaded = UserBodySchema().load(dict(body))
    check_may_grant(actor, row, loaded["role"], loaded["district"])
    if session.get(UserRow, loaded["username"]) is not None:
        raise ConflictError(f"username {loaded['username']!r} is taken", field="username")
    create_user(session, username=loaded["username"], password=loaded["password"],
                enterprise=enterprise, role=loaded["role"], district=loaded["district"])
    user = session.get(UserRow, loaded["username"])
    assert user is not None  # noqa: S101 - just created
    audit.note("user_created", f"{enterprise} account {user.username} ({user.role})")
    return _user(user)


def remove_user(session: Session, actor: Scoped, enterprise: str, username: str) -> None:
    """Close a console account of ``enterprise`` (its second factor goes with it)."""
    check_may_manage(session, actor, enterprise)
    row = (session.get(UserRow, username)
           if len(username) <= 60 and username.isprintable() else None)
    if row is None or row.enterprise != enterprise:
        raise NotFoundError(f"{enterprise} has no console account {username!r}",
                            field="username")
    if username == getattr(actor, "username", None):
        raise ConflictError("an account cannot close itself", field="username")
    session.execute(delete(TotpRow).where(TotpRow.username == username))
    session.delete(row)
    audit.note("user_removed", f"{enterprise} account {username}")
