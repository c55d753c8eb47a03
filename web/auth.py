"""Bearer tokens on requests: an API token speaks for one enterprise, with its role."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts.roles import REGULATOR
from ledger.accounts.scope import Scoped, viewer_for, visible_enterprises
from ledger.accounts.tokens import find_token, token_id
from ledger.errors import ForbiddenError
from ledger.supervision.models import LotRow, RecallRow, StockRow
from ledger.supervision.queries import Viewer
from web.errors import ApiError

__all__ = ["Principal", "authenticated_viewer", "current_principal", "require_lots_in_scope",
           "require_principal", "require_recall_in_scope", "viewer_of"]


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


def require_lots_in_scope(session: Session, user: Scoped,
                          lots: Iterable[tuple[str, str]]) -> None:
    """A district bureau acts (orders a recall, say) only on lots made or held in its
    district: ForbiddenError naming the first lot outside it. No-op for everyone else."""
    visible = visible_enterprises(session, user)
    if visible is None or user.role != REGULATOR:
        return
    for gtin, lot in lots:
        row = session.get(LotRow, (gtin, lot))
        if row is None or row.origin in visible:
            continue  # an unknown lot is the recall rules' to refuse
        held = session.scalar(select(StockRow.enterprise).where(
            StockRow.gtin == gtin, StockRow.lot == lot,
            StockRow.enterprise.in_(sorted(visible))).limit(1))
        if held is None:
            raise ForbiddenError(f"lot {gtin}/{lot} is neither made nor held in "
                                 f"{user.district}", field="lots")


def require_recall_in_scope(session: Session, user: Scoped, seq: int) -> None:
    """A district bureau closes only recalls it may see in full (its own, or of a producer of
    its district): ForbiddenError otherwise."""
    recall = session.get(RecallRow, seq)
    if recall is None or user.role != REGULATOR:
        return
    visible = visible_enterprises(session, user)
    if visible is None or recall.producer in visible or recall.enterprise == user.enterprise:
        return
    raise ForbiddenError(f"recall {seq} is of a producer outside {user.district}",
                         field="recall")
