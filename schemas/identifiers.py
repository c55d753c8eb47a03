"""Validators for the identifiers Tracenet records, each failing with a clear message."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from marshmallow import ValidationError

from ledger.supervision.check_digits import USCC_ALPHABET, uscc_check_character

__all__ = ["USCC_ALPHABET", "uscc_check_character", "validate_rfc3339", "validate_uscc"]

@lru_cache(maxsize=4096)  # a batch names the same enterprises over and over
def validate_uscc(value: str) -> str:
    """Check a 统一社会信用代码: 18 characters of the GB 32100 alphabet with a valid check."""
    if len(value) != 18:
        raise ValidationError(f"a USCC has 18 characters, got {len(value)}")
    bad = [char for char in value if char not in USCC_ALPHABET]
    if bad:
        raise ValidationError(f"character {bad[0]!r} is not allowed in a USCC")
    if not value[2:8].isdigit():
        raise ValidationError("characters 3-8 of a USCC are the administrative division code "
                              "(digits)")
    expected = uscc_check_character(value[:17])
    if value[17] != expected:
        raise ValidationError(f"check character should be {expected!r}, got {value[17]!r}")
    return value


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


@lru_cache(maxsize=4096)  # a batch's events mostly share a few times
def validate_rfc3339(value: str) -> str:
    """Check an RFC 3339 date-time that carries its UTC offset (``Z`` or ``±hh:mm``)."""
    if not _RFC3339.match(value):
        raise ValidationError("expected an RFC 3339 time with offset, e.g. "
                              "2026-11-26T08:30:00+08:00")
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"not a real date-time: {exc}") from None
    return value
