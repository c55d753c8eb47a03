"""Public directory: the enterprises on the network and the products they registered."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields

from ledger.accounts.roles import REGULATOR
from ledger.accounts.scope import visible_enterprises
from ledger.supervision import queries
from web.api.contract import PageSchema
from web.api.pagination import PageQuery, page_body
from web.auth import current_principal
from web.db import get_session

blp = Blueprint("directory", __name__, url_prefix="/api/v1",
                description="Enterprises and products (public)")


class EnterpriseQuery(PageQuery):
    district = fields.String(load_default=None, metadata={"example": "福州市"})
    role = fields.String(load_default=None, metadata={"example": "producer"})


class ProductQuery(PageQuery):
    enterprise = fields.String(load_default=None, metadata={"example": "91350100M000100Y43"})
    category = fields.String(load_default=None, metadata={"example": "07"})


@blp.get("/enterprises")
@blp.arguments(EnterpriseQuery, location="query")
@blp.response(200, PageSchema)
def enterprises(query: dict[str, Any]) -> dict[str, Any]:
    """Registered enterprises, by USCC (public; a district bureau's token sees its district's,
    as in its console)."""
    session = get_session()
    principal = current_principal(session)
    only = None
    if principal is not None and principal.role == REGULATOR:
        only = visible_enterprises(session, principal)
    return page_body(queries.list_enterprises(
        session, limit=query["limit"], after=query["cursor"], district=query["district"],
        role=query["role"], only=only))


@blp.get("/products")
@blp.arguments(ProductQuery, location="query")
@blp.response(200, PageSchema)
def products(query: dict[str, Any]) -> dict[str, Any]:
    """Registered products, by GTIN."""
    return page_body(queries.list_products(
        get_session(), limit=query["limit"], after=query["cursor"],
        enterprise=query["enterprise"], category=query["category"]))
