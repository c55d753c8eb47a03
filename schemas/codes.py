"""Validators and marshmallow fields for product codes, licences, lots and amounts.

Each ``validate_*`` function takes a str and returns it (or, where stated, a normalised form)
or raises :class:`marshmallow.ValidationError` with a message a data-entry clerk can act on.
The ``*Field`` classes apply them when a schema loads, so schemas declare ``GTINField()``
instead of repeating ``fields.String(validate=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from marshmallow import ValidationError, fields

from ledger.errors import LedgerError
from ledger.supervision.check_digits import gs1_check_digit
from ledger.supervision.quantity import parse_amount
from schemas.identifiers import validate_rfc3339, validate_uscc

__all__ = [
    "GTIN_LENGTHS",
    "LOT_CHARSET",
    "LOT_MAX_LENGTH",
    "SC_PROVINCES",
    "GTINField",
    "LotField",
    "RFC3339Field",
    "USCCField",
    "gs1_check_digit",
    "gtin14",
    "validate_amount",
    "validate_gtin",
    "validate_lot",
    "validate_sc_licence",
]


def _ascii_digits(value: str) -> bool:
    # str.isdigit alone accepts '²', '١' and other non-ASCII digits that no scanner emits.
    return value.isascii() and value.isdigit()


# --- GTIN ----------------------------------------------------------------------------------

#: GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14
GTIN_LENGTHS = (8, 12, 13, 14)


@lru_cache(maxsize=4096)  # a batch names the same products over and over
def validate_gtin(value: str) -> str:
    """Check a GTIN-8/12/13/14: ASCII digits only, a GS1 length and a valid check digit."""
    if not _ascii_digits(value):
        raise ValidationError("a GTIN has digits 0-9 only")
    if len(value) not in GTIN_LENGTHS:
        raise ValidationError(f"a GTIN has 8, 12, 13 or 14 digits, got {len(value)}")
    expected = gs1_check_digit(value[:-1])
    if value[-1] != expected:
        raise ValidationError(f"GTIN check digit should be {expected}, got {value[-1]}")
    return value


def gtin14(value: str) -> str:
    """Validate a GTIN and return it as 14 digits (left-padded with zeros).

    GS1 recommends storing every GTIN in a 14-digit field so that the same item compares
    equal whether it was scanned from an EAN-13, a UPC-A or an ITF-14 symbol.
    """
    return validate_gtin(value).zfill(14)


# --- SC food production licence ------------------------------------------------------------

#: GB/T 2260 province-level codes of mainland China, where SC licences are issued
SC_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65",
})

# 食品生产许可证编号 (食品生产许可管理办法): "SC" then 14 digits, left to right
#   3  food category code: first digit 1 = food, 2 = food additive; then 2-digit category
#   2  province, 2 city, 2 county (the issuing authority's GB/T 2260 division code)
#   4  serial number
#   1  check digit
# The check-digit algorithm is not published, so only the format is checked here: a number
# with a mistyped digit may pass and must be confirmed against the licence register.
_SC = re.compile(r"SC(?P<kind>[0-9])(?P<category>[0-9]{2})(?P<province>[0-9]{2})"
                 r"(?P<city>[0-9]{2})(?P<county>[0-9]{2})(?P<serial>[0-9]{4})(?P<check>[0-9])")


def validate_sc_licence(value: str) -> str:
    """Check the format of a food production licence number (SC + 14 digits).

    The check digit cannot be verified (its algorithm is not public); the food/additive flag
    and the province code are.
    """
    match = _SC.fullmatch(value) if value.isascii() else None
    if match is None:
        raise ValidationError("a food production licence number is SC followed by 14 digits, "
                              "e.g. SC10635010200015")
    if match["kind"] not in ("1", "2"):
        raise ValidationError("digit 1 after SC must be 1 (food) or 2 (food additive), "
                              f"got {match['kind']}")
    if match["province"] not in SC_PROVINCES:
        raise ValidationError(f"digits 4-5 after SC are the province code; {match['province']} "
                              "is not a province of mainland China")
    return value


# --- GS1 AI (10) batch/lot -----------------------------------------------------------------

#: GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1): the
#: characters allowed in AI (10) batch/lot and most other alphanumeric AIs
LOT_CHARSET = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
#: AI (10) is X..20
LOT_MAX_LENGTH = 20


def validate_lot(value: str) -> str:
    """Check a batch/lot number as GS1 AI (10) allows it: 1-20 characters of set 82."""
    if not value:
        raise ValidationError("a lot number needs at least 1 character")
    if len(value) > LOT_MAX_LENGTH:
        raise ValidationError(f"a lot number has at most {LOT_MAX_LENGTH} characters, "
                              f"got {len(value)}")
    for position, char in enumerate(value, start=1):
        if char not in LOT_CHARSET:
            raise ValidationError(f"character {char!r} at position {position} is not allowed in "
                                  "a lot number (GS1 character set 82: letters, digits and "
                                  "!\"%&'()*+,-./:;<=>?_)")
    return value


# --- amounts --------------------------------------------------------------------------------


def validate_amount(value: str) -> str:
    """Check a plain decimal amount (``12.5``) as the ledger's quantities read it."""
    try:
        parse_amount(value)
    except LedgerError as exc:
        raise ValidationError(exc.message) from None
    return value


