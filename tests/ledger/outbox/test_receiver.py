"""Real deliveries over HTTP to a real receiver on 127.0.0.1 that verifies every signature with
the standardwebhooks verifier: one receiver fails twice and then accepts, one is down
throughout, the others accept at once."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session, sessionmaker

from ledger.outbox import Attempt, RetrySchedule, deliver_due, list_deliveries
from ledger.outbox.delivery import utc_now
from tests.conftest import free_port
from tests.ledger.outbox.conftest import add_endpoint, notify
from tests.webhook_receiver import WebhookReceiver

#: fast enough for a test, the same code as the real schedule
QUICK = RetrySchedule.parse("50ms,100ms,150ms")


def drain(sessions: sessionmaker[Session], *, seconds: float = 10) -> list[Attempt]:
    """Run the delivery loop, on the real clock, until nothing is left to retry."""
    attempts: list[Attempt] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        attempts += deliver_due(sessions, schedule=QUICK, timeout=2)
        with sessions() as session:
            if not any(list_deliveries(session, viewer=None, limit=100, status=status).items
                       for status in ("pending", "failed")):
                return attempts
        time.sleep(0.02)
    raise AssertionError(f"deliveries still waiting after {seconds} s")


def test_real_receivers_flaky_down_and_healthy(sessions: sessionmaker[Session]) -> None:
    down = f"http://127.0.0.1:{free_port()}/down"  # nothing listens there
    with WebhookReceiver(fail_first={"/flaky": 2}) as receiver:
        now = utc_now()
        receiver.secrets["/flaky"] = add_endpoint(sessions, "FLAKY", receiver.url("/flaky"), now)
        add_endpoint(sessions, "DOWN", down, now)
        for n in range(3):
            path = f"/ok{n}"
            receiver.secrets[path] = add_endpoint(sessions, f"OK{n}", receiver.url(path), now)
        for enterprise in ("FLAKY", "DOWN", "OK0", "OK1", "OK2"):
            notify(sessions, enterprise, now, recall="R-1")

        attempts = drain(sessions)

    # Every request that reached the receiver carried a valid signature.
    assert receiver.received and all(r.verified for r in receiver.received)
    # The flaky receiver: two refusals, then exactly one accepted delivery, the same message.
    assert [r.status for r in receiver.of("/flaky")] == [500, 500, 200]
    assert len({r.headers["webhook-id"] for r in receiver.of("/flaky")}) == 1
    assert len(receiver.accepted("/flaky")) == 1
    # The healthy ones got theirs on the first attempt, while the others were still failing.
    for n in range(3):
        [accepted] = receiver.accepted(f"/ok{n}")
        assert accepted.headers["content-type"] == "application/json"
    outcome = {a.enterprise: a for a in attempts}
    assert {e: (a.status, a.attempt) for e, a in outcome.items()} == {
        "FLAKY": ("delivered", 3), "DOWN": ("dead", 4), "OK0": ("delivered", 1),
        "OK1": ("delivered", 1), "OK2": ("delivered", 1)}
    assert outcome["DOWN"].error is not None
    assert outcome["DOWN"].error.startswith("ConnectionRefusedError")
    with sessions() as session:
        [dead] = list_deliveries(session, viewer=None, limit=10, status="dead").items
    assert (dead["enterprise"], dead["attempts"], dead["next_attempt_at"]) == ("DOWN", 4, None)
