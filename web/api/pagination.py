"""Cursor pagination: the cursor is the opaque, URL-safe form of the last key served."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from ledger.supervision.queries import Page

__all__ = ["PageQuery", "page_body"]


def _decode(cursor: str) -> tuple[Any, ...]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise ValidationError("not a cursor this API issued") from None
    if not isinstance(key, list) or not key:
        raise ValidationError("not a cursor this API issued")
    return tuple(key)


class Cursor(fields.String):
    """A cursor from a previous page's ``next_cursor``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return _decode(super()._deserialize(value, attr, data, **kwargs))


class PageQuery(Schema):
    """``limit`` (1-500, default 50) and ``cursor`` (from the previous page)."""

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    cursor = Cursor(load_default=None, metadata={"description": "next_cursor of the last page"})


def page_body(page: Page) -> dict[str, Any]:
    """The JSON body of a page: its items and the cursor of the next one (or null)."""
    cursor = None
    if page.after is not None:
        raw = json.dumps(list(page.after), separators=(",", ":")).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {"items": page.items, "next_cursor": cursor}
