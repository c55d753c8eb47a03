"""Bearer tokens on requests: an API token speaks for one enterprise, with its role."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from sqlalchemy.orm import Session

from ledger.accounts.scope import viewer_for
from ledger.accounts.tokens import find_token, token_id
from ledger.supervision.queries import Viewer
from web.errors import ApiError

__all__ = ["Principal", "authenticated_viewer", "current_principal", "require_principal",
           "viewer_of"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: an enterprise (USCC, or the operator), its role, and a regulator
    token's district (ledger/accounts/scope.py; empty: the whole city)."""

    enterprise: str
    role: str
    district: str = ""
    #: the token's public id (ledger.accounts.tokens.token_id), for the audit trail
    token: str = ""


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
        row = find_token(session, token.strip())
        if row is None:
            raise ApiError(401, "unauthorized", "unknown or revoked API token", "Authorization")
        principal = Principal(row.enterprise, row.role, row.district,
                              token_id(row.token_hash))
    g.principal = principal
    return principal


def viewer_of(principal: Principal | None, session: Session) -> Viewer:
    """Whose records the caller may read: the city bureau and admins all (None), a district
    bureau its district's enterprises (a set), others their own.

    Anonymous callers get the empty string, which matches no enterprise: public data only.
    """
    if principal is None:
        return ""
    return viewer_for(session, principal)


def authenticated_viewer(session: Session) -> Viewer:
    """Whose records the caller, who must have presented a valid token, may read."""
    return viewer_of(require_principal(session), session)


def require_principal(session: Session) -> Principal:
    """The caller, who must have presented a valid token."""
    principal = current_principal(session)
    if principal is None:
        raise ApiError(401, "unauthorized", "this endpoint needs an API token", "Authorization")
    return principal
