"""unit codes: product numbers, each unit's supervision code, a lot's serialised unit count

``products.number`` (the product's number in the ledger, the first six digits of its units'
supervision codes) is given to the products already registered in registration order, which
is what the rules would have given them; ``counters`` remembers the last one. ``lots.serialized``
counts the units serialisation entries gave each lot, filled from ``units``.

Revision ID: 0009_unit_codes
Revises: 0008_outbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_unit_codes"
down_revision = "0008_outbox"


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.add_column("products", sa.Column("number", sa.Integer(), nullable=True))
    op.add_column("products", sa.Column("units_issued", sa.Integer(), nullable=False,
                                        server_default="0"))
    connection = op.get_bind()
    gtins = connection.execute(
        sa.text("SELECT gtin FROM products ORDER BY registered_seq")).scalars().all()
    for number, gtin in enumerate(gtins, start=1):
        connection.execute(sa.text("UPDATE products SET number = :number WHERE gtin = :gtin"),
                           {"number": number, "gtin": gtin})
    if gtins:
        connection.execute(sa.text("INSERT INTO counters (name, value) VALUES ('product', :n)"),
                           {"n": len(gtins)})
    with op.batch_alter_table("products") as products:
        products.alter_column("number", existing_type=sa.Integer(), nullable=False)
    op.create_index("ix_products_number", "products", ["number"], unique=True)

    op.add_column("lots", sa.Column("serialized", sa.Integer(), nullable=False,
                                    server_default="0"))
    op.execute("UPDATE lots SET serialized = (SELECT count(*) FROM units u "
               "WHERE u.gtin = lots.gtin AND u.lot = lots.lot)")
    op.add_column("units", sa.Column("supervision_code", sa.String(length=20), nullable=True))
    op.create_index("ix_units_supervision_code", "units", ["supervision_code"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_units_supervision_code", table_name="units")
    with op.batch_alter_table("units") as units:
        units.drop_column("supervision_code")
    with op.batch_alter_table("lots") as lots:
        lots.drop_column("serialized")
    op.drop_index("ix_products_number", table_name="products")
    with op.batch_alter_table("products") as products:
        products.drop_column("units_issued")
        products.drop_column("number")
    op.drop_table("counters")
