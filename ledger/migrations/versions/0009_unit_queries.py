"""unit_queries: how often each unit code was looked up (anti-counterfeit counting)

Not a projection: ``rebuild`` leaves it alone (see ledger/consumer/models.py).

Revision ID: 0009_unit_queries
Revises: 0008_outbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_unit_queries"
down_revision = "0008_outbox"


def upgrade() -> None:
    op.create_table(
        "unit_queries",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.String(length=40), nullable=False),
        sa.Column("last_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )


def downgrade() -> None:
    op.drop_table("unit_queries")
