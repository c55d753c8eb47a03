"""records: an index on (gtin, lot, counterparty), for the receipt rule's open shipments

The receipt rule looks up the open shipments of one lot to the receiving enterprise. With only
single-column indexes SQLite searched ``ix_records_type``, every shipment on the ledger, for
each receipt: appending a synthetic network slowed as it grew (a million entries would have
taken hours). This index answers it from the lot.

Revision ID: 0006_records_lot_index
Revises: 0006_lot_graph
"""

from alembic import op

revision = "0006_records_lot_index"
down_revision = "0006_lot_graph"


def upgrade() -> None:
    op.create_index("ix_records_gtin_lot_counterparty", "records",
                    ["gtin", "lot", "counterparty"])


def downgrade() -> None:
    op.drop_index("ix_records_gtin_lot_counterparty", table_name="records")
