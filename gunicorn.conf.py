"""gunicorn's settings, read from the working directory (``make run``, bench/ledger.py)."""

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    """Move what loading the app made (modules, the app, schemas, reference data) out of the
    garbage collector's reach. A full collection otherwise walks all of it again, which cost
    ~20 µs per event of a 1,000-event ``POST /api/v1/events``; nothing loaded at start-up is
    ever garbage, so nothing is kept that would have been freed."""
    gc.freeze()
