"""Idempotency-Key: a retried POST gets the first response back and appends nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, request
from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import Base
from ledger.log.sequencer import Clock, rfc3339
from web.errors import ApiError

__all__ = ["IdempotentResponse", "commit_remembering", "replay"]


class IdempotentResponse(Base):
    """The response to a POST made with an ``Idempotency-Key``, replayed when it is retried."""

    __tablename__ = "idempotent_responses"

    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40))


def _request_hash() -> bytes:
    return hashlib.sha256(request.get_data()).digest()


def _key() -> str | None:
    return request.headers.get("Idempotency-Key")


def replay(session: Session, enterprise: str) -> Response | None:
    """The stored response when this request retries one made with the same
    ``Idempotency-Key``, or None (no key, or its first use).

    The key may not be reused for a different request (422).
    """
    key = _key()
    return None if key is None else _stored(session, enterprise, key)


def commit_remembering(session: Session, enterprise: str, status: int, body: Any,
                       clock: Clock) -> Response | Any:
    """Commit the request's work; with an ``Idempotency-Key``, together with its response.

    Both land or neither. When the same key was committed concurrently, the first response
    is answered instead.
    """
    key = _key()
    if key is None:
        session.commit()
        return body
    session.add(IdempotentResponse(
        enterprise=enterprise, key=key, request_hash=_request_hash(), status=status,
        body=json.dumps(body, ensure_ascii=False), created_at=rfc3339(clock())))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return _stored(session, enterprise, key)
    return body


def _stored(session: Session, enterprise: str, key: str) -> Response | None:
    if not 1 <= len(key) <= 200:
        raise ApiError(400, "bad_request", "Idempotency-Key must have 1 to 200 characters",
                       "Idempotency-Key")
    stored = session.get(IdempotentResponse, (enterprise, key))
    if stored is None:
        return None
    if stored.request_hash != _request_hash():
        raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was used for a "
                       "different request", "Idempotency-Key")
    response = Response(stored.body, status=stored.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response
