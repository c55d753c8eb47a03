"""The ledger, its Merkle nodes and checkpoints, identity projections and API tokens.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

# The database itself refuses to rewrite history, so a bug (or a careless script) in anything
# that shares the connection cannot UPDATE or DELETE an entry or a tree node.
_APPEND_ONLY = ("entries", "merkle_nodes", "checkpoints")


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("type", sa.String(40), nullable=False, index=True),
        sa.Column("enterprise", sa.String(40), nullable=False, index=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("event_time", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("node_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("last_leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("last_recorded_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "enterprises",
        sa.Column("uscc", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("registered_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("enterprise", sa.String(40), nullable=False, index=True),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("registered_seq", sa.BigInteger, nullable=False),
        sa.Column("revoked_seq", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "custodial_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("enterprise", sa.String(40), nullable=False, index=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("enterprise", sa.String(40), nullable=False, index=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION tracenet_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'append-only: % on % is refused', TG_OP, TG_TABLE_NAME; END;
            $$ LANGUAGE plpgsql""")
        for table in _APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION tracenet_append_only()")
    else:
        for table in _APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON "
                           f"{table} BEGIN SELECT RAISE(ABORT, 'append-only: {action} on "
                           f"{table} is refused'); END")


def downgrade() -> None:
    for table in ("api_tokens", "custodial_keys", "keys", "enterprises", "checkpoints",
                  "ledger_head", "merkle_nodes", "entries"):
        op.drop_table(table)
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION tracenet_append_only()")
