"""sign_in_failures: failed console sign-ins per account name, counted across workers

Revision ID: 0010_sign_in_failures
Revises: 0009_totp
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_sign_in_failures"
down_revision = "0009_totp"


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sign_in_failures_account"), "sign_in_failures", ["account"])
    op.create_index(op.f("ix_sign_in_failures_at"), "sign_in_failures", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_failures_at"), table_name="sign_in_failures")
    op.drop_index(op.f("ix_sign_in_failures_account"), table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
