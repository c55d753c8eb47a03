"""The audit trail: who viewed or did what, when, from where (table ``audit_log``).

Append-only: :func:`record` is the only writer, nothing here updates or deletes, and database
triggers (migration 0011_scope) refuse UPDATE and DELETE, as on the ledger's own tables. A row
names the actor (a console username, or ``token:<id>`` for an API token), the organisation
and role it acted for, the regulator's district, the channel (console or API), the action
(``view``, ``change``, or a named one such as ``token_issued``), the request (method, path,
status), the client address and a short detail.

It is not a ledger entry: what a person looked at is not a supervision fact and must not
grow the signed log, and reading must not wait on the writer that sequences appends.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ledger.accounts.models import AuditRow

__all__ = ["AUDIT_COLUMNS", "AuditEvent", "audit_query", "audit_rows", "format_at", "record"]

#: the columns of an export, in order
AUDIT_COLUMNS = ("id", "at", "actor", "enterprise", "role", "district", "channel", "action",
                 "method", "path", "status", "address", "detail")
_LIMITS = {"actor": 100, "enterprise": 40, "role": 20, "district": 100, "channel": 10,
           "action": 20, "method": 10, "path": 500, "address": 64, "detail": 500}


@dataclass(frozen=True)
class AuditEvent:
    """One thing to write to the trail (see the module's docstring for the fields)."""

    at: str
    actor: str
    enterprise: str
    role: str
    district: str
    channel: str
    action: str
    method: str
    path: str
    status: int
    address: str
    detail: str = ""


def record(session: Session, event: AuditEvent) -> AuditRow:
    """Append ``event`` (over-long fields cut to their column) and return its row; the
    caller commits."""
    values: dict[str, Any] = {name: getattr(event, name) for name in AUDIT_COLUMNS[1:]}
    for name, limit in _LIMITS.items():
        # control characters (a %00 in an address) are shown escaped: PostgreSQL refuses a
        # NUL in text, and the row must be written whatever the request was
        text = str(values[name] or "")
        values[name] = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)[:limit]
    row = AuditRow(**values)
    session.add(row)
    return row


def audit_query(*, only: Set[str] | None = None, actor: str | None = None,
                enterprise: str | None = None, action: str | None = None,
                since: str | None = None, until: str | None = None) -> Select[Any]:
    """The rows (labelled columns, see :data:`AUDIT_COLUMNS`) matching the filters, newest
    first; ``only`` the rows of those organisations (a district bureau sees its district's
    and its own)."""
    query: Select[Any] = select(*(getattr(AuditRow, name).label(name)
                                  for name in AUDIT_COLUMNS))
    if only is not None:
        query = query.where(AuditRow.enterprise.in_(sorted(only)))
    if actor:
        query = query.where(AuditRow.actor == actor)
    if enterprise:
        query = query.where(AuditRow.enterprise == enterprise)
    if action:
        query = query.where(AuditRow.action == action)
    if since:
        query = query.where(AuditRow.at >= since)
    if until:
        query = query.where(AuditRow.at < until)
    return query.order_by(AuditRow.id.desc())


def audit_rows(session: Session, query: Select[Any], *,
               limit: int = 100_000) -> Iterator[dict[str, Any]]:
    """The rows of ``query`` as dicts, streamed (at most ``limit``)."""
    for row in session.execute(query.limit(limit).execution_options(yield_per=1000)):
        yield dict(row._mapping)


def format_at(moment: datetime) -> str:
    """A moment as the trail stores it: UTC, RFC 3339 with milliseconds (sorts as text)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
