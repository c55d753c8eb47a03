"""The one canonical encoder: RFC 8785 JSON Canonicalization Scheme (JCS).

Every hash and signature in Tracenet is taken over bytes produced here, never over an ad-hoc
``json.dumps`` whose key order or number format could drift between versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rfc8785

from ledger.errors import EntryError

__all__ = ["canonical_bytes"]


def canonical_bytes(value: Mapping[str, Any]) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON object.

    Raises EntryError when the value cannot be represented canonically (NaN, integers beyond
    IEEE 754 double precision, non-string keys, lone surrogates).
    """
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EntryError(f"value has no canonical JSON form: {exc}") from exc
