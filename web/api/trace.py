"""Trace (溯源) downstream and upstream: from a lot, a serial unit, a pallet or an intake to
every lot and holder it reaches. Regulators see everything; an enterprise traces its own lots,
upstream all the way and downstream as far as its direct customers; anonymous callers, nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint

from ledger.supervision.context import unit_code
from ledger.trace import Trace, TraceStart, parse_as_of, trace_downstream, trace_upstream
from schemas.trace import TraceQuerySchema, TraceSchema
from web.api.security import BEARER
from web.auth import authenticated_viewer
from web.db import get_session

blp = Blueprint("trace", __name__, url_prefix="/api/v1/trace",
                description="Trace a lot, unit or intake downstream and upstream")

_ERRORS = {"401": {"description": "no or an unknown API token"},
           "403": {"description": "an enterprise may trace only lots it made or holds"},
           "404": {"description": "no such lot or unit code (at as_of)"}}


def _start(query: dict[str, Any]) -> TraceStart:
    if query["enterprise"] is not None:
        return TraceStart.of_intake(query["enterprise"], query["gtin"], query["lot"])
    if query["code"] is not None:
        return TraceStart.of_unit(query["code"])
    if query["serial"] is not None:
        return TraceStart.of_unit(unit_code(query["gtin"], query["serial"]))
    return TraceStart.of_lot(query["gtin"], query["lot"])


def _trace(query: dict[str, Any], walk: Callable[..., Trace]) -> Trace:
    session = get_session()
    viewer = authenticated_viewer(session)
    as_of = parse_as_of(query["as_of"]) if query["as_of"] is not None else None
    return walk(session, _start(query), as_of=as_of, depth=query["depth"],
                limit=query["limit"], viewer=viewer)


@blp.get("/downstream")
@blp.arguments(TraceQuerySchema, location="query")
@blp.response(200, TraceSchema)
@blp.doc(security=BEARER, responses=_ERRORS)
def downstream(query: dict[str, Any]) -> Trace:
    """Where the goods went: every lot made from them, every holder reached, with what each
    received, still holds and passed on, the steps (entries by seq) linking them, the unit
    codes and their aggregates, and the consumer-facing goods at the end."""
    return _trace(query, trace_downstream)


@blp.get("/upstream")
@blp.arguments(TraceQuerySchema, location="query")
@blp.response(200, TraceSchema)
@blp.doc(security=BEARER, responses=_ERRORS)
def upstream(query: dict[str, Any]) -> Trace:
    """Where the goods came from: every input lot, supplier and earlier holder, back to the
    origins (lots made from nothing on the ledger, suppliers off it)."""
    return _trace(query, trace_upstream)
