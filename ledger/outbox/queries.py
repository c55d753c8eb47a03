"""Delivery status: what was sent to whom, how often, and how the receiver answered.

``viewer`` is the enterprise whose deliveries a caller may see; ``None`` means all (a
regulator). Who gets which viewer is the web layer's decision, as for the other listings.
"""

from __future__ import annotations

from collections.abc import Collection, Set
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from ledger.outbox.models import Delivery, OutboxMessage, WebhookEndpoint

__all__ = ["DeliveryPage", "deliveries_by_key", "list_deliveries"]


@dataclass(frozen=True)
class DeliveryPage:
    """One page of deliveries, newest first; ``after`` continues it (None on the last page)."""

    items: list[dict[str, Any]]
    after: tuple[Any, ...] | None


def _joined() -> Select[Delivery, OutboxMessage, WebhookEndpoint]:
    return (select(Delivery, OutboxMessage, WebhookEndpoint)
            .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
            .join(WebhookEndpoint, Delivery.endpoint_id == WebhookEndpoint.id))


def _item(row: Row[Delivery, OutboxMessage, WebhookEndpoint]) -> dict[str, Any]:
    delivery, message, endpoint = row
    return {
        "id": delivery.id,
        "message_id": message.uid,
        "key": message.key,
        "enterprise": message.enterprise,
        "event_type": message.event_type,
        "url": endpoint.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": message.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "last_response_code": delivery.last_response_code,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
    }


def list_deliveries(session: Session, *, viewer: str | Set[str] | None, limit: int,
                    after: tuple[Any, ...] | None = None, status: str | None = None,
                    enterprise: str | None = None) -> DeliveryPage:
    """Deliveries newest first, optionally of one ``status`` or to one ``enterprise``."""
    query = _joined()
    if isinstance(viewer, str):
        query = query.where(OutboxMessage.enterprise == viewer)
    elif viewer is not None:  # a district bureau: its enterprises' deliveries
        query = query.where(OutboxMessage.enterprise.in_(sorted(viewer)))
    if enterprise is not None:
        query = query.where(OutboxMessage.enterprise == enterprise)
    if status is not None:
        query = query.where(Delivery.status == status)
    if after:
        query = query.where(Delivery.id < after[0])
    rows = session.execute(query.order_by(Delivery.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage([_item(row) for row in rows],
                        (rows[-1][0].id,) if more and rows else None)


def deliveries_by_key(session: Session, keys: Collection[str]) -> dict[str, list[dict[str, Any]]]:
    """The deliveries of the messages enqueued with each of ``keys`` (see
    :func:`ledger.outbox.enqueue`), oldest first; a key with no delivery (its enterprise has
    no webhook, or it was never enqueued) maps to an empty list."""
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    if not found:
        return found
    rows = session.execute(_joined().where(OutboxMessage.key.in_(list(found)))
                           .order_by(Delivery.id)).all()
    for row in rows:
        found[row[1].key or ""].append(_item(row))
    return found
