"""checkpoint cadence: the ledger head remembers its newest checkpoint's size and signing time

Appends sign a checkpoint only when the interval or the entry count since the last one has
passed, so the sequencer needs, under the head lock it already holds, the size and time of the
newest checkpoint. Existing ledgers had one checkpoint per batch: the newest is at the head's
size (or below it, for a ledger written without checkpoints), signed no later than its last
entry was recorded.

Revision ID: 0009_checkpoint_cadence
Revises: 0008_outbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_checkpoint_cadence"
down_revision = "0008_outbox"


def upgrade() -> None:
    with op.batch_alter_table("ledger_head") as batch:
        batch.add_column(sa.Column("checkpoint_size", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("checkpoint_at", sa.String(length=40), nullable=False,
                                   server_default=""))
    op.execute("UPDATE ledger_head SET "
               "checkpoint_size = COALESCE((SELECT MAX(size) FROM checkpoints), 0), "
               "checkpoint_at = last_recorded_at")


def downgrade() -> None:
    with op.batch_alter_table("ledger_head") as batch:
        batch.drop_column("checkpoint_at")
        batch.drop_column("checkpoint_size")
