"""One SQLAlchemy session per request (or CLI command), closed on teardown."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger.accounts.custodial import KeyVault
from ledger.db import create_ledger_engine
from ledger.log import Ledger
from ledger.log.keys import load_or_create_private_key

__all__ = ["get_ledger", "get_session", "get_vault", "init_app"]


def init_app(app: Flask) -> None:
    """Create the engine and the ledger identity once per app; close sessions on teardown."""
    engine = create_ledger_engine(app.config["DATABASE_URL"])
    app.extensions["tracenet.engine"] = engine
    app.extensions["tracenet.sessions"] = sessionmaker(engine, expire_on_commit=False)
    key = load_or_create_private_key(Path(app.config["LEDGER_KEY"]))
    app.extensions["tracenet.ledger"] = Ledger(app.config["LEDGER_ORIGIN"], key)
    app.extensions["tracenet.vault"] = KeyVault(app.config["SECRET_KEY"])
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    """The app's engine."""
    engine: Engine = current_app.extensions["tracenet.engine"]
    return engine


def get_session() -> Session:
    """The session of the current request or command, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["tracenet.sessions"]()
    session: Session = g.db_session
    return session


def get_vault() -> KeyVault:
    """The vault that seals and opens custodial keys with the app's secret key."""
    vault: KeyVault = current_app.extensions["tracenet.vault"]
    return vault


def get_ledger() -> Ledger:
    """The ledger's identity (origin, operator key, clock)."""
    ledger: Ledger = current_app.extensions["tracenet.ledger"]
    return ledger


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
