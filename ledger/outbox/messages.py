"""Enqueueing notices: message rows, and a delivery to each enterprise's webhook if it has one."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ledger.log import rfc3339
from ledger.outbox.models import PENDING, Delivery, OutboxMessage, WebhookEndpoint

__all__ = ["Notice", "enqueue", "enqueue_many", "payload_json"]

#: dotted lower-case names, as the Standard Webhooks spec suggests: ``recall.initiated``
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
#: values bound per IN list: well under every database's limit on bound parameters
_CHUNK = 500

_T = TypeVar("_T")


@dataclass(frozen=True)
class Notice:
    """One notice to enqueue: see :func:`enqueue` for what each field means."""

    enterprise: str
    event_type: str
    payload: Mapping[str, Any]
    key: str | None = None

    def __post_init__(self) -> None:
        if not _EVENT_TYPE.fullmatch(self.event_type) or len(self.event_type) > 100:
            raise ValueError(f"expected a dotted lower-case event type, got {self.event_type!r}")
        if not self.enterprise:
            raise ValueError("expected the enterprise to notify, got an empty string")


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

    ``event_type`` is a dotted name such as ``recall.initiated`` (ValueError otherwise);
    ``payload`` must be JSON-serialisable (a TypeError otherwise) and is what the receiver
    gets as ``data``. ``key``, when given, names the notice for the caller (e.g.
    ``recall/<seq>/<holder>``): enqueueing the same key again returns the first message's id
    and queues nothing, and :func:`ledger.outbox.deliveries_by_key` finds its deliveries.
    """
    [message_id] = enqueue_many(session, [Notice(enterprise, event_type, payload, key)], now=now)
    return message_id


def enqueue_many(session: Session, notices: Sequence[Notice], *, now: datetime) -> list[int]:
    """:func:`enqueue` for many notices at once (one per holder of a recalled lot, say), in a
    few statements whatever their number; the message ids in the order of ``notices``."""
    keys = {n.key for n in notices if n.key is not None}
    known: dict[str | None, int] = {}  # key -> the message enqueued with it
    for chunk in _chunks(sorted(keys)):
        for key, message_id in session.execute(select(OutboxMessage.key, OutboxMessage.id)
                                               .where(OutboxMessage.key.in_(chunk))):
            known[key] = message_id
    fresh: list[Notice] = []
    place: list[int | None] = []  # each notice's place in ``fresh``; None: its key is known
    taken = set(known)
    for notice in notices:
        if notice.key is not None and notice.key in taken:
            place.append(None)
            continue
        place.append(len(fresh))
        fresh.append(notice)
        if notice.key is not None:
            taken.add(notice.key)
    ids: list[int] = []
    if fresh:
        stamp = rfc3339(now)
        ids = list(session.scalars(
            insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
            [{"uid": "msg_" + secrets.token_urlsafe(18), "enterprise": n.enterprise,
              "event_type": n.event_type, "payload": payload_json(n.payload), "key": n.key,
              "created_at": stamp} for n in fresh]))
        endpoints: dict[str, int] = {}
        for chunk in _chunks(sorted({n.enterprise for n in fresh})):
            for enterprise, endpoint_id in session.execute(
                    select(WebhookEndpoint.enterprise, WebhookEndpoint.id)
                    .where(WebhookEndpoint.enterprise.in_(chunk),
                           WebhookEndpoint.active.is_(True))):
                endpoints[enterprise] = endpoint_id
        deliveries = [{"message_id": message_id, "endpoint_id": endpoints[n.enterprise],
                       "status": PENDING, "attempts": 0, "next_attempt_at": stamp}
                      for n, message_id in zip(fresh, ids, strict=True)
                      if n.enterprise in endpoints]
        if deliveries:
            session.execute(insert(Delivery), deliveries)
        for notice, message_id in zip(fresh, ids, strict=True):
            if notice.key is not None:
                known[notice.key] = message_id
    return [ids[at] if at is not None else known[n.key]
            for n, at in zip(notices, place, strict=True)]


def _chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]