# --- marshmallow fields --------------------------------------------------------------------


class _CodeField(fields.String):
    """A string field whose loaded value goes through :meth:`_check` (validate, normalise)."""

    description: ClassVar[str]
    example: ClassVar[str]
    #: what OpenAPI can say of the text (a check digit it cannot): a pattern or a format
    openapi: ClassVar[dict[str, str]] = {}
    #: the validator a subclass names: it checks the text and returns it (maybe normalised)
    validator: ClassVar[staticmethod[[str], str]]

    def __init__(self, **kwargs: Any) -> None:
        # OpenAPI documentation comes for free; a schema's own metadata wins.
        kwargs["metadata"] = {"description": self.description, "example": self.example,
                              **self.openapi, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _check(self, text: str) -> str:
        return type(self).validator(text)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        return self._check(super()._deserialize(value, attr, data, **kwargs))


class GTINField(_CodeField):
    """A GTIN-8/12/13/14, loaded as 14 digits (``GTINField(as_gtin14=False)`` keeps it as sent)."""

    description = "GTIN-8/12/13/14 with a valid GS1 check digit"
    example = "06901234567892"
    openapi: ClassVar[dict[str, str]] = {"pattern": r"^(\d{8}|\d{12,14})$"}

    def __init__(self, *, as_gtin14: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.as_gtin14 = as_gtin14

    def _check(self, text: str) -> str:
        return gtin14(text) if self.as_gtin14 else validate_gtin(text)


class USCCField(_CodeField):
    """A 统一社会信用代码 (GB 32100) with a valid check character."""

    description = "统一社会信用代码 (unified social credit code, GB 32100)"
    example = "91350100M000100Y43"
    openapi: ClassVar[dict[str, str]] = {
        "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"}
    validator = staticmethod(validate_uscc)


class LotField(_CodeField):
    """A batch/lot number as GS1 AI (10) allows it."""

    description = "batch/lot number: 1-20 characters of GS1 character set 82"
    example = "L20261126-A"
    openapi: ClassVar[dict[str, str]] = {"pattern": "^[!-\"%-?A-Z_a-z]{1,20}$"}
    validator = staticmethod(validate_lot)


class RFC3339Field(_CodeField):
    """An RFC 3339 date-time with offset, kept as the exact string sent (signatures cover it)."""

    description = "RFC 3339 date-time with UTC offset"
    example = "2026-11-26T08:30:00+08:00"
    openapi: ClassVar[dict[str, str]] = {"format": "date-time"}
    validator = staticmethod(validate_rfc3339)
