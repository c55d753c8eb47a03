"""How a command opens the ledger: settings from the environment, a runtime, one session."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from ledger.db import missing_migrations
from web.runtime import Runtime
from web.settings import Settings

__all__ = ["with_ledger"]

P = ParamSpec("P")
R = TypeVar("R")


def with_ledger(command: Callable[Concatenate[Runtime, Session, P], R]) -> Callable[P, R]:
    """Call ``command`` with a runtime built from the ``TRACENET_*`` settings and a session,
    both closed when it returns. The command commits (once per unit of work)."""

    @functools.wraps(command)
    def opened(*args: P.args, **kwargs: P.kwargs) -> R:
        runtime = Runtime(Settings.from_environment())
        try:
            with runtime.sessions() as session:
                return command(runtime, session, *args, **kwargs)
        except (OperationalError, ProgrammingError) as exc:
            # A database an older release wrote lacks this code's columns: say what to do
            # rather than print SQLAlchemy's traceback (only checked once a query failed).
            missing = missing_migrations(runtime.engine)
            if missing:
                raise click.ClickException(
                    f"the database's schema is older than this code's (migrations missing: "
                    f"{', '.join(missing)}): run `tracenet init` to upgrade it") from exc
            raise
        finally:
            runtime.close()

    return opened
