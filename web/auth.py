"""Bearer tokens: an API token speaks for one enterprise, with that enterprise's role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import g, request
from sqlalchemy.orm import Session

from ledger.models import ApiToken
from web.errors import ApiError

__all__ = ["ROLES", "Principal", "current_principal", "issue_token", "require_principal",
           "revoke_token", "viewer_of"]

ROLES = ("producer", "regulator", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an enterprise (USCC, or the operator) and its role."""

    enterprise: str
    role: str


def _token_hash(token: str) -> bytes:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough to make a leaked table useless.
    return hashlib.sha256(token.encode()).digest()


def issue_token(session: Session, enterprise: str, role: str, now: str) -> str:
    """Create a token for ``enterprise``; only its hash is stored, so show it to the user once."""
    if role not in ROLES:
        raise ApiError(422, "validation_error", f"role must be one of {ROLES}, got {role!r}",
                       "role")
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


def current_principal(session: Session) -> Principal | None:
    """The caller named by the request's bearer token; None when there is no token."""
    if "principal" in g:
        principal: Principal | None = g.principal
        return principal
    header = request.headers.get("Authorization", "")
    principal = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "expected 'Authorization: Bearer <token>'",
                           "Authorization")
        row = session.get(ApiToken, _token_hash(token.strip()))
        if row is None or row.revoked_at is not None:
            raise ApiError(401, "unauthorized", "unknown or revoked API token", "Authorization")
        principal = Principal(row.enterprise, row.role)
    g.principal = principal
    return principal


def viewer_of(principal: Principal | None) -> str | None:
    """Whose records the caller may read: regulators and admins all (None), others their own.

    Anonymous callers get the empty string, which matches no enterprise: public data only.
    """
    if principal is None:
        return ""
    return None if principal.role in ("regulator", "admin") else principal.enterprise


def require_principal(session: Session) -> Principal:
    """The caller, who must have presented a valid token."""
    principal = current_principal(session)
    if principal is None:
        raise ApiError(401, "unauthorized", "this endpoint needs an API token", "Authorization")
    return principal
