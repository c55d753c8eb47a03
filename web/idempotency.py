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


def replay(session: Session, enterprise: str, key: str) -> Response | None:
    """The stored response to the request made with ``key``, or None when there is none.

    The key may not be reused for a different request (422).
    """
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


def commit_remembering(session: Session, enterprise: str, key: str, status: int, body: Any,
                       now: str) -> Response | Any:
    """Commit the request's work together with its response, kept under ``key``.

    Both land or neither. When the same key was committed concurrently, the first response
    is answered instead.
    """
    session.add(IdempotentResponse(
        enterprise=enterprise, key=key, request_hash=_request_hash(), status=status,
        body=json.dumps(body, ensure_ascii=False), created_at=now))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return replay(session, enterprise, key)
    return body
