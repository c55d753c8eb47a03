"""gunicorn's settings for Tracenet's web app: ``tracenet serve`` names this module
(``--config python:web.gunicorn_config``), and the repository's ``gunicorn.conf.py``, which
gunicorn reads from the working directory (``make run``, bench/ledger.py), takes it from here."""

from __future__ import annotations

import gc
from typing import Any

__all__ = ["post_worker_init"]


def post_worker_init(worker: Any) -> None:
    """Move what loading the app made (modules, the app, schemas, reference data) out of the
    garbage collector's reach. A full collection otherwise walks all of it again, which cost
    ~20 µs per event of a 1,000-event ``POST /api/v1/events``; nothing loaded at start-up is
    ever garbage, so nothing is kept that would have been freed."""
    gc.freeze()
