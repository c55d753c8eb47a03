"""marshmallow's nested error messages, walked once for everyone who reports them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ledger.errors import FieldPath

__all__ = ["field_messages"]


def field_messages(messages: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, list[str]]]:
    """Each field's messages with the field's path, depth first, in marshmallow's order.

    ``{"payload": {"inputs": {1: {"lot": ["m"]}}}}`` gives ``(("payload", "inputs", 1, "lot"),
    ["m"])``; the ``_schema`` key of schema-level errors adds nothing to the path.
    """
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from field_messages(value, path if key == "_schema" else (*path, key))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        if messages:
            yield path, list(messages)
    elif isinstance(messages, list):
        for value in messages:
            yield from field_messages(value, path)
    else:
        yield path, [str(messages)]
