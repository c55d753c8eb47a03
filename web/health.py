"""The root redirect and liveness: the process answers and the database is reachable."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from sqlalchemy import text
from werkzeug.wrappers import Response

from web.db import get_session

bp = Blueprint("health", __name__)


@bp.get("/")
def home() -> Response:
    """People arriving at the root land in the console."""
    return redirect(url_for("console.dashboard"))


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    get_session().execute(text("SELECT 1"))
    return {"status": "ok"}
