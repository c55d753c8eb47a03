"""user_totp: console accounts' TOTP second factors (sealed secrets, last accepted step)

Not a projection: ``rebuild`` leaves it alone (see ledger/accounts/models.py).

Revision ID: 0009_totp
Revises: 0008_outbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_totp"
down_revision = "0008_outbox"


def upgrade() -> None:
    op.create_table(
        "user_totp",
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("confirmed_at", sa.String(length=40), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("user_totp")
