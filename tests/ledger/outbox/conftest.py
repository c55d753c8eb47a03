"""Outbox fixtures: a fake clock, a fake sender, and enterprises with webhook endpoints."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.outbox import WebhookRequest, enqueue, register_endpoint
from ledger.outbox.models import Delivery


class FakeClock:
    """Starts at the real time (so the standardwebhooks verifier, which reads the real clock,
    accepts the signatures) and moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


#: per URL, the answers to give in turn (an int status, or an exception to raise); the last
#: one repeats
Script = dict[str, list[int | Exception]]


class FakeSender:
    """Answers from a script instead of the network, and keeps every request it was given."""

    def __init__(self, script: Script | None = None,
                 hook: Callable[[WebhookRequest], None] | None = None) -> None:
        self.script = script or {}
        self.requests: list[WebhookRequest] = []
        self.hook = hook
        self._lock = threading.Lock()

    def __call__(self, request: WebhookRequest, *, timeout: float) -> int:
        with self._lock:
            self.requests.append(request)
            answers = self.script.get(request.url, [200])
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if self.hook is not None:
            self.hook(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def to(self, url: str) -> list[WebhookRequest]:
        with self._lock:
            return [r for r in self.requests if r.url == url]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def add_endpoint(sessions: sessionmaker[Session], enterprise: str, url: str,
                 now: datetime) -> str:
    """Register ``url`` for ``enterprise``; return the secret."""
    with sessions() as session:
        registration = register_endpoint(session, enterprise=enterprise, url=url, now=now)
        session.commit()
        assert registration.new_secret is not None
        return registration.new_secret


def notify(sessions: sessionmaker[Session], enterprise: str, now: datetime,
           count: int = 1, **payload: object) -> list[int]:
    """Enqueue ``count`` notices for ``enterprise`` and commit; return the message ids."""
    with sessions() as session:
        ids = [enqueue(session, enterprise=enterprise, event_type="recall.initiated",
                       payload={"n": n, **payload}, now=now) for n in range(count)]
        session.commit()
        return ids


def deliveries(sessions: sessionmaker[Session]) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))
