"""The outbox's state machine with a fake sender and a fake clock: enqueueing, signing,
retries on the schedule, dead letters, claims by two workers, leases, endpoint changes."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from ledger.errors import NotFoundError
from ledger.log import rfc3339
from ledger.outbox import (
    Notice,
    RetrySchedule,
    deliver_due,
    deliveries_by_key,
    enqueue,
    enqueue_many,
    find_endpoint,
    list_deliveries,
    redeliver_dead,
    register_endpoint,
    remove_endpoint,
    run_worker,
)
from ledger.outbox.delivery import _claim, _Outcome, _record
from ledger.outbox.models import OutboxMessage
from ledger.supervision.admission import rebuild
from tests.ledger.outbox.conftest import (
    FakeClock,
    FakeSender,
    add_endpoint,
    deliveries,
    notify,
)

URL = "https://erp.example.com/hooks"
FAST = RetrySchedule.parse("5s,30s,2m")


def test_enqueue_queues_a_pending_delivery_due_at_once(sessions: sessionmaker[Session],
                                                       clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    [message_id] = notify(sessions, "E1", clock())
    [delivery] = deliveries(sessions)
    assert (delivery.message_id, delivery.status, delivery.attempts) == (message_id, "pending", 0)
    assert delivery.next_attempt_at == rfc3339(clock())


def test_an_enterprise_without_endpoint_gets_the_message_but_no_delivery(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    notify(sessions, "E1", clock())
    with sessions() as session:
        assert session.scalar(select(OutboxMessage.enterprise)) == "E1"
    assert deliveries(sessions) == []


def test_enqueue_never_commits(sessions: sessionmaker[Session], clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    with sessions() as session:
        enqueue(session, enterprise="E1", event_type="recall.initiated", payload={}, now=clock())
        session.rollback()
    assert deliveries(sessions) == []


def test_a_key_is_enqueued_once(sessions: sessionmaker[Session], clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    with sessions() as session:
        first = enqueue(session, enterprise="E1", event_type="recall.initiated",
                        payload={"n": 1}, now=clock(), key="recall/7/E1")
        again = enqueue(session, enterprise="E1", event_type="recall.initiated",
                        payload={"n": 2}, now=clock(), key="recall/7/E1")
        session.commit()
        found = deliveries_by_key(session, ["recall/7/E1", "recall/7/E2"])
    assert first == again
    assert [d["status"] for d in found["recall/7/E1"]] == ["pending"]
    assert found["recall/7/E2"] == []


def test_enqueue_many_queues_in_order_once_per_key(sessions: sessionmaker[Session],
                                                   clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    with sessions() as session:
        [earlier] = enqueue_many(session, [Notice("E1", "recall.initiated", {}, "k1")],
                                 now=clock())
        ids = enqueue_many(session, [
            Notice("E2", "recall.initiated", {"n": 1}),
            Notice("E1", "recall.initiated", {"n": 2}, "k1"),  # enqueued before
            Notice("E1", "recall.initiated", {"n": 3}, "k2"),
            Notice("E1", "recall.initiated", {"n": 4}, "k2"),  # twice in one batch
            Notice("E1", "recall.initiated", {"n": 5}),
        ], now=clock())
        session.commit()
        payloads = {m.id: m.payload for m in session.scalars(select(OutboxMessage))}
    assert ids[1] == earlier and ids[3] == ids[2]
    assert len(set(ids)) == 4
    assert [json.loads(payloads[i])["n"] for i in (ids[0], ids[2], ids[4])] == [1, 3, 5]
    # E2 has no endpoint: its message is kept, not sent; E1's three new ones wait.
    assert sorted(d.message_id for d in deliveries(sessions)) == sorted(
        {earlier, ids[2], ids[4]})


@pytest.mark.parametrize(("event_type", "enterprise", "message"), [
    ("Recall", "E1", "expected a dotted lower-case event type, got 'Recall'"),
    ("recall..initiated", "E1", "expected a dotted lower-case event type"),
    ("recall.initiated", "", "expected the enterprise to notify, got an empty string"),
])
def test_enqueue_refuses_a_malformed_call(sessions: sessionmaker[Session], clock: FakeClock,
                                          event_type: str, enterprise: str, message: str) -> None:
    with sessions() as session, pytest.raises(ValueError, match=message):
        enqueue(session, enterprise=enterprise, event_type=event_type, payload={}, now=clock())


def test_a_delivery_is_signed_the_standard_webhooks_way(sessions: sessionmaker[Session],
                                                        clock: FakeClock) -> None:
    secret = add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock(), lot="RM001", 品名="生乳")
    sender = FakeSender()
    deliver_due(sessions, clock=clock, send=sender)
    [request] = sender.requests
    assert request.headers["webhook-timestamp"] == str(int(clock().timestamp()))
    assert Webhook(secret).verify(request.body, dict(request.headers)) == {
        "type": "recall.initiated", "timestamp": rfc3339(clock()),
        "data": {"n": 0, "lot": "RM001", "品名": "生乳"}}
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        Webhook(secret).verify(request.body.replace(b"RM001", b"RM002"), dict(request.headers))
    other = Webhook("whsec_" + "A" * 43 + "=")
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        other.verify(request.body, dict(request.headers))


def test_failures_are_retried_on_the_schedule_then_delivered(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock())
    sender = FakeSender({URL: [500, 503, 200]})
    start = clock()

    [first] = deliver_due(sessions, clock=clock, send=sender, schedule=FAST)
    assert (first.status, first.attempt, first.response_code, first.error) == (
        "failed", 1, 500, "HTTP 500")
    assert first.next_attempt_at == rfc3339(start + timedelta(seconds=5))
    clock.advance(4.9)
    assert deliver_due(sessions, clock=clock, send=sender, schedule=FAST) == []
    clock.advance(0.1)
    [second] = deliver_due(sessions, clock=clock, send=sender, schedule=FAST)
    assert (second.status, second.attempt, second.response_code) == ("failed", 2, 503)
    assert second.next_attempt_at == rfc3339(clock() + timedelta(seconds=30))
    clock.advance(30)
    [third] = deliver_due(sessions, clock=clock, send=sender, schedule=FAST)
    assert (third.status, third.attempt, third.response_code, third.error) == (
        "delivered", 3, 200, None)

    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts, delivery.delivered_at,
            delivery.next_attempt_at, delivery.claimed_by) == (
        "delivered", 3, rfc3339(clock()), None, None)
    # Every retry is the same message: the same id and body, signed afresh.
    assert len({r.headers["webhook-id"] for r in sender.requests}) == 1
    assert len({r.body for r in sender.requests}) == 1
    assert len({r.headers["webhook-timestamp"] for r in sender.requests}) == 3
    clock.advance(3600)
    assert deliver_due(sessions, clock=clock, send=sender, schedule=FAST) == []


def test_a_receiver_that_never_answers_is_dead_lettered(sessions: sessionmaker[Session],
                                                       clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock())
    sender = FakeSender({URL: [ConnectionRefusedError(111, "Connection refused")]})
    statuses = []
    for wait in (0, 5, 30, 120):
        clock.advance(wait)
        statuses += [a.status for a in deliver_due(sessions, clock=clock, send=sender,
                                                   schedule=FAST)]
    assert statuses == ["failed", "failed", "failed", "dead"]
    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at,
            delivery.last_response_code) == ("dead", 4, None, None)
    assert delivery.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    clock.advance(86400)
    assert deliver_due(sessions, clock=clock, send=sender, schedule=FAST) == []


def test_dead_letters_are_sent_again_once_the_receiver_is_fixed(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    add_endpoint(sessions, "E2", "https://other.example.com/hooks", clock())
    notify(sessions, "E1", clock(), count=2)
    notify(sessions, "E2", clock())
    down = FakeSender({URL: [503, 503], "https://other.example.com/hooks": [503]})
    deliver_due(sessions, clock=clock, send=down, schedule=RetrySchedule.parse(""))
    assert [d.status for d in deliveries(sessions)] == ["dead"] * 3
    [first, *_] = deliveries(sessions)
    with sessions() as session:
        assert redeliver_dead(session, enterprise="E1", now=clock()) == 2
        session.commit()
    # Only E1's, due now, from a fresh schedule; E2's stay dead.
    assert [(d.status, d.attempts) for d in deliveries(sessions)] == [
        ("pending", 0), ("pending", 0), ("dead", 1)]
    fixed = FakeSender({URL: [200, 200]})
    attempts = deliver_due(sessions, clock=clock, send=fixed, schedule=FAST)
    assert [a.status for a in attempts] == ["delivered", "delivered"]
    # The same webhook-id as the first try: a receiver that got it after all drops the copy.
    assert fixed.to(URL)[0].headers["webhook-id"] == down.to(URL)[0].headers["webhook-id"]
    assert deliveries(sessions)[0].id == first.id
    with sessions() as session:
        assert redeliver_dead(session, enterprise="E1", now=clock()) == 0
        remove_endpoint(session, enterprise="E2", now=clock())
        with pytest.raises(NotFoundError):
            redeliver_dead(session, enterprise="E2", now=clock())


@pytest.mark.parametrize(("answer", "status", "error"), [
    (204, "delivered", None),
    (299, "delivered", None),
    (302, "failed", "HTTP 302"),  # redirects are not followed: a failure
    (410, "failed", "HTTP 410"),
    (TimeoutError("timed out"), "failed", "TimeoutError: timed out"),
    (RuntimeError("a bug in a sender"), "failed", "RuntimeError: a bug in a sender"),
])
def test_what_counts_as_delivered(sessions: sessionmaker[Session], clock: FakeClock,
                                  answer: int | Exception, status: str,
                                  error: str | None) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock())
    [attempt] = deliver_due(sessions, clock=clock, send=FakeSender({URL: [answer]}),
                            schedule=FAST)
    assert (attempt.status, attempt.error) == (status, error)


def test_a_schedule_without_retries_gives_up_at_once(sessions: sessionmaker[Session],
                                                      clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock())
    [attempt] = deliver_due(sessions, clock=clock, send=FakeSender({URL: [500]}),
                            schedule=RetrySchedule.parse(""))
    assert (attempt.status, attempt.next_attempt_at) == ("dead", None)


def test_a_slow_receiver_holds_up_only_its_own_delivery(sessions: sessionmaker[Session],
                                                        clock: FakeClock) -> None:
    slow, fast = "https://slow.example.com/", "https://fast.example.com/"
    add_endpoint(sessions, "SLOW", slow, clock())
    add_endpoint(sessions, "FAST", fast, clock())
    notify(sessions, "SLOW", clock())
    notify(sessions, "FAST", clock(), count=30)

    def hang(request: object) -> None:
        if getattr(request, "url", None) == slow:
            time.sleep(1.0)

    started = time.monotonic()
    attempts = deliver_due(sessions, clock=clock, send=FakeSender(hook=hang), concurrency=4)
    assert [a.enterprise for a in attempts] == ["FAST"] * 30 + ["SLOW"]
    assert time.monotonic() - started < 2.5  # 30 deliveries beside one that takes 1 s


def test_limit_bounds_what_one_call_claims(sessions: sessionmaker[Session],
                                           clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock(), count=5)
    assert len(deliver_due(sessions, clock=clock, send=FakeSender(), limit=3)) == 3
    assert len(deliver_due(sessions, clock=clock, send=FakeSender(), limit=3)) == 2


def test_two_workers_deliver_each_notice_once(sessions: sessionmaker[Session],
                                             clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock(), count=60)
    sender = FakeSender(hook=lambda _request: time.sleep(0.005))
    made: dict[str, int] = {}

    def work(owner: str) -> None:
        made[owner] = len(deliver_due(sessions, clock=clock, send=sender, owner=owner,
                                      concurrency=3))

    workers = [threading.Thread(target=work, args=(owner,)) for owner in ("w1", "w2")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ids = [r.headers["webhook-id"] for r in sender.requests]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 60
    assert made["w1"] + made["w2"] == 60
    assert {d.status for d in deliveries(sessions)} == {"delivered"}


def test_a_claim_is_a_lease_that_another_worker_takes_over(sessions: sessionmaker[Session],
                                                           clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock())
    # A worker claims the delivery, then dies before sending it.
    [stale] = _claim(sessions, owner="dead-worker", now=clock(),
                     lease=timedelta(seconds=60), limit=10)
    sender = FakeSender()
    clock.advance(59)
    assert deliver_due(sessions, clock=clock, send=sender) == []
    clock.advance(1)
    [attempt] = deliver_due(sessions, clock=clock, send=sender)
    assert attempt.status == "delivered"
    # Should the first worker come back, its outcome is not recorded over the second's.
    assert _record(sessions, [(stale, _Outcome(500, "HTTP 500", 0.1))], now=clock(),
                   schedule=FAST) == []
    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_moving_the_endpoint_sends_what_is_pending_to_the_new_url(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    secret = add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock())
    with sessions() as session:
        moved = register_endpoint(session, enterprise="E1", url="http://new.example.com/h",
                                  now=clock())
        session.commit()
    assert moved.new_secret is None  # the secret is kept
    sender = FakeSender()
    deliver_due(sessions, clock=clock, send=sender)
    [request] = sender.requests
    assert request.url == "http://new.example.com/h"
    Webhook(secret).verify(request.body, dict(request.headers))


def test_rotating_the_secret_signs_with_the_new_one(sessions: sessionmaker[Session],
                                                   clock: FakeClock) -> None:
    old = add_endpoint(sessions, "E1", URL, clock())
    with sessions() as session:
        rotated = register_endpoint(session, enterprise="E1", url=URL, now=clock(),
                                    rotate_secret=True)
        session.commit()
    assert rotated.new_secret is not None and rotated.new_secret != old
    notify(sessions, "E1", clock())
    sender = FakeSender()
    deliver_due(sessions, clock=clock, send=sender)
    [request] = sender.requests
    Webhook(rotated.new_secret).verify(request.body, dict(request.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, dict(request.headers))


def test_removing_the_endpoint_dead_letters_what_waits(sessions: sessionmaker[Session],
                                                     clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock(), count=2)
    deliver_due(sessions, clock=clock, send=FakeSender({URL: [500, 200]}), limit=1)
    with sessions() as session:
        assert remove_endpoint(session, enterprise="E1", now=clock())
        assert not remove_endpoint(session, enterprise="E1", now=clock())
        session.commit()
        assert find_endpoint(session, "E1") is None
    assert [(d.status, d.last_error) for d in deliveries(sessions)] == [
        ("dead", "endpoint removed by the enterprise")] * 2
    notify(sessions, "E1", clock())
    assert len(deliveries(sessions)) == 2  # kept as a message, not sent
    # Registering again makes a new secret: the old one was shown once, and may be why.
    with sessions() as session:
        again = register_endpoint(session, enterprise="E1", url=URL, now=clock())
        session.commit()
    assert again.new_secret is not None


def test_delivery_listing_filters_and_pages(sessions: sessionmaker[Session],
                                            clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    add_endpoint(sessions, "E2", "http://e2.example.com/", clock())
    notify(sessions, "E1", clock(), count=3)
    notify(sessions, "E2", clock(), count=2)
    deliver_due(sessions, clock=clock, send=FakeSender({URL: [500]}))
    with sessions() as session:
        everything = list_deliveries(session, viewer=None, limit=10)
        assert [d["id"] for d in everything.items] == [5, 4, 3, 2, 1]
        assert everything.after is None
        own = list_deliveries(session, viewer="E2", limit=10, enterprise="E1")
        assert own.items == []
        first = list_deliveries(session, viewer="E1", limit=2)
        rest = list_deliveries(session, viewer="E1", limit=2, after=first.after)
        assert [d["id"] for d in first.items + rest.items] == [3, 2, 1]
        assert rest.after is None
        failed = list_deliveries(session, viewer=None, limit=10, status="failed")
        assert {d["enterprise"] for d in failed.items} == {"E1"}
        item = failed.items[0]
    assert item["url"] == URL and item["attempts"] == 1 and item["last_response_code"] == 500
    assert item["event_type"] == "recall.initiated" and item["message_id"].startswith("msg_")
    assert json.dumps(item)  # JSON-ready as it is


def test_stopping_gives_back_the_claims_not_yet_sent(sessions: sessionmaker[Session],
                                                    clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock(), count=3)
    stop = threading.Event()

    def stop_during_the_first_send(_request: object) -> None:
        stop.set()
        time.sleep(0.3)  # the second claim waits in the queue meanwhile

    attempts = deliver_due(sessions, clock=clock, concurrency=1, stop=stop,
                           send=FakeSender(hook=stop_during_the_first_send))
    assert [a.status for a in attempts] == ["delivered"]
    waiting = [d for d in deliveries(sessions) if d.status == "pending"]
    assert len(waiting) == 2
    assert all(d.claimed_by is None and d.claimed_until is None for d in waiting)


def test_the_worker_outlives_a_database_error(sessions: sessionmaker[Session],
                                              clock: FakeClock,
                                              caplog: pytest.LogCaptureFixture) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock())
    opened = []

    def flaky() -> Session:
        opened.append(1)
        if len(opened) == 1:
            raise OperationalError("UPDATE webhook_deliveries", {}, Exception("database is gone"))
        return sessions()

    stop = threading.Event()
    with caplog.at_level(logging.INFO, logger="tracenet.outbox"):
        made = run_worker(flaky, stop=stop, poll=0.01, clock=clock,
                          send=FakeSender(hook=lambda _request: stop.set()))
    assert made == 1
    assert "outbox: database error, trying again in 0.01 s" in caplog.text
    assert "delivered (attempt 1, HTTP 200" in caplog.text


def test_rebuild_leaves_the_outbox_alone(sessions: sessionmaker[Session], session: Session,
                                         clock: FakeClock) -> None:
    add_endpoint(sessions, "E1", URL, clock())
    notify(sessions, "E1", clock())
    rebuild(session)
    session.commit()
    assert [(d.status, d.attempts) for d in deliveries(sessions)] == [("pending", 0)]
    with sessions() as other:
        assert find_endpoint(other, "E1") is not None
