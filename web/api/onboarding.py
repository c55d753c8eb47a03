"""Enterprise onboarding by a bureau through the API, and the audit trail.

A regulator's (or administrator's) token registers an enterprise, issues and revokes its API
tokens and opens and closes its console accounts — what ``tracenet enterprise add``,
``token add`` and ``user add`` do on the server's own machine, one command at a time. A
district bureau's token does so for producers of its own district only
(ledger/accounts/scope.py). Every call is in the audit trail, which ``/api/v1/audit`` lists
and ``/api/v1/audit/export`` downloads as CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ledger.accounts.audit import AUDIT_COLUMNS, audit_query, audit_rows, format_at
from ledger.accounts.scope import require_manager
from ledger.supervision.queries import Page
from schemas.onboarding import (
    AccessTokenSchema,
    AuditQuerySchema,
    EnterpriseBodySchema,
    IssuedTokenSchema,
    RegisteredSchema,
    TokenBodySchema,
    UserBodySchema,
    UserSchema,
)
from web import onboarding
from web.api.contract import PageSchema
from web.api.pagination import PageQuery, page_body
from web.api.security import BEARER
from web.auth import Principal, require_principal, viewer_of
from web.db import get_runtime, get_session

blp = Blueprint("onboarding", __name__, url_prefix="/api/v1",
                description="Onboarding enterprises (a bureau's tokens), and the audit trail")

class AuditPageQuery(PageQuery, AuditQuerySchema):
    """A page of the audit trail, newest first, with its filters."""


class AuditExportQuery(AuditQuerySchema):
    """The audit trail's rows to export (at most 100,000, newest first)."""

    limit = fields.Integer(load_default=100_000, validate=validate.Range(1, 100_000))


def _caller() -> Principal:
    principal = require_principal(get_session())
    require_manager(principal)
    return principal


@blp.post("/enterprises")
@blp.arguments(EnterpriseBodySchema)
@blp.response(201, RegisteredSchema)
@blp.doc(security=BEARER)
def register(body: dict[str, Any]) -> dict[str, Any]:
    """Register an enterprise on the ledger with a custodial signing key (a bureau: the city
    bureau any enterprise, a district bureau producers of its district), with its licences
    and the GS1 company prefixes and GLNs it holds."""
    session = get_session()
    registered = onboarding.register(session, _caller(), body)
    session.commit()
    return registered


@blp.get("/enterprises/<uscc>/tokens")
@blp.response(200, AccessTokenSchema(many=True))
@blp.doc(security=BEARER)
def tokens(uscc: str) -> list[dict[str, Any]]:
    """The enterprise's API tokens by their public ids (never the tokens), live first."""
    return onboarding.tokens_of(get_session(), _caller(), uscc)


@blp.post("/enterprises/<uscc>/tokens")
@blp.arguments(TokenBodySchema)
@blp.response(201, IssuedTokenSchema)
@blp.doc(security=BEARER)
def issue(body: dict[str, Any], uscc: str) -> dict[str, Any]:
    """Issue an API token for the enterprise, in one of its roles; ``token`` is shown in this
    response only."""
    session = get_session()
    issued = onboarding.issue(session, _caller(), uscc, body)
    session.commit()
    return issued


@blp.delete("/enterprises/<uscc>/tokens/<token_id>")
@blp.response(200, AccessTokenSchema)
@blp.doc(security=BEARER)
def revoke(uscc: str, token_id: str) -> dict[str, Any]:
    """Revoke one of the enterprise's live tokens by its id: it is refused from then on."""
    session = get_session()
    revoked = onboarding.revoke(session, _caller(), uscc, token_id)
    session.commit()
    return revoked


@blp.get("/enterprises/<uscc>/users")
@blp.response(200, UserSchema(many=True))
@blp.doc(security=BEARER)
def users(uscc: str) -> list[dict[str, Any]]:
    """The enterprise's console accounts."""
    return onboarding.users_of(get_session(), _caller(), uscc)


@blp.post("/enterprises/<uscc>/users")
@blp.arguments(UserBodySchema)
@blp.response(201, UserSchema)
@blp.doc(security=BEARER)
def add_user(body: dict[str, Any], uscc: str) -> dict[str, Any]:
    """Open a console account for the enterprise (regulators and admins enrol a TOTP second
    factor at their first sign-in)."""
    session = get_session()
    added = onboarding.add_user(session, _caller(), uscc, body)
    session.commit()
    return added


@blp.delete("/enterprises/<uscc>/users/<username>")
@blp.response(204)
@blp.doc(security=BEARER)
def remove_user(uscc: str, username: str) -> None:
    """Close one of the enterprise's console accounts."""
    session = get_session()
    onboarding.remove_user(session, _caller(), uscc, username)
    session.commit()


def _scope(principal: Principal) -> set[str] | None:
    viewer = viewer_of(principal, get_session())
    if viewer is None:
        return None
    return {viewer} if isinstance(viewer, str) else set(viewer)


def _filters(query: dict[str, Any]) -> dict[str, Any]:
    return {"actor": query["actor"], "enterprise": query["enterprise"],
            "action": query["action"],
            "since": format_at(query["since"]) if query["since"] else None,
            "until": format_at(query["until"]) if query["until"] else None}


@blp.get("/audit")
@blp.arguments(AuditPageQuery, location="query")
@blp.response(200, PageSchema)
@blp.doc(security=BEARER)
def audit_log(query: dict[str, Any]) -> dict[str, Any]:
    """The audit trail, newest first: the city bureau and admins see all of it, a district
    bureau its district's organisations and itself, an enterprise its own accounts' rows."""
    principal = require_principal(get_session())
    select = audit_query(only=_scope(principal), **_filters(query))
    if query["cursor"]:
        from ledger.accounts.models import AuditRow  # noqa: PLC0415

        select = select.where(AuditRow.id < int(query["cursor"][0]))
    rows = list(audit_rows(get_session(), select, limit=query["limit"] + 1))
    more = len(rows) > query["limit"]
    rows = rows[:query["limit"]]
    return page_body(Page(rows, (rows[-1]["id"],) if more and rows else None))


_EXPORT_RESPONSES = {
    "200": {"description": "the audit trail as CSV (UTF-8 with a byte order mark), a header "
                           "row of " + ", ".join(AUDIT_COLUMNS) + ", newest first",
            "content": {"text/csv": {"schema": {"type": "string"}}}},
}


@blp.get("/audit/export")
@blp.arguments(AuditExportQuery, location="query")
@blp.doc(security=BEARER, responses=_EXPORT_RESPONSES)
def audit_export(query: dict[str, Any]) -> Response:
    """The audit trail as CSV, with the same scope and filters as ``/audit``."""
    principal = require_principal(get_session())
    select = audit_query(only=_scope(principal), **_filters(query))
    sessions = get_runtime().sessions

    def body() -> Iterator[bytes]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(AUDIT_COLUMNS)
        yield out.getvalue().encode("utf-8-sig")
        # a session of the body's own, closed when the body is, streamed or abandoned (the
        # request's session is closed at teardown, before a streamed body is read)
        with sessions() as own:
            for row in audit_rows(own, select, limit=query["limit"]):
                out.seek(0)
                out.truncate()
                writer.writerow([_safe(str(row[name])) for name in AUDIT_COLUMNS])
                yield out.getvalue().encode()

    return Response(stream_with_context(body()), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"',
                             "Cache-Control": "private, no-store"})


def _safe(cell: str) -> str:
    # a cell Excel would run as a formula (a path or detail someone typed) stays text
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
