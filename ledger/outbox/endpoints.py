"""Where an enterprise receives its notices: one webhook endpoint each, with its secret.

The secret is made here, never chosen by the enterprise, and handed back only by the call that
made it, for the enterprise to keep: as a Standard Webhooks secret (``whsec_`` + base64 of 32
random bytes), it is what the receiver verifies each delivery's signature with.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.errors import NotFoundError, WebhookError
from ledger.log import rfc3339
from ledger.outbox.models import DEAD, FAILED, PENDING, Delivery, WebhookEndpoint

__all__ = ["Registration", "check_url", "find_endpoint", "new_secret", "redeliver_dead",
           "register_endpoint", "remove_endpoint"]

_MAX_URL = 2000


@dataclass(frozen=True)
class Registration:
    """The endpoint as registered, and its secret when this registration made a new one."""

    endpoint: WebhookEndpoint
    new_secret: str | None


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    """``url`` if notices can be POSTed to it: absolute http or https with a host, no
    credentials, no fragment; WebhookError (field ``url``) naming what is wrong otherwise."""
    if len(url) > _MAX_URL:
        raise WebhookError(f"expected a URL of at most {_MAX_URL} characters, got {len(url)}",
                           field="url")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise WebhookError("a webhook URL cannot contain spaces or control characters",
                           field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading the port is what refuses ":99999" and ":x"
    except ValueError as exc:
        raise WebhookError(f"not a URL: {exc}", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookError(f"expected an http or https URL, got scheme {parts.scheme!r}"
                           if parts.scheme else "expected an absolute http or https URL",
                           field="url")
    if not parts.hostname:
        raise WebhookError("expected a host in the URL", field="url")
    if parts.username is not None or parts.password is not None:
        raise WebhookError("a webhook URL cannot carry credentials: deliveries are "
                           "authenticated by their signature", field="url")
    if parts.fragment:
        raise WebhookError("a webhook URL cannot have a fragment (#...)", field="url")
    return url


def find_endpoint(session: Session, enterprise: str) -> WebhookEndpoint | None:
    """The enterprise's active endpoint, or None."""
    return session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.enterprise == enterprise, WebhookEndpoint.active.is_(True)))


def register_endpoint(session: Session, *, enterprise: str, url: str, now: datetime,
                      rotate_secret: bool = False) -> Registration:
    """Point the enterprise's notices at ``url``. Never commits.

    The first registration (and the first after a removal) makes a secret; later ones keep it,
    unless ``rotate_secret``. Deliveries still pending go to the new URL.
    """
    check_url(url)
    stamp = rfc3339(now)
    endpoint = session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.enterprise == enterprise))
    if endpoint is None:
        endpoint = WebhookEndpoint(enterprise=enterprise, url=url, secret=new_secret(),
                                   active=True, created_at=stamp, updated_at=stamp)
        session.add(endpoint)
        session.flush()
        return Registration(endpoint, endpoint.secret)
    made = None
    if rotate_secret or not endpoint.active:
        made = endpoint.secret = new_secret()
    endpoint.url, endpoint.active, endpoint.updated_at = url, True, stamp
    session.flush()
    return Registration(endpoint, made)


def remove_endpoint(session: Session, *, enterprise: str, now: datetime) -> bool:
    """Stop sending the enterprise notices; False when it had no endpoint. Never commits.

    Its deliveries still waiting are dead-lettered (with the reason), not left to look as if
    they might yet arrive; notices enqueued from now on are kept without a delivery.
    """
    endpoint = find_endpoint(session, enterprise)
    if endpoint is None:
        return False
    endpoint.active, endpoint.updated_at = False, rfc3339(now)
    session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint.id, Delivery.status.in_((PENDING, FAILED)))
        .values(status=DEAD, next_attempt_at=None, claimed_by=None, claimed_until=None,
                last_error="endpoint removed by the enterprise"))
    return True


def redeliver_dead(session: Session, *, enterprise: str, now: datetime) -> int:
    """Send the enterprise's dead-lettered deliveries again, from a fresh retry schedule, once
    its receiver is fixed; return how many. Never commits.

    They keep their ``webhook-id``, so a receiver that did get one after all drops the copy.
    Raises NotFoundError when the enterprise has no active endpoint to send them to.
    """
    endpoint = find_endpoint(session, enterprise)
    if endpoint is None:
        raise NotFoundError(f"{enterprise} has no active webhook endpoint; PUT one first")
    result = session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint.id, Delivery.status == DEAD)
        .values(status=PENDING, attempts=0, next_attempt_at=rfc3339(now), claimed_by=None,
                claimed_until=None))
    return int(result.rowcount)  # type: ignore[attr-defined]
