"""Counting a unit code's queries, atomically, whichever process answers.

One statement does it: ``INSERT … ON CONFLICT (code) DO UPDATE SET count = count + 1 …
RETURNING``, on SQLite (3.35 and later) and PostgreSQL alike. The increment happens in the
database, under its row lock (PostgreSQL) or its write lock (SQLite), so two gunicorn workers
answering the same code at once never lose a count, and the first query is the one that
inserted the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledger.consumer.models import UnitQueryRow
from ledger.db import hold_writer_lock
from ledger.log import rfc3339

__all__ = ["QueryCount", "count_query", "read_queries"]


@dataclass(frozen=True)
class QueryCount:
    """A code's queries, this one included: how many, and when the first was."""

    count: int
    first_at: str

    @property
    def first(self) -> bool:
        """Whether this query is the code's first."""
        return self.count == 1


def _upsert(insert: Any) -> Any:
    statement = insert(UnitQueryRow).values(
        code=bindparam("code"), count=1, first_at=bindparam("moment"),
        last_at=bindparam("moment"))
    return statement.on_conflict_do_update(
        index_elements=[UnitQueryRow.code],
        set_={"count": UnitQueryRow.count + 1, "last_at": statement.excluded.last_at},
    ).returning(UnitQueryRow.count, UnitQueryRow.first_at)


# built once: building the statement costs more than running it
_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def count_query(session: Session, code: str, now: datetime) -> QueryCount:
    """Count one query of ``code`` at ``now`` on ``session`` (the caller commits)."""
    statement = _UPSERT[session.get_bind().dialect.name]
    # SQLite: queue behind other writers on the lock file rather than in SQLite's busy
    # handler, which sleeps up to 100 ms between tries.
    hold_writer_lock(session)
    count, first_at = session.connection().execute(
        statement, {"code": code, "moment": rfc3339(now)}).one()
    return QueryCount(int(count), str(first_at))


_READ = select(UnitQueryRow.count, UnitQueryRow.first_at).where(
    UnitQueryRow.code == bindparam("code"))


def read_queries(session: Session, code: str) -> QueryCount | None:
    """``code``'s queries so far, without counting one (None: it was never queried)."""
    row = session.connection().execute(_READ, {"code": code}).one_or_none()
    return None if row is None else QueryCount(int(row[0]), str(row[1]))
