"""One SQLAlchemy session per request, closed on teardown, from the app's runtime."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.log import Ledger
from web.runtime import Runtime
from web.settings import Settings

__all__ = ["get_engine", "get_ledger", "get_runtime", "get_session", "get_vault", "init_app"]


def init_app(app: Flask, settings: Settings) -> None:
    """Build the app's runtime (engine, ledger identity, vault) once; close sessions on
    teardown."""
    app.extensions["tracenet.runtime"] = Runtime(settings)
    app.teardown_appcontext(_close_session)


def get_runtime() -> Runtime:
    """The current app's runtime."""
    runtime: Runtime = current_app.extensions["tracenet.runtime"]
    return runtime


def get_engine() -> Engine:
    """The app's engine."""
    return get_runtime().engine


def get_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_runtime().sessions()
    session: Session = g.db_session
    return session


def get_vault() -> KeyVault:
    """The vault that seals and opens custodial keys with the app's secret key."""
    return get_runtime().vault


def get_ledger() -> Ledger:
    """The ledger's identity (origin, operator key, clock)."""
    return get_runtime().ledger


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
