"""records: typed columns instead of one status that meant something else for each type

Since this revision a correction's record carries the corrected record's type (so a correction
can be corrected in turn); rows written before keep type ``correction`` until ``tracenet
rebuild`` replays the ledger.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

def _columns() -> list[sa.Column[object]]:
    return [sa.Column("accepted", sa.Boolean(), nullable=True),
            sa.Column("additive", sa.String(length=100), nullable=True),
            sa.Column("verdict", sa.String(length=10), nullable=True),
            sa.Column("fully_received", sa.Boolean(), nullable=True),
            sa.Column("corrects", sa.BigInteger(), nullable=True)]


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        for column in _columns():
            batch.add_column(column)
    # The projection could be rebuilt from the ledger instead; translating in place keeps an
    # upgrade quick on a large ledger.
    op.execute("UPDATE records SET accepted = (status = 'accepted') "
               "WHERE type = 'material_intake'")
    op.execute("UPDATE records SET additive = status WHERE type = 'additive_filing'")
    op.execute("UPDATE records SET verdict = status WHERE type = 'inspection'")
    op.execute("UPDATE records SET fully_received = (status = 'received') "
               "WHERE type = 'shipment'")
    op.execute("UPDATE records SET corrects = CAST(status AS BIGINT) "
               "WHERE type = 'correction' AND status IS NOT NULL")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("status")


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("status", sa.String(length=100), nullable=True))
    op.execute("UPDATE records SET status = CASE WHEN accepted THEN 'accepted' "
               "ELSE 'rejected' END WHERE type = 'material_intake'")
    op.execute("UPDATE records SET status = additive WHERE type = 'additive_filing'")
    op.execute("UPDATE records SET status = verdict WHERE type = 'inspection'")
    op.execute("UPDATE records SET status = CASE WHEN fully_received THEN 'received' "
               "ELSE 'open' END WHERE type = 'shipment'")
    op.execute("UPDATE records SET status = 'received' WHERE type = 'receipt'")
    op.execute("UPDATE records SET status = CAST(corrects AS VARCHAR(100)) "
               "WHERE type = 'correction'")
    with op.batch_alter_table("records") as batch:
        for column in _columns():
            batch.drop_column(column.name)
