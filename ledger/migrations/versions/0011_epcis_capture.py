"""epcis_capture: enterprises' GS1 keys (enterprise_gs1_keys) and captured EPCIS events by
hash ID (epcis_captured), both projections; EPCIS capture jobs (epcis_capture_jobs)

Revision ID: 0011_epcis_capture
Revises: 0010_sign_in_failures
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_epcis_capture"
down_revision = "0010_sign_in_failures"


def upgrade() -> None:
    op.create_table(
        "enterprise_gs1_keys",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=13), nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value"),
    )
    op.create_index(op.f("ix_enterprise_gs1_keys_enterprise"), "enterprise_gs1_keys",
                    ["enterprise"])
    op.create_table(
        "epcis_captured",
        sa.Column("hash_id", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=500), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("hash_id"),
    )
    op.create_index(op.f("ix_epcis_captured_event_id"), "epcis_captured", ["event_id"])
    op.create_index(op.f("ix_epcis_captured_seq"), "epcis_captured", ["seq"])
    op.create_index(op.f("ix_epcis_captured_enterprise"), "epcis_captured", ["enterprise"])
    op.create_table(
        "epcis_capture_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("principal", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("finished_at", sa.String(length=40), nullable=True),
        sa.Column("behaviour", sa.String(length=10), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("captured", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_epcis_capture_jobs_principal"), "epcis_capture_jobs",
                    ["principal"])


def downgrade() -> None:
    op.drop_index(op.f("ix_epcis_capture_jobs_principal"), table_name="epcis_capture_jobs")
    op.drop_table("epcis_capture_jobs")
    op.drop_index(op.f("ix_epcis_captured_enterprise"), table_name="epcis_captured")
    op.drop_index(op.f("ix_epcis_captured_seq"), table_name="epcis_captured")
    op.drop_index(op.f("ix_epcis_captured_event_id"), table_name="epcis_captured")
    op.drop_table("epcis_captured")
    op.drop_index(op.f("ix_enterprise_gs1_keys_enterprise"), table_name="enterprise_gs1_keys")
    op.drop_table("enterprise_gs1_keys")
