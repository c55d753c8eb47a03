"""cosignatures: witness cosignatures on the ledger's checkpoints

Not projections: the witnesses' answers, kept beside the checkpoints they sign (see
ledger/log/cosigning.py).

Revision ID: 0009_cosignatures
Revises: 0008_outbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_cosignatures"
down_revision = "0008_outbox"


def upgrade() -> None:
    op.create_table(
        "checkpoint_cosignatures",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=300), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness"),
    )
    op.create_index("ix_checkpoint_cosignatures_witness", "checkpoint_cosignatures",
                    ["witness", "size"])


def downgrade() -> None:
    op.drop_index("ix_checkpoint_cosignatures_witness", "checkpoint_cosignatures")
    op.drop_table("checkpoint_cosignatures")
