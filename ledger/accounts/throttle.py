"""Failed sign-ins per account, counted in the database so that every gunicorn worker (and
host) sees the same count: Flask-Limiter's default ``memory://`` store counts per worker, which
would let an account take five wrong passwords *per worker* a minute.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ledger.accounts.models import SignInFailure
from ledger.db import hold_writer_lock

__all__ = ["WINDOW", "failures", "forget_old", "record_failure"]

#: seconds over which failures are counted
WINDOW = 60.0


def failures(session: Session, account: str, now: float,
             window: float = WINDOW) -> tuple[int, float]:
    """How many failures ``account`` had in the ``window`` seconds before ``now``, and the
    time the oldest of them leaves the window (``now`` when there are none)."""
    count, oldest = session.execute(
        select(func.count(), func.min(SignInFailure.at))
        .where(SignInFailure.account == account, SignInFailure.at > now - window)).one()
    return int(count), (float(oldest) + window if oldest is not None else now)


def record_failure(session: Session, account: str, now: float) -> None:
    """Count one failure of ``account`` at ``now`` (and drop failures the window has left).
    The caller commits."""
    hold_writer_lock(session)
    forget_old(session, now)
    session.add(SignInFailure(account=account[:200], at=now))
    session.flush()


def forget_old(session: Session, now: float, keep: float = 3600.0) -> None:
    """Drop failures older than ``keep`` seconds (longer than any window in use)."""
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - keep))
