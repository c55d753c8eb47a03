"""Validators and marshmallow fields for product codes, licences, lots and quantities.

Each ``validate_*`` function takes a str and returns it (or, where stated, a normalised form)
or raises :class:`marshmallow.ValidationError` with a message a data-entry clerk can act on.
The ``*Field`` classes apply them when a schema loads, so schemas declare ``GTINField()``
instead of repeating ``fields.String(validate=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple

from marshmallow import ValidationError, fields

from ledger.supervision.check_digits import gs1_check_digit
from ledger.supervision.quantity import UNITS as _UNITS
from schemas.identifiers import validate_rfc3339, validate_uscc

__all__ = [
    "GTIN_LENGTHS",
    "LOT_CHARSET",
    "LOT_MAX_LENGTH",
    "QUANTITY_UNITS",
    "SC_PROVINCES",
    "GTINField",
    "LotField",
    "Quantity",
    "QuantityField",
    "RFC3339Field",
    "SCLicenceField",
    "USCCField",
    "gs1_check_digit",
    "gtin14",
    "parse_quantity",
    "to_base_unit",
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


# --- quantities ----------------------------------------------------------------------------

# The units and their conversions live in the ledger core (ledger.quantity), which the rules
# use too; this module only validates what the API receives.
QUANTITY_UNITS = tuple(_UNITS)
_COUNT_UNITS = frozenset({"pcs", "case"})
# Plain decimal notation only: Decimal() would also take "1e3", "1_000", " 5 ", "NaN" and
# non-ASCII digits, none of which belong in a shipment record.
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class Quantity(NamedTuple):
    """An amount and its unit, e.g. ``Quantity(Decimal("12.5"), "kg")``."""

    amount: Decimal
    unit: str

    def to_base(self) -> Quantity:
        """The same quantity in kg, L, pcs or case (see :func:`to_base_unit`)."""
        return to_base_unit(self.amount, self.unit)


def _unit(unit: str) -> tuple[str, Decimal]:
    try:
        return _UNITS[unit]
    except (KeyError, TypeError):
        raise ValidationError(f"unit must be one of {', '.join(QUANTITY_UNITS)}, "
                              f"got {unit!r}") from None


def parse_quantity(value: str | int | Decimal, unit: str) -> Quantity:
    """Parse a positive amount in one of kg, g, t, L, mL, pcs, case.

    Amounts in pcs and case must be whole numbers and come back without a fractional part
    ("12.0" -> 12). Floats are refused: binary floating point cannot hold 0.1 kg exactly.
    """
    _unit(unit)
    amount: Decimal
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValidationError("amount must be a decimal string such as \"12.5\", an integer "
                              f"or a Decimal, got {type(value).__name__}")
    if isinstance(value, str):
        if not _AMOUNT.fullmatch(value):
            raise ValidationError(f"amount must be a plain decimal number such as 12.5, "
                                  f"got {value!r}")
        amount = Decimal(value)
    elif isinstance(value, int):
        amount = Decimal(value)
    else:
        if not value.is_finite():
            raise ValidationError(f"amount must be a finite number, got {value}")
        amount = value
    if amount <= 0:
        raise ValidationError(f"amount must be positive, got {amount}")
    if unit in _COUNT_UNITS:
        if amount != amount.to_integral_value():
            raise ValidationError(f"a count in {unit} must be a whole number, got {amount}")
        amount = amount.quantize(Decimal(1))
    return Quantity(amount, unit)


def to_base_unit(amount: Decimal, unit: str) -> Quantity:
    """Convert to the dimension's base unit: g and t to kg, mL to L; pcs and case unchanged.

    Conversion is exact (decimal arithmetic, factors are powers of ten).
    """
    base, factor = _unit(unit)
    return Quantity(amount * factor, base)


# --- marshmallow fields --------------------------------------------------------------------


class _CodeField(fields.String):
    """A string field whose loaded value goes through :meth:`_check` (validate, normalise)."""

    description: ClassVar[str]
    example: ClassVar[str]
    #: the validator a subclass names: it checks the text and returns it (maybe normalised)
    validator: ClassVar[staticmethod[[str], str]]

    def __init__(self, **kwargs: Any) -> None:
        # OpenAPI documentation comes for free; a schema's own metadata wins.
        kwargs["metadata"] = {"description": self.description, "example": self.example,
                              **kwargs.get("metadata", {})}
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

    def __init__(self, *, as_gtin14: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.as_gtin14 = as_gtin14

    def _check(self, text: str) -> str:
        return gtin14(text) if self.as_gtin14 else validate_gtin(text)


class USCCField(_CodeField):
    """A 统一社会信用代码 (GB 32100) with a valid check character."""

    description = "统一社会信用代码 (unified social credit code, GB 32100)"
    example = "91350100M000100Y43"
    validator = staticmethod(validate_uscc)


class SCLicenceField(_CodeField):
    """A 食品生产许可证编号: SC + 14 digits (format only; see :func:`validate_sc_licence`)."""

    description = "食品生产许可证编号 (food production licence number): SC + 14 digits"
    example = "SC10635010200015"
    validator = staticmethod(validate_sc_licence)


class LotField(_CodeField):
    """A batch/lot number as GS1 AI (10) allows it."""

    description = "batch/lot number: 1-20 characters of GS1 character set 82"
    example = "L20261126-A"
    validator = staticmethod(validate_lot)


class RFC3339Field(_CodeField):
    """An RFC 3339 date-time with offset, kept as the exact string sent (signatures cover it)."""

    description = "RFC 3339 date-time with UTC offset"
    example = "2026-11-26T08:30:00+08:00"
    validator = staticmethod(validate_rfc3339)


class QuantityField(fields.Field[Quantity]):
    """A quantity as ``{"amount": "12.5", "unit": "kg"}``, loaded as a :class:`Quantity`.

    ``units`` restricts the units accepted (e.g. ``units=("kg", "g", "t")`` for a mass).
    The amount is dumped as a string so that JSON clients never round it through a float.
    """

    def __init__(self, *, units: Collection[str] | None = None, **kwargs: Any) -> None:
        for unit in units or ():
            _unit(unit)  # a typo in a schema should fail at import, not on the first request
        self.units = tuple(units) if units is not None else QUANTITY_UNITS
        kwargs["metadata"] = {
            "description": f"amount (decimal string) and unit, one of {', '.join(self.units)}",
            "example": {"amount": "12.5", "unit": self.units[0]},
            **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> Quantity:
        if not isinstance(value, Mapping) or set(value) != {"amount", "unit"}:
            raise ValidationError('expected {"amount": ..., "unit": ...}')
        unit = value["unit"]
        if unit not in self.units:
            raise ValidationError(f"unit must be one of {', '.join(self.units)}, got {unit!r}")
        return parse_quantity(value["amount"], unit)

    def _serialize(self, value: Quantity | None, attr: str | None, obj: Any,
                   **kwargs: Any) -> dict[str, str] | None:
        if value is None:
            return None
        return {"amount": str(value.amount), "unit": value.unit}
