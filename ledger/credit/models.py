"""The grading's own state: a reader of the ledger with its own cursor, not a projection the
supervision rules read.

``ledger.credit.engine`` fills these tables as it reads entries past ``credit_cursor``; they
can be dropped and recomputed from the ledger (``ledger.credit.engine.rebuild``), and the
grades they arrive at are the ones the ``credit_grade`` entries recorded.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base

__all__ = ["ENGINE_TABLES", "CreditCursorRow", "CreditDeadlineRow", "CreditFactRow",
           "CreditScoreRow"]


class CreditCursorRow(Base):
    """How far the grading has read the ledger (one row, id 1)."""

    __tablename__ = "credit_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: the last seq read (-1: none)
    seq: Mapped[int] = mapped_column(BigInteger)
    #: the grading's clock: the latest recorded_at read, UTC (``YYYY-MM-DDTHH:MM:SS.ffffffZ``)
    clock: Mapped[str] = mapped_column(String(40))


class CreditFactRow(Base):
    """One scored fact about an enterprise: what an entry (or a missed deadline) counts for or
    against it, in tenths of a point, until ``expires_at`` (None: while it stands)."""

    __tablename__ = "credit_facts"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    factor: Mapped[str] = mapped_column(String(30), primary_key=True)
    points: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    #: a short description (zh-CN | en), for explanations
    label: Mapped[str] = mapped_column(String(200))


class CreditDeadlineRow(Base):
    """A filing the ledger is still waiting for: a produced lot's inspection, a shipment's
    receipt. Met, it is deleted; missed (``due_at`` passed), it becomes a fact."""

    __tablename__ = "credit_deadlines"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(30))
    #: who would miss it (the producer; the receiver)
    enterprise: Mapped[str] = mapped_column(String(40))
    #: the shipper, for a shipment's receipt
    party: Mapped[str] = mapped_column(String(40))
    gtin: Mapped[str] = mapped_column(String(14))
    lot: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[str] = mapped_column(String(40), index=True)

    __table_args__ = (Index("ix_credit_deadlines_lot", "gtin", "lot"),)


class CreditScoreRow(Base):
    """The grading's view of one enterprise: its score and the grade it decided."""

    __tablename__ = "credit_scores"

    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    grade: Mapped[str] = mapped_column(String(1))
    #: tenths of a point
    score: Mapped[int] = mapped_column(Integer)
    exempt_until: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    #: the seq of the ``credit_grade`` entry that gave the grade (None: never graded)
    grade_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: licence kinds the enterprise registered, comma-separated
    licences: Mapped[str] = mapped_column(String(400))
    #: JSON: factor -> the raw total (tenths) of its facts counting now
    totals: Mapped[str] = mapped_column(Text, default="{}")


#: the grading's tables, in an order safe to clear
ENGINE_TABLES = (CreditCursorRow, CreditFactRow, CreditDeadlineRow, CreditScoreRow)
