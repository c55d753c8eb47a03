"""Migration 0008_outbox creates exactly the tables ledger/outbox/models.py declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session, sessionmaker

from ledger.db import Base
from ledger.outbox.models import Delivery, OutboxMessage, WebhookEndpoint

TABLES = {model.__tablename__ for model in (Delivery, OutboxMessage, WebhookEndpoint)}


def test_the_migration_matches_the_models(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        differences = compare_metadata(MigrationContext.configure(session.connection()),
                                       Base.metadata)
    assert [d for d in differences if any(table in repr(d) for table in TABLES)] == []
