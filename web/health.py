"""Liveness: the process answers and the database is reachable.

The root (``/``) is the public scan page (:mod:`web.resolver`); the console is behind its link.
"""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from web.db import get_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    get_session().execute(text("SELECT 1"))
    return {"status": "ok"}
