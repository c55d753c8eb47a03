"""API bearer tokens: each speaks for one enterprise, in one role.

Tokens carry 256 random bits, so a plain SHA-256 of them is what is stored: a leaked table
is useless, and the token itself is shown to its holder once.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.orm import Session

from ledger.accounts.models import ApiToken
from ledger.accounts.roles import ROLES
from ledger.accounts.users import AccountError
from ledger.log.identity import OPERATOR
from ledger.log.storage import EnterpriseRow

__all__ = ["find_token", "issue_token", "revoke_token"]


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue_token(session: Session, enterprise: str, role: str, now: str) -> str:
    """Create a token for a registered ``enterprise``; only its hash is stored, so show it to
    the user once. AccountError names the field at fault."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    if enterprise != OPERATOR and session.get(EnterpriseRow, enterprise) is None:
        raise AccountError(f"enterprise {enterprise} is not registered", field="enterprise")
    token = "tn_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_token_hash(token), enterprise=enterprise, role=role,
                         created_at=now, revoked_at=None))
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
