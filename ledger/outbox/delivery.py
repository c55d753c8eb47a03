"""Delivering: claim due deliveries, POST them signed, record each outcome on the schedule.

A delivery goes ``pending`` -> ``delivered`` on a 2xx answer, or -> ``failed`` with its next
attempt set by the :class:`~ledger.outbox.schedule.RetrySchedule`; ``failed`` goes the same
ways again, until the schedule gives up and it is ``dead`` (dead-lettered). Anything but a 2xx
is a failure: an error status, a redirect (never followed: the endpoint is the registered URL),
a refused connection, a timeout.

Claiming is safe with several workers. A claim is one statement,
``UPDATE webhook_deliveries SET claimed_by, claimed_until WHERE id IN (due ids) RETURNING id``:
on PostgreSQL the due ids are selected ``FOR UPDATE SKIP LOCKED``, so two workers pass each
other's rows by; on SQLite the statement takes the database's write lock, so the second
worker's statement sees the first's claims. The claim is a lease, committed before sending: no
transaction stays open across the network, and a worker that dies mid-send only delays its
deliveries until the lease runs out. Each outcome is recorded only if the claim still holds.
Delivery is therefore at least once; receivers drop repeats by their ``webhook-id``.

Sending runs in a pool of threads (this is the worker process, not a web worker), refilled as
sends finish, so a receiver that hangs holds one thread for at most the timeout while the other
deliveries go on. The HTTP send is behind the :class:`Sender` seam; :func:`http_send` is the
real one, on the standard library's ``http.client``.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from ledger.db import hold_writer_lock
from ledger.log import rfc3339
from ledger.outbox.messages import payload_json
from ledger.outbox.models import (
    DEAD,
    DELIVERED,
    FAILED,
    Delivery,
    OutboxMessage,
    WebhookEndpoint,
)
from ledger.outbox.schedule import DEFAULT_SCHEDULE, RetrySchedule

__all__ = ["Attempt", "Clock", "Sender", "WebhookRequest", "default_owner", "deliver_due",
           "http_send", "run_worker", "sign_request", "utc_now"]

logger = logging.getLogger("tracenet.outbox")

Clock = Callable[[], datetime]
SessionFactory = Callable[[], Session]

#: what the receiver's log shows as the caller
USER_AGENT = "Tracenet-Webhooks/1"


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class WebhookRequest:
    """One signed POST, ready to send."""

    url: str
    headers: Mapping[str, str]
    body: bytes


class Sender(Protocol):
    """POSTs a request and returns the HTTP status of the answer; raises (OSError, typically)
    when no answer came: refused, reset, timed out."""

    def __call__(self, request: WebhookRequest, *, timeout: float) -> int: ...


def http_send(request: WebhookRequest, *, timeout: float) -> int:
    """The real sender: one POST with ``http.client``, ``timeout`` seconds for connecting and
    for each read, no redirects followed, the answer's body not read."""
    parts = urlsplit(request.url)
    host = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, parts.port or 443, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, parts.port or 80, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=request.body, headers=dict(request.headers))
        return connection.getresponse().status
    finally:
        connection.close()


def sign_request(*, url: str, secret: str, message_id: str, timestamp: datetime,
                 body: bytes) -> WebhookRequest:
    """The request with its Standard Webhooks headers: ``webhook-id``, ``webhook-timestamp``
    (seconds since the epoch) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of
    ``id.timestamp.body`` under the secret), made by the ``standardwebhooks`` package."""
    moment = timestamp.astimezone(UTC)
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=moment, data=body.decode())
    return WebhookRequest(url, {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }, body)


def webhook_body(message: OutboxMessage) -> bytes:
    """The body the spec suggests: ``{"type", "timestamp", "data"}``, the same on every retry."""
    return payload_json({"type": message.event_type, "timestamp": message.created_at,
                         "data": json.loads(message.payload)}).encode()


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    token: str  # the claim's own owner string: the outcome is kept only while it holds
    attempt: int  # the number of the attempt about to be made
    message_id: str
    enterprise: str
    event_type: str
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class _Outcome:
    status: int | None  # the HTTP status, None when no answer came
    error: str | None  # None on success
    seconds: float


