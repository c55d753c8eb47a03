"""console accounts

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # Written by hand to match ledger.models.UserRow (what autogenerate would emit).
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_index(op.f("ix_users_enterprise"), "users", ["enterprise"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_users_enterprise"), table_name="users")
    op.drop_table("users")
