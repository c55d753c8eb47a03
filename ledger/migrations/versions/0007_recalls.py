"""recalls: recalls, their scope lots, holders, holdings and progress reports, and each lot's
recall status (projections of the recall_initiated / recall_progress / recall_closed entries)

A ledger written before this revision has no recall entries, so the new tables start empty.

Revision ID: 0007_recalls
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_recalls"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "recalls",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("producer", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hazard", sa.Text(), nullable=False),
        sa.Column("consumer_advice", sa.Text(), nullable=True),
        sa.Column("initiated_at", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("closed_seq", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.String(length=40), nullable=True),
        sa.Column("closed_by", sa.String(length=40), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("responsibility", sa.Text(), nullable=True),
        sa.Column("lessons", sa.Text(), nullable=True),
        sa.Column("corrective_actions", sa.Text(), nullable=True),
        sa.Column("report", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(op.f("ix_recalls_enterprise"), "recalls", ["enterprise"], unique=False)
    op.create_index(op.f("ix_recalls_producer"), "recalls", ["producer"], unique=False)
    op.create_index(op.f("ix_recalls_status"), "recalls", ["status"], unique=False)
    op.create_table(
        "recall_lots",
        sa.Column("recall", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("via", sa.String(length=12), nullable=False),
        sa.Column("via_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("recall", "gtin", "lot"),
    )
    op.create_index("ix_recall_lots_lot", "recall_lots", ["gtin", "lot"], unique=False)
    op.create_table(
        "recall_holders",
        sa.Column("recall", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("via_seq", sa.BigInteger(), nullable=False),
        sa.Column("notice", sa.String(length=12), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("first_report_at", sa.String(length=40), nullable=True),
        sa.Column("last_report_seq", sa.BigInteger(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("completed_seq", sa.BigInteger(), nullable=True),
        sa.Column("completed_at", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("recall", "enterprise"),
    )
    op.create_index(op.f("ix_recall_holders_enterprise"), "recall_holders", ["enterprise"],
                    unique=False)
    op.create_index(op.f("ix_recall_holders_via_seq"), "recall_holders", ["via_seq"],
                    unique=False)
    op.create_table(
        "recall_holdings",
        sa.Column("recall", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("held", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("withdrawn", sa.String(length=40), nullable=False),
        sa.Column("retrieved", sa.String(length=40), nullable=False),
        sa.Column("destroyed", sa.String(length=40), nullable=False),
        sa.Column("reworked", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("recall", "enterprise", "gtin", "lot"),
    )
    op.create_table(
        "recall_reports",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("recall", sa.BigInteger(), nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("reported_at", sa.String(length=40), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(op.f("ix_recall_reports_recall"), "recall_reports", ["recall"],
                    unique=False)
    op.create_table(
        "lot_recalls",
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("open_recall", sa.BigInteger(), nullable=True),
        sa.Column("open_level", sa.Integer(), nullable=True),
        sa.Column("last_recall", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gtin", "lot"),
    )


def downgrade() -> None:
    op.drop_table("lot_recalls")
    op.drop_index(op.f("ix_recall_reports_recall"), table_name="recall_reports")
    op.drop_table("recall_reports")
    op.drop_table("recall_holdings")
    op.drop_index(op.f("ix_recall_holders_via_seq"), table_name="recall_holders")
    op.drop_index(op.f("ix_recall_holders_enterprise"), table_name="recall_holders")
    op.drop_table("recall_holders")
    op.drop_index("ix_recall_lots_lot", table_name="recall_lots")
    op.drop_table("recall_lots")
    op.drop_index(op.f("ix_recalls_status"), table_name="recalls")
    op.drop_index(op.f("ix_recalls_producer"), table_name="recalls")
    op.drop_index(op.f("ix_recalls_enterprise"), table_name="recalls")
    op.drop_table("recalls")
