"""epcis_index_*: the EPCIS index, a reader projection of the ledger with its own cursor

Revision ID: 0011_epcis_query
Revises: 0010_sign_in_failures
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_epcis_query"
down_revision = "0010_sign_in_failures"


def upgrade() -> None:
    state = op.create_table(
        "epcis_index_state",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(state, [{"name": "events", "next_seq": 0}])
    op.create_table(
        "epcis_index_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(length=1000), nullable=False),
        sa.Column("hash_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=True),
        sa.Column("event_time", sa.BigInteger(), nullable=False),
        sa.Column("record_time", sa.BigInteger(), nullable=False),
        sa.Column("biz_step", sa.String(length=1000), nullable=True),
        sa.Column("disposition", sa.String(length=1000), nullable=True),
        sa.Column("read_point", sa.String(length=1000), nullable=True),
        sa.Column("biz_location", sa.String(length=1000), nullable=True),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("captured", sa.Boolean(), nullable=False),
        sa.Column("native", sa.Text(), nullable=True),
        sa.Column("error_declared", sa.Boolean(), nullable=False),
        sa.Column("corrected_by", sa.BigInteger(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    for column in ("event_id", "hash_id", "event_type", "biz_step", "disposition",
                   "read_point", "biz_location", "enterprise"):
        op.create_index(op.f(f"ix_epcis_index_events_{column}"), "epcis_index_events",
                        [column])
    op.create_index("ix_epcis_index_events_event_time", "epcis_index_events",
                    ["event_time", "seq"])
    op.create_index("ix_epcis_index_events_record_time", "epcis_index_events",
                    ["record_time", "seq"])
    op.create_table(
        "epcis_index_epcs",
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("value", "role", "seq"),
    )
    op.create_table(
        "epcis_index_ilmd",
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("name", "value", "seq"),
    )


def downgrade() -> None:
    op.drop_table("epcis_index_ilmd")
    op.drop_table("epcis_index_epcs")
    for column in ("event_time", "record_time"):
        op.drop_index(f"ix_epcis_index_events_{column}", table_name="epcis_index_events")
    for column in ("event_id", "hash_id", "event_type", "biz_step", "disposition",
                   "read_point", "biz_location", "enterprise"):
        op.drop_index(op.f(f"ix_epcis_index_events_{column}"), table_name="epcis_index_events")
    op.drop_table("epcis_index_events")
    op.drop_table("epcis_index_state")