@dataclass(frozen=True)
class Attempt:
    """What one attempt did, as recorded: for the worker's log line and for tests."""

    delivery_id: int
    message_id: str
    enterprise: str
    event_type: str
    url: str
    attempt: int
    status: str  # the delivery's state after it: delivered, failed or dead
    response_code: int | None
    error: str | None
    next_attempt_at: str | None
    seconds: float

    def __str__(self) -> str:
        answer = f"HTTP {self.response_code}" if self.response_code else self.error
        then = f", next attempt {self.next_attempt_at}" if self.next_attempt_at else ""
        return (f"delivery {self.delivery_id} {self.event_type} {self.message_id} to "
                f"{self.enterprise} at {self.url}: {self.status} (attempt {self.attempt}, "
                f"{answer}, {self.seconds * 1000:.0f} ms{then})")


def default_owner() -> str:
    """This process, as claims name it: ``host:pid``."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def _claim(sessions: SessionFactory, *, owner: str, now: datetime, lease: timedelta,
           limit: int) -> list[_Claim]:
    """Claim up to ``limit`` due deliveries, oldest due first, and commit the claim."""
    stamp = rfc3339(now)
    token = f"{owner}:{secrets.token_hex(4)}"
    due = (select(Delivery.id)
           .where(Delivery.next_attempt_at <= stamp,
                  or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= stamp))
           .order_by(Delivery.next_attempt_at, Delivery.id))
    with sessions() as session:
        # Most looks find nothing: a read says so without taking the write lock.
        if session.scalar(due.limit(1)) is None:
            return []
        hold_writer_lock(session)
        claimable = due.limit(limit).with_for_update(skip_locked=True)  # PostgreSQL only
        ids = session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(claimable.scalar_subquery()))
            .values(claimed_by=token, claimed_until=rfc3339(now + lease))
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)).all()
        if not ids:
            session.rollback()
            return []
        rows = session.execute(
            select(Delivery.id, Delivery.attempts, OutboxMessage, WebhookEndpoint.url,
                   WebhookEndpoint.secret)
            .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
            .join(WebhookEndpoint, Delivery.endpoint_id == WebhookEndpoint.id)
            .where(Delivery.id.in_(ids))
            .order_by(Delivery.next_attempt_at, Delivery.id)).all()
        claims = [_Claim(delivery_id, token, attempts + 1, message.uid, message.enterprise,
                         message.event_type, url, secret, webhook_body(message))
                  for delivery_id, attempts, message, url, secret in rows]
        session.commit()
    return claims


def _send(send: Sender, request: WebhookRequest, timeout: float) -> _Outcome:
    started = time.monotonic()
    try:
        status = send(request, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any failure to get an answer is a failed attempt
        return _Outcome(None, f"{type(exc).__name__}: {exc}"[:500], time.monotonic() - started)
    error = None if 200 <= status < 300 else f"HTTP {status}"
    return _Outcome(status, error, time.monotonic() - started)


#: one outcome written, if its claim still holds; built once, run for a batch of outcomes
_RECORD = (
    update(Delivery)
    .where(Delivery.id == bindparam("b_id"), Delivery.claimed_by == bindparam("b_token"))
    .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next"), last_attempt_at=bindparam("b_at"),
            last_response_code=bindparam("b_code"), last_error=bindparam("b_error"),
            delivered_at=bindparam("b_delivered"), claimed_by=None, claimed_until=None)
    .execution_options(synchronize_session=False))


def _record(sessions: SessionFactory, finished: list[tuple[_Claim, _Outcome]], *,
            now: datetime, schedule: RetrySchedule) -> list[Attempt]:
    """Write the outcomes, in one transaction, of the claims that still hold (another worker
    has the others, whose lease ran out)."""
    stamp = rfc3339(now)
    attempts, rows = [], []
    with sessions() as session:
        hold_writer_lock(session)
        held = set(session.scalars(
            select(Delivery.id)
            .where(Delivery.id.in_([c.delivery_id for c, _ in finished]),
                   Delivery.claimed_by.in_({c.token for c, _ in finished}))
            .with_for_update()))
        for claim, outcome in finished:
            if claim.delivery_id not in held:
                logger.warning("delivery %d: claim lost before its outcome was recorded; "
                               "another worker will try it again", claim.delivery_id)
                continue
            next_at: str | None = None
            if outcome.error is None:
                status = DELIVERED
            else:
                after = schedule.next_attempt(claim.attempt, now)
                status = DEAD if after is None else FAILED
                next_at = None if after is None else rfc3339(after)
            rows.append({"b_id": claim.delivery_id, "b_token": claim.token, "b_status": status,
                         "b_attempts": claim.attempt, "b_next": next_at, "b_at": stamp,
                         "b_code": outcome.status, "b_error": outcome.error,
                         "b_delivered": stamp if status == DELIVERED else None})
            attempts.append(Attempt(
                claim.delivery_id, claim.message_id, claim.enterprise, claim.event_type,
                claim.url, claim.attempt, status, outcome.status, outcome.error, next_at,
                outcome.seconds))
        if rows:
            session.connection().execute(_RECORD, rows)
        session.commit()
    return attempts


def _release(sessions: SessionFactory, claims: list[_Claim]) -> None:
    """Give back claims whose sends never started, for the next look to take at once."""
    with sessions() as session:
        hold_writer_lock(session)
        for claim in claims:
            session.execute(
                update(Delivery)
                .where(Delivery.id == claim.delivery_id, Delivery.claimed_by == claim.token)
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False))
        session.commit()


def deliver_due(sessions: SessionFactory, *, clock: Clock = utc_now, limit: int = 1000,
                concurrency: int = 8, send: Sender = http_send,
                schedule: RetrySchedule = DEFAULT_SCHEDULE, timeout: float = 5.0,
                owner: str | None = None, stop: threading.Event | None = None
                ) -> list[Attempt]:
    """Deliver what is due, ``concurrency`` sends at a time, until nothing more is due (as
    ``clock`` tells), ``limit`` deliveries were claimed, or ``stop`` is set; return the
    attempts, in the order they finished.

    Claims are taken a batch ahead (up to twice ``concurrency`` in hand) and outcomes written
    as sends finish, each batch in one short transaction on a session from ``sessions``.
    ``timeout`` bounds each send's connecting and each of its reads; a claim's lease covers
    its wait in the queue and a send that uses all of it. Once ``stop`` is set nothing more is
    claimed, the claims not yet sent are given back, and the sends under way are finished and
    recorded.
    """
    owner = owner or default_owner()
    lease = timedelta(seconds=4 * timeout + 30)
    attempts: list[Attempt] = []
    claimed = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="outbox-send") as pool:
        running: dict[Future[_Outcome], _Claim] = {}
        while True:
            stopping = stop is not None and stop.is_set()
            if stopping:
                unsent = [running.pop(f) for f in list(running) if f.cancel()]
                if unsent:
                    _release(sessions, unsent)
            elif len(running) <= concurrency and claimed < limit:
                want = min(2 * concurrency - len(running), limit - claimed)
                claims = _claim(sessions, owner=owner, now=clock(), lease=lease, limit=want)
                claimed += len(claims)
                for claim in claims:
                    request = sign_request(url=claim.url, secret=claim.secret,
                                           message_id=claim.message_id, timestamp=clock(),
                                           body=claim.body)
                    running[pool.submit(_send, send, request, timeout)] = claim
            if not running:
                return attempts
            # With a stop to watch for, look up every 0.1 s: the sends not yet started are then
            # given back at once rather than after the slowest of those under way.
            done, _ = wait(running, timeout=None if stop is None else 0.1,
                           return_when=FIRST_COMPLETED)
            if not done:
                continue
            finished = [(running.pop(future), future.result()) for future in done]
            for attempt in _record(sessions, finished, now=clock(), schedule=schedule):
                logger.info("%s", attempt)
                attempts.append(attempt)


def run_worker(sessions: SessionFactory, *, stop: threading.Event, poll: float = 1.0,
               clock: Clock = utc_now, concurrency: int = 8, send: Sender = http_send,
               schedule: RetrySchedule = DEFAULT_SCHEDULE, timeout: float = 5.0,
               owner: str | None = None) -> int:
    """Deliver due notices until ``stop`` is set, looking for new ones every ``poll`` seconds;
    return how many attempts were made. A database error (the database restarting, say) is
    logged and tried again at the next poll rather than ending the worker."""
    owner = owner or default_owner()
    made = 0
    while not stop.is_set():
        try:
            made += len(deliver_due(sessions, clock=clock, concurrency=concurrency, send=send,
                                    schedule=schedule, timeout=timeout, owner=owner,
                                    stop=stop))
        except SQLAlchemyError as exc:
            logger.warning("outbox: database error, trying again in %g s: %s", poll,
                           str(exc).splitlines()[0])
        stop.wait(poll)
    return made
