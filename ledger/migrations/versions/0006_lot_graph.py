"""lot graph: lot_edges (production, intake, shipment and receipt edges between lots at
holders) and aggregations (when each unit code was packed into its parent), for trace

A ledger written before this revision gets its graph filled from the projections it already
has: production edges from ``lot_inputs``, custody edges from the intake, shipment and receipt
records (their ``superseded_by`` included), and one aggregation row per packed unit, dated by
the entry that first packed its parent. That is exactly what the rules would have written,
except for a unit re-packed into a parent later than the parent's first aggregation (its date
is then too early) and corrections recorded before revision 0005 (their records still say
``correction``); ``tracenet rebuild`` recomputes both exactly.

Revision ID: 0006_lot_graph
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_lot_graph"
down_revision = "0005"

def upgrade() -> None:
    op.create_table(
        "lot_edges",
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("position", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("from_holder", sa.String(length=40), nullable=False),
        sa.Column("from_gtin", sa.String(length=14), nullable=False),
        sa.Column("from_lot", sa.String(length=20), nullable=False),
        sa.Column("to_holder", sa.String(length=40), nullable=False),
        sa.Column("to_gtin", sa.String(length=14), nullable=False),
        sa.Column("to_lot", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("superseded_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", "position"),
    )
    op.create_index("ix_lot_edges_from", "lot_edges", ["from_gtin", "from_lot"])
    op.create_index("ix_lot_edges_to", "lot_edges", ["to_gtin", "to_lot"])
    op.create_index("ix_lot_edges_to_holder", "lot_edges", ["to_holder"])
    op.create_table(
        "aggregations",
        sa.Column("child", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("parent", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("child", "seq"),
    )
    op.create_index("ix_aggregations_parent", "aggregations", ["parent"])
    op.create_index("ix_units_gtin_lot", "units", ["gtin", "lot"])

    op.execute(
        "INSERT INTO lot_edges (seq, position, kind, from_holder, from_gtin, from_lot, "
        "to_holder, to_gtin, to_lot, quantity, unit, superseded_by) "
        "SELECT i.seq, i.position, 'production', r.enterprise, i.input_gtin, i.input_lot, "
        "r.enterprise, i.output_gtin, i.output_lot, i.quantity, i.unit, NULL "
        "FROM lot_inputs i JOIN records r ON r.seq = i.seq")
    op.execute(
        "INSERT INTO lot_edges (seq, position, kind, from_holder, from_gtin, from_lot, "
        "to_holder, to_gtin, to_lot, quantity, unit, superseded_by) "
        "SELECT seq, 0, type, counterparty, gtin, lot, enterprise, gtin, lot, quantity, unit, "
        "superseded_by FROM records "
        "WHERE (type = 'material_intake' AND accepted) OR type = 'receipt'")
    op.execute(
        "INSERT INTO lot_edges (seq, position, kind, from_holder, from_gtin, from_lot, "
        "to_holder, to_gtin, to_lot, quantity, unit, superseded_by) "
        "SELECT seq, 0, type, enterprise, gtin, lot, counterparty, gtin, lot, quantity, unit, "
        "superseded_by FROM records WHERE type = 'shipment'")
    op.execute(
        "INSERT INTO aggregations (child, seq, parent) "
        "SELECT u.code, p.seq, u.parent FROM units u JOIN units p ON p.code = u.parent")


def downgrade() -> None:
    op.drop_index("ix_units_gtin_lot", table_name="units")
    op.drop_index("ix_aggregations_parent", table_name="aggregations")
    op.drop_table("aggregations")
    op.drop_index("ix_lot_edges_to_holder", table_name="lot_edges")
    op.drop_index("ix_lot_edges_to", table_name="lot_edges")
    op.drop_index("ix_lot_edges_from", table_name="lot_edges")
    op.drop_table("lot_edges")
