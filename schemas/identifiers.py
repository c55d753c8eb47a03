"""Validators for the identifiers Tracenet records, each failing with a clear message."""

from __future__ import annotations

import re
from datetime import datetime

from marshmallow import ValidationError

__all__ = ["USCC_ALPHABET", "uscc_check_character", "validate_rfc3339", "validate_uscc"]

# GB 32100-2015: the unified social credit code uses digits and upper-case letters except
# I, O, Z, S and V (too easily confused with digits).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(char) * weight
                for char, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


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
