"""The outbox: notices to enterprises, delivered as signed webhooks by a worker process.

Work that must happen *because* something was recorded, but must not hold up the recording
(telling every holder of a recalled lot, say), goes through here:

1. the cause's transaction calls :func:`enqueue` (or :func:`enqueue_many`), which writes a
   message and a delivery row on the caller's session and never commits, so a notice exists
   if and only if its cause committed;
2. ``tracenet worker``, a process of its own beside gunicorn, claims due deliveries
   (:func:`deliver_due`; two workers never claim the same one), POSTs each to the endpoint
   the enterprise registered (:mod:`.endpoints`), signed the Standard Webhooks way, and
   retries failures on a :class:`RetrySchedule` until it succeeds or is dead-lettered.

A slow or dead receiver costs only its own delivery a timeout and a later retry: the cause
never waits for it, and other deliveries go on beside it.

Modules: :mod:`.models` (tables), :mod:`.messages` (enqueueing), :mod:`.endpoints`
(registration and secrets), :mod:`.schedule` (retry timing), :mod:`.delivery` (signing,
claiming, sending, the worker loop), :mod:`.queries` (delivery status listings).
"""

from __future__ import annotations

from ledger.outbox.delivery import (
    Attempt,
    Sender,
    WebhookRequest,
    deliver_due,
    http_send,
    run_worker,
    sign_request,
)
from ledger.outbox.endpoints import (
    Registration,
    find_endpoint,
    redeliver_dead,
    register_endpoint,
    remove_endpoint,
)
from ledger.outbox.messages import Notice, enqueue, enqueue_many
from ledger.outbox.models import STATUSES
from ledger.outbox.queries import DeliveryPage, deliveries_by_key, list_deliveries
from ledger.outbox.schedule import DEFAULT_SCHEDULE, RetrySchedule

__all__ = [
    "DEFAULT_SCHEDULE",
    "STATUSES",
    "Attempt",
    "DeliveryPage",
    "Notice",
    "Registration",
    "RetrySchedule",
    "Sender",
    "WebhookRequest",
    "deliver_due",
    "deliveries_by_key",
    "enqueue",
    "enqueue_many",
    "find_endpoint",
    "http_send",
    "list_deliveries",
    "redeliver_dead",
    "register_endpoint",
    "remove_endpoint",
    "run_worker",
    "sign_request",
]
