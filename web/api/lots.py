"""Lots with stock and inspection status, and shipments nobody received (authenticated)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from ledger.supervision import queries
from web.api.contract import PageSchema
from web.api.pagination import PageQuery, page_body
from web.api.security import BEARER
from web.auth import authenticated_viewer
from web.db import get_ledger, get_session

blp = Blueprint("lots", __name__, url_prefix="/api/v1",
                description="Lots, stock and shipment follow-up")


class LotQuery(PageQuery):
    gtin = fields.String(load_default=None, metadata={"example": "06901234567892"})
    inspection = fields.String(load_default=None,
                               validate=validate.OneOf(["none", "pass", "fail"]))
    holder = fields.String(load_default=None, metadata={
        "description": "only lots this enterprise holds stock of"})


class UnreceivedQuery(PageQuery):
    days = fields.Integer(load_default=3, validate=validate.Range(0, 3650), metadata={
        "description": "shipped at least this many days ago"})


@blp.get("/lots")
@blp.arguments(LotQuery, location="query")
@blp.response(200, PageSchema)
@blp.doc(security=BEARER)
def lots(query: dict[str, Any]) -> dict[str, Any]:
    """Lots the caller originated or holds (regulators: all), with stock per holder."""
    session = get_session()
    viewer = authenticated_viewer(session)
    return page_body(queries.list_lots(
        session, viewer=viewer, limit=query["limit"], after=query["cursor"],
        gtin=query["gtin"], inspection=query["inspection"], holder=query["holder"]))


@blp.get("/shipments/unreceived")
@blp.arguments(UnreceivedQuery, location="query")
@blp.response(200, PageSchema)
@blp.doc(security=BEARER)
def unreceived(query: dict[str, Any]) -> dict[str, Any]:
    """Shipments not received within ``days`` (regulators: all; enterprises: their own)."""
    session = get_session()
    viewer = authenticated_viewer(session)
    return page_body(queries.unreceived_shipments(
        session, viewer=viewer, older_than=timedelta(days=query["days"]),
        now=get_ledger().clock(), limit=query["limit"], after=query["cursor"]))
