"""risk: spot-check plans and picks (projections) and early-warning alerts (their own table)

Revision ID: 0011_risk
Revises: 0010_sign_in_failures
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_risk"
down_revision = "0010_sign_in_failures"


def upgrade() -> None:
    op.create_table(
        "spot_check_plans",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("commitment", sa.String(length=80), nullable=False),
        sa.Column("planned_at", sa.String(length=40), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.Column("lots_per_enterprise", sa.Integer(), nullable=False),
        sa.Column("frame_size", sa.Integer(), nullable=False),
        sa.Column("exempt", sa.Integer(), nullable=False),
        sa.Column("draw_seq", sa.BigInteger(), nullable=True),
        sa.Column("drawn_at", sa.String(length=40), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(op.f("ix_spot_check_plans_enterprise"), "spot_check_plans", ["enterprise"])
    op.create_table(
        "spot_check_picks",
        sa.Column("plan", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("lot", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("plan", "enterprise", "position"),
    )
    op.create_index(op.f("ix_spot_check_picks_enterprise"), "spot_check_picks", ["enterprise"])
    op.create_index("ix_spot_check_picks_lot", "spot_check_picks", ["gtin", "lot"])
    op.create_table(
        "spot_check_seeds",
        sa.Column("plan", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("plan"),
    )
    op.create_table(
        "risk_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("category", sa.String(length=8), nullable=True),
        sa.Column("class_code", sa.String(length=8), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("inspections", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("baseline_inspections", sa.Integer(), nullable=False),
        sa.Column("baseline_failures", sa.Integer(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("raised_at", sa.String(length=40), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("acknowledged_at", sa.String(length=40), nullable=True),
        sa.Column("acknowledge_note", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sa.String(length=40), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dimension", "key", "month", name="uq_risk_alerts_cell"),
    )
    op.create_index(op.f("ix_risk_alerts_status"), "risk_alerts", ["status"])
    op.create_index(op.f("ix_risk_alerts_district"), "risk_alerts", ["district"])


def downgrade() -> None:
    op.drop_index(op.f("ix_risk_alerts_district"), table_name="risk_alerts")
    op.drop_index(op.f("ix_risk_alerts_status"), table_name="risk_alerts")
    op.drop_table("risk_alerts")
    op.drop_table("spot_check_seeds")
    op.drop_index("ix_spot_check_picks_lot", table_name="spot_check_picks")
    op.drop_index(op.f("ix_spot_check_picks_enterprise"), table_name="spot_check_picks")
    op.drop_table("spot_check_picks")
    op.drop_index(op.f("ix_spot_check_plans_enterprise"), table_name="spot_check_plans")
    op.drop_table("spot_check_plans")
