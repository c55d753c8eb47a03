"""The shell around the ledger core: the Flask app (API, console) and the ``tracenet`` CLI.

``create_app`` lives in :mod:`web.app` and is re-exported here lazily, so that importing a
light module of this package (``web.cli``, ``web.settings``) does not import Flask: ``tracenet
--help`` starts without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same name, eagerly, for type checkers
    from web.app import create_app as create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        return importlib.import_module("web.app").create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
