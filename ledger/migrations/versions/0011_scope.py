"""scope: a district on regulator accounts and tokens, and the append-only audit_log

Revision ID: 0011_scope
Revises: 0010_sign_in_failures
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_scope"
down_revision = "0010_sign_in_failures"


def upgrade() -> None:
    # server_default so accounts and tokens made before districts existed read as the city
    # bureau's (empty district: every enterprise), which is what a regulator was until now.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("district", sa.String(100), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("district", sa.String(100), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("label", sa.String(100), nullable=False,
                                   server_default=""))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("enterprise", sa.String(40), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"])
    op.create_index(op.f("ix_audit_log_enterprise"), "audit_log", ["enterprise"])
    # Append-only in the database too, like the ledger's own tables: whoever holds the
    # application's credentials still cannot quietly edit or remove what a user did.
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION tracenet_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON "
                       f"audit_log BEGIN SELECT RAISE(ABORT, 'append-only: {action} on "
                       "audit_log is refused'); END")


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_enterprise"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("label")
        batch.drop_column("district")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("district")
