"""Alembic environment: always run with a connection handed over by ``ledger.db.migrate``."""

from alembic import context

from ledger.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
