"""The one canonical encoder: RFC 8785 JSON Canonicalization Scheme (JCS).

Every hash and signature in Tracenet is taken over bytes produced here, never over an ad-hoc
``json.dumps`` whose key order or number format could drift between versions.

``rfc8785`` is the reference implementation, but it is pure Python and the hottest step of an
append. For the values ledger payloads actually hold — objects, arrays, strings, booleans,
null and integers within IEEE 754's exact range, with no key outside the Basic Multilingual
Plane — the standard library's C encoder with sorted keys and no whitespace emits exactly the
JCS bytes: code-point order equals UTF-16 order inside the BMP, and both escape only ``"``,
``\\`` and control characters, the same way. Anything else (a float, a huge integer, an astral
key, a lone surrogate) takes the reference path. A property test holds the two paths equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from ledger.errors import EntryError

__all__ = ["canonical_bytes"]

_MAX_EXACT = 2**53 - 1
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                           allow_nan=False).encode


def canonical_bytes(value: Mapping[str, Any]) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON object.

    Raises EntryError when the value cannot be represented canonically (NaN, integers beyond
    IEEE 754 double precision, non-string keys, lone surrogates).
    """
    if _plain(value):
        try:
            return _encode(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let the reference path judge it
            pass
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EntryError(f"value has no canonical JSON form: {exc}") from exc


def _plain(value: Any) -> bool:
    """Whether ``value`` only holds what the C encoder renders exactly as JCS does."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_MAX_EXACT <= value <= _MAX_EXACT
    if isinstance(value, Mapping):
        return all(isinstance(key, str) and (key.isascii() or max(key) <= "\uffff")
                   and _plain(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return False
