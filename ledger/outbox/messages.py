"""Enqueueing a notice: a message row, and a delivery to the enterprise's webhook if it has one."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.log import rfc3339
from ledger.outbox.models import PENDING, Delivery, OutboxMessage, WebhookEndpoint

__all__ = ["enqueue", "payload_json"]

#: dotted lower-case names, as the Standard Webhooks spec suggests: ``recall.initiated``
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


def payload_json(payload: Mapping[str, Any]) -> str:
    """The stored (and sent) form of a payload: compact JSON, keys sorted, UTF-8 as is."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def enqueue(session: Session, *, enterprise: str, event_type: str, payload: Mapping[str, Any],
            now: datetime, key: str | None = None) -> int:
    """Queue a notice for ``enterprise``; return the message's id. Never commits.

    Call it in the transaction that causes the notice (a recall's entry, say): the message
    exists if and only if that transaction commits, and sending happens later, in the worker,
    so the caller never waits on a receiver. The notice is delivered to the webhook endpoint
    the enterprise has registered now, if any; without one it is kept (for the console and
    the record) and not sent.

    ``event_type`` is a dotted name such as ``recall.initiated``; ``payload`` must be
    JSON-serialisable (a TypeError otherwise) and is what the receiver gets as ``data``.
    ``key``, when given, names the notice for the caller (e.g. ``recall/<seq>/<holder>``):
    enqueueing the same key again returns the first message's id and queues nothing, and
    :func:`ledger.outbox.deliveries_by_key` finds its deliveries.
    """
    if not _EVENT_TYPE.fullmatch(event_type) or len(event_type) > 100:
        raise ValueError(f"expected a dotted lower-case event type, got {event_type!r}")
    if not enterprise:
        raise ValueError("expected the enterprise to notify, got an empty string")
    if key is not None:
        first = session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key))
        if first is not None:
            return first
    message = OutboxMessage(uid="msg_" + secrets.token_urlsafe(18), enterprise=enterprise,
                            event_type=event_type, payload=payload_json(payload), key=key,
                            created_at=rfc3339(now))
    session.add(message)
    endpoint_id = session.scalar(select(WebhookEndpoint.id).where(
        WebhookEndpoint.enterprise == enterprise, WebhookEndpoint.active.is_(True)))
    session.flush()
    if endpoint_id is not None:
        session.add(Delivery(message_id=message.id, endpoint_id=endpoint_id, status=PENDING,
                             attempts=0, next_attempt_at=rfc3339(now)))
    return message.id
