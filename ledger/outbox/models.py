"""The outbox's tables: webhook endpoints, messages, and one delivery per message and endpoint.

None of them is a projection, and ``rebuild`` leaves them alone. A projection is whatever the
entries imply, so it can be dropped and replayed; these rows record what *happened outside*
the ledger instead: which secret an enterprise was shown (once, so it cannot be recomputed),
which notices were sent when, which receiver answered what. Replaying the ledger cannot
recreate that, and must not re-send a notice a holder already got.

Times are RFC 3339 UTC text with microseconds (as everywhere in the ledger), which sorts as
text, so "due now" is a plain comparison on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base

__all__ = ["DEAD", "DELIVERED", "FAILED", "PENDING", "STATUSES", "Delivery", "OutboxMessage",
           "WebhookEndpoint"]

#: Delivery states: ``pending`` (not tried yet) and ``failed`` (tried, a retry is scheduled)
#: are due at ``next_attempt_at``; ``delivered`` and ``dead`` (given up: dead-lettered) are final.
PENDING = "pending"
FAILED = "failed"
DELIVERED = "delivered"
DEAD = "dead"
STATUSES = (PENDING, FAILED, DELIVERED, DEAD)


class WebhookEndpoint(Base):
    """The URL an enterprise receives its notices at, and the secret they are signed with.

    One per enterprise. Removing it keeps the row (inactive), since deliveries refer to it.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: a Standard Webhooks secret, ``whsec_`` + base64 of 32 random bytes. Kept in the clear:
    #: signing needs the key itself (HMAC), unlike a token, which only has to be recognised.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))


class OutboxMessage(Base):
    """A notice for one enterprise, enqueued in the transaction of what caused it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    #: the ``webhook-id`` header: the same on every retry, so receivers can drop duplicates;
    #: random rather than the row id, which a re-initialised database would hand out again
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    #: the caller's correlation key (e.g. ``recall/<seq>/<holder>``), unique: enqueueing the
    #: same key again returns the first message instead of sending the notice twice
    key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    created_at: Mapped[str] = mapped_column(String(40))


class Delivery(Base):
    """One message on its way to one endpoint: attempts so far, the next one, the last answer."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: when it is due; NULL once final, so the due index holds only live deliveries' times
    next_attempt_at: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    last_attempt_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    delivered_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: the worker sending it right now, and until when its claim holds (a worker that dies
    #: mid-send loses the delivery to another once the lease runs out)
    claimed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    claimed_until: Mapped[str | None] = mapped_column(String(40), nullable=True)
