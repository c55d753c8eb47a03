"""The early-warning alerts: the risk package's own table, not a projection.

An alert is raised from the ledger's inspections by :func:`ledger.risk.warning.scan`, which is
deterministic, so raising is idempotent (one row per dimension, cell and month); what people
do with it afterwards (acknowledge, close with a note) is the bureau's work on the alert, not
a fact about products, so it lives here rather than on the ledger.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base

__all__ = ["ACKNOWLEDGED", "ALERT_STATUSES", "CLOSED", "OPEN", "RiskAlertRow"]

OPEN, ACKNOWLEDGED, CLOSED = "open", "acknowledged", "closed"
ALERT_STATUSES = (OPEN, ACKNOWLEDGED, CLOSED)


class RiskAlertRow(Base):
    """A failure rate that rose beyond chance in one cell (category, class, district or a
    category in a district) and month, with the figures the test was run on."""

    __tablename__ = "risk_alerts"
    __table_args__ = (UniqueConstraint("dimension", "key", "month", name="uq_risk_alerts_cell"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: category_district, category, class or district
    dimension: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(160))
    month: Mapped[str] = mapped_column(String(7))
    category: Mapped[str | None] = mapped_column(String(8), nullable=True)
    class_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    district: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    inspections: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    baseline_inspections: Mapped[int] = mapped_column(Integer)
    baseline_failures: Mapped[int] = mapped_column(Integer)
    p_value: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), index=True)
    raised_at: Mapped[str] = mapped_column(String(40))
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledged_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    acknowledge_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    close_note: Mapped[str | None] = mapped_column(Text, nullable=True)
