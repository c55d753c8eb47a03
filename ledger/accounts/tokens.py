"""API bearer tokens: each speaks for one enterprise, in one role.

Tokens carry 256 random bits, so a plain SHA-256 of them is what is stored: a leaked table
is useless, and the token itself is shown to its holder once.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts.models import ApiToken
from ledger.accounts.roles import ROLES
from ledger.accounts.users import AccountError, check_district
from ledger.log.identity import OPERATOR
from ledger.log.storage import EnterpriseRow

__all__ = ["find_token", "issue_token", "revoke_token", "revoke_token_by_id", "token_id"]


_MAX_LABEL = 100
_ID_DIGITS = 16


def token_id(token_hash: bytes) -> str:
    """A token's public name: the first 16 hex digits of its hash (never the token itself),
    by which the bureau lists and revokes it."""
    return token_hash.hex()[:16]


def revoke_token_by_id(session: Session, ident: str, now: str,
                       enterprise: str | None = None) -> ApiToken | None:
    """Revoke the live token whose :func:`token_id` is ``ident`` (of ``enterprise`` when
    given); the row, or None when there is no such live token."""
    if len(ident) != _ID_DIGITS or any(c not in "0123456789abcdef" for c in ident):
        return None
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
    if enterprise is not None:
        query = query.where(ApiToken.enterprise == enterprise)
    for row in session.scalars(query):
        if token_id(row.token_hash) == ident:
            row.revoked_at = now
            return row
    return None


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue_token(session: Session, enterprise: str, role: str, now: str, *, district: str = "",
                label: str = "") -> str:
    """Create a token for a registered ``enterprise``; only its hash is stored, so show it to
    the user once. A regulator's ``district`` scopes it (ledger/accounts/scope.py); ``label``
    names it in listings. AccountError names the field at fault."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    district = check_district(role, district)
    if len(label) > _MAX_LABEL:
        raise AccountError(f"a label has at most {_MAX_LABEL} characters", field="label")
    if enterprise != OPERATOR and session.get(EnterpriseRow, enterprise) is None:
        raise AccountError(f"enterprise {enterprise} is not registered", field="enterprise")
    token = "tn_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_token_hash(token), enterprise=enterprise, role=role,
                         created_at=now, revoked_at=None, district=district,
                         label=label.strip()))
    return token


def revoke_token(session: Session, token: str, now: str) -> bool:
    """Revoke a token; False when it is unknown."""
    row = session.get(ApiToken, _token_hash(token))
    if row is None:
        return False
    row.revoked_at = now
    return True


def find_token(session: Session, token: str) -> ApiToken | None:
    """The live (not revoked) token, or None."""
    row = session.get(ApiToken, _token_hash(token))
    return row if row is not None and row.revoked_at is None else None
