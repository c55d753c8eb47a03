"""The audit trail's door in the web layer: one row per request a signed-in person or an API
token makes (ledger/accounts/audit.py), written after the response is made, or by a view
that commits once together with its work (:func:`with_work`).

The row goes through a session of its own, committed at once: the request's session may hold
a refused, rolled-back unit of work, and what was looked at must be on record whether or not
what was done succeeded. Views name a more precise action (``token_issued``) or add a detail
through :func:`note`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, Response, current_app, g, request
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ledger.accounts.audit import AuditEvent, format_at, record
from ledger.accounts.models import UserRow
from ledger.db import hold_writer_lock
from web.db import get_runtime

__all__ = ["failed_sign_in", "init_app", "note", "signed_in", "with_work"]

_DOWNLOADS = (".csv", ".xlsx", ".pdf")


def init_app(app: Flask) -> None:
    """Write an audit row after every authenticated request."""
    app.after_request(_write)


def note(action: str | None = None, detail: str | None = None) -> None:
    """Name this request's action (else view / change / download) or add a detail."""
    if action is not None:
        g.audit_action = action
    if detail is not None:
        g.audit_detail = detail


def signed_in(user: UserRow) -> None:
    """This request signed ``user`` in: audit it as theirs."""
    g.audit_user = user
    g.audit_action = "sign_in"


def failed_sign_in(username: str) -> None:
    """This request was a failed sign-in as ``username`` (a wrong password, or no such
    account): audit it, under the name that was tried."""
    g.audit_attempt = username
    g.audit_action = "sign_in_failed"


def _action() -> str:
    if "audit_action" in g:
        return str(g.audit_action)
    if request.method in ("GET", "HEAD"):
        downloading = (request.args.get("download") or "format" in request.args
                       or request.path.endswith(_DOWNLOADS))
        return "download" if downloading else "view"
    return "change"


def with_work(session: Session, status: int) -> None:
    """Put this request's row, answered ``status``, in the unit of work ``session`` is about
    to commit, so that it lands with the work and the write lock is taken once.

    For a view that commits once and then only answers (an append): written after the
    response, the row waited for the other workers' appends to finish (~50-90 ms per
    1,000-event batch with two gunicorn workers). If the commit fails, the row goes with
    it and is written after the response, as for any other request.
    """
    event = _event(status)
    if event is not None:
        g.audit_row = record(session, event)


def _event(status: int) -> AuditEvent | None:
    user: UserRow | None = g.get("audit_user") or g.get("console_user")
    principal = g.get("principal")
    attempt = g.get("audit_attempt")
    if user is None and principal is None and attempt is None:
        return None
    if user is None and principal is None:
        actor, enterprise, role, district, channel = attempt, "", "", "", "console"
    elif user is not None:
        actor, enterprise, role, district = (user.username, user.enterprise, user.role,
                                             user.district)
        channel = "api" if principal is not None else "console"
    else:
        actor = f"token:{principal.token}"
        enterprise, role, district, channel = (principal.enterprise, principal.role,
                                               principal.district, "api")
    return AuditEvent(at=format_at(datetime.now(UTC)), actor=actor, enterprise=enterprise,
                      role=role, district=district, channel=channel, action=_action(),
                      method=request.method, path=request.full_path.rstrip("?"),
                      status=status, address=request.remote_addr or "",
                      detail=str(g.get("audit_detail", "")))


def _write(response: Response) -> Response:
    landed = g.pop("audit_row", None)
    if landed is not None and inspect(landed).persistent:  # committed with the view's work
        return response
    event = _event(response.status_code)
    if event is None:
        return response
    # The response is made: whatever the request's session still holds uncommitted (a refused
    # unit of work) would be discarded at teardown anyway, so it is rolled back now and the
    # same session writes the row (cheaper than a session of its own: bench/audit.py; and a
    # second session would wait on the first one's write lock, SQLite's being the whole
    # database). A streamed body (a download) still reads through the request's session, so
    # its row goes through a session of its own.
    held = g.get("db_session")
    try:
        if held is not None and not response.is_streamed:
            held.rollback()
            # SQLite: queue behind other writers on the lock file rather than in SQLite's
            # busy handler, which sleeps up to 100 ms between tries (after an API append,
            # the row waited ~23 ms on average behind the other worker's batch).
            hold_writer_lock(held)
            record(held, event)
            held.commit()
        else:
            with get_runtime().sessions() as session:
                record(session, event)
                session.commit()
    except SQLAlchemyError:  # the answer stands; the failure is loud in the log
        if held is not None:
            held.rollback()
        current_app.logger.exception("audit trail: could not record %s %s by %s",
                                     event.method, event.path, event.actor)
    return response
