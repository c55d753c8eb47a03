"""gunicorn's settings, read from the working directory (``make run``, bench/ledger.py)."""

from web.gunicorn_config import post_worker_init

__all__ = ["post_worker_init"]
