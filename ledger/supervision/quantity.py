"""Quantities with units: the one place that knows Tracenet's units and how they convert.

The API, the spreadsheets and the rules all read amounts through :func:`parse_amount` and
:class:`Quantity`, so "1e3", "1_000", " 5 " or "NaN" are refused the same way everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ledger.errors import EntryError

__all__ = ["COUNTED_UNITS", "SINGLE_ITEMS", "UNITS", "Quantity", "format_quantity", "parse_amount"]

#: unit -> (base unit, factor to the base unit). Counts (pcs, case) never convert to each other.
UNITS: dict[str, tuple[str, Decimal]] = {
    "kg": ("kg", Decimal(1)),
    "g": ("kg", Decimal("0.001")),
    "t": ("kg", Decimal(1000)),
    "L": ("L", Decimal(1)),
    "mL": ("L", Decimal("0.001")),
    "pcs": ("pcs", Decimal(1)),
    "case": ("case", Decimal(1)),
}
#: units that count whole things, rather than measure bulk
COUNTED_UNITS = frozenset({"pcs", "case"})
#: the unit of single items (单品), which unit codes are given to
SINGLE_ITEMS = "pcs"
# Plain decimal notation only: Decimal() would also take "1e3", "1_000", " 5 ", "NaN" and
# non-ASCII digits, none of which belong in a shipment record.
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_amount(value: object) -> Decimal:
    """A plain decimal number such as ``"12.5"`` (as text, the way records carry it) or an
    integer; never a float, which cannot hold 0.1 exactly."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise EntryError("expected a plain decimal number", field="quantity")
    return Decimal(value)


@dataclass(frozen=True)
class Quantity:
    """A positive amount in one of :data:`UNITS`; counts are whole."""

    amount: Decimal
    unit: str

    @classmethod
    def parse(cls, amount: object, unit: object) -> Quantity:
        """Read a record's ``quantity`` and ``unit``; EntryError names the one at fault."""
        if not isinstance(unit, str) or unit not in UNITS:
            raise EntryError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}",
                             field="unit")
        value = parse_amount(amount)
        if value <= 0:
            raise EntryError(f"quantity must be positive, got {amount!r}", field="quantity")
        if unit in COUNTED_UNITS and value != value.to_integral_value():
            raise EntryError(f"a count of {unit} must be whole, got {amount!r}",
                             field="quantity")
        return cls(value, unit)

    def in_base_unit(self) -> Quantity:
        """The same quantity in kg, L, pcs or case (exact: the factors are powers of ten)."""
        base, factor = UNITS[self.unit]
        return Quantity(self.amount * factor, base)

    def __str__(self) -> str:
        return f"{format_quantity(self.amount)} {self.unit}"


def format_quantity(value: Decimal) -> str:
    """A decimal as plain text without exponent or trailing zeros (stored and shown)."""
    return format(value.normalize(), "f")
