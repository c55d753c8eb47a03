"""Webhooks: an enterprise registers where its notices go; everyone sees how delivery went.

Notices (a recall reaching a holder, say) are enqueued in the ledger's transactions and sent
by ``tracenet worker``, signed the Standard Webhooks way with the secret this API shows once.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from ledger import outbox
from ledger.errors import NotFoundError
from ledger.outbox.models import WebhookEndpoint
from ledger.supervision.queries import Page
from schemas.webhooks import (
    DeliveryPageSchema,
    EndpointBodySchema,
    EndpointSchema,
    EnqueuedSchema,
    RedeliveredSchema,
)
from web.api.pagination import PageQuery, page_body
from web.api.security import BEARER
from web.auth import require_principal, viewer_of
from web.db import get_ledger, get_session

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                description="Where an enterprise receives its notices, and their delivery")


class DeliveryQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(outbox.STATUSES))
    enterprise = fields.String(load_default=None, metadata={
        "description": "only deliveries to this enterprise (an enterprise sees its own only)",
        "example": "91350100M000100Y43"})


def _endpoint(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    return {"enterprise": endpoint.enterprise, "url": endpoint.url, "active": endpoint.active,
            "created_at": endpoint.created_at, "updated_at": endpoint.updated_at,
            "secret": secret}


def _own_endpoint() -> WebhookEndpoint:
    session = get_session()
    enterprise = require_principal(session).enterprise
    endpoint = outbox.find_endpoint(session, enterprise)
    if endpoint is None:
        raise NotFoundError(f"{enterprise} has no webhook endpoint; PUT one first")
    return endpoint


@blp.put("")
@blp.arguments(EndpointBodySchema)
@blp.response(200, EndpointSchema)
@blp.doc(security=BEARER)
def put_endpoint(body: dict[str, Any]) -> dict[str, Any]:
    """Register the caller's webhook URL, or move it.

    The first registration makes the signing secret and shows it in this response only;
    later ones keep it unless ``rotate_secret``. Deliveries not yet made go to the new URL.
    """
    session = get_session()
    principal = require_principal(session)
    registration = outbox.register_endpoint(
        session, enterprise=principal.enterprise, url=body["url"], now=get_ledger().clock(),
        rotate_secret=body["rotate_secret"])
    session.commit()
    return _endpoint(registration.endpoint, registration.new_secret)


@blp.get("")
@blp.response(200, EndpointSchema)
@blp.doc(security=BEARER)
def get_endpoint() -> dict[str, Any]:
    """The caller's webhook endpoint (without its secret)."""
    return _endpoint(_own_endpoint())


@blp.delete("")
@blp.response(204)
@blp.doc(security=BEARER)
def delete_endpoint() -> None:
    """Stop sending the caller notices; deliveries still waiting are dead-lettered."""
    session = get_session()
    endpoint = _own_endpoint()
    outbox.remove_endpoint(session, enterprise=endpoint.enterprise, now=get_ledger().clock())
    session.commit()


@blp.post("/test")
@blp.response(202, EnqueuedSchema)
@blp.doc(security=BEARER)
def test_endpoint() -> dict[str, Any]:
    """Queue a ``webhook.test`` notice to the caller's endpoint, to check its receiver."""
    session = get_session()
    endpoint = _own_endpoint()
    now = get_ledger().clock()
    message_id = outbox.enqueue(session, enterprise=endpoint.enterprise,
                                event_type="webhook.test",
                                payload={"message": "Tracenet webhook test"}, now=now)
    session.commit()
    return {"message_id": message_id}


@blp.post("/redeliver")
@blp.response(202, RedeliveredSchema)
@blp.doc(security=BEARER)
def redeliver() -> dict[str, Any]:
    """Send the caller's dead-lettered deliveries again, from a fresh retry schedule (after
    its receiver was fixed); they keep their ``webhook-id``."""
    session = get_session()
    enterprise = require_principal(session).enterprise
    count = outbox.redeliver_dead(session, enterprise=enterprise, now=get_ledger().clock())
    session.commit()
    return {"redelivered": count}


@blp.get("/deliveries")
@blp.arguments(DeliveryQuery, location="query")
@blp.response(200, DeliveryPageSchema)
@blp.doc(security=BEARER)
def deliveries(query: dict[str, Any]) -> dict[str, Any]:
    """Deliveries of notices, newest first (regulators: all; an enterprise: its own)."""
    session = get_session()
    page = outbox.list_deliveries(
        session, viewer=viewer_of(require_principal(session), session), limit=query["limit"],
        after=query["cursor"], status=query["status"], enterprise=query["enterprise"])
    return page_body(Page(page.items, page.after))
