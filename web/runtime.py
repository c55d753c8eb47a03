"""What a process needs to work on the ledger, built from :class:`~web.settings.Settings`.

One per Flask app (:mod:`web.db` hands out its sessions per request) and one per CLI command
(:mod:`web.cli.context`), so the server and the commands open the same database with the same
keys.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger.accounts.custodial import KeyVault
from ledger.db import create_ledger_engine
from ledger.log import Ledger
from ledger.log.keys import load_or_create_private_key
from web.settings import Settings

__all__ = ["Runtime"]


class Runtime:
    """The engine, a session factory, the ledger's identity and the custodial key vault."""

    engine: Engine
    sessions: sessionmaker[Session]
    ledger: Ledger

    def __init__(self, settings: Settings) -> None:
        # The default database, ledger key and secret key all live in the instance folder.
        settings.instance.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.engine = create_ledger_engine(settings.database_url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.ledger = Ledger(settings.ledger_origin,
                             load_or_create_private_key(settings.ledger_key),
                             checkpoint_interval=settings.checkpoint_interval,
                             checkpoint_entries=settings.checkpoint_entries)

    @cached_property
    def vault(self) -> KeyVault:
        """Seals and opens custodial keys with the secret key, made on first use: a command
        that signs nothing custodially leaves no secret key behind."""
        return KeyVault(self.settings.secret())

    @cached_property
    def code_secret(self) -> bytes:
        """The key of the supervision codes' keyed digits, made on first use."""
        return self.settings.code_secret()

    def close(self) -> None:
        """Close the engine's pooled connections."""
        self.engine.dispose()
