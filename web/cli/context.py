"""How a command opens the ledger: settings from the environment, a runtime, one session."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

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
        finally:
            runtime.close()

    return opened
