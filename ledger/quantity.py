"""Quantities with units: the one place that knows Tracenet's units and how they convert."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ledger.errors import EntryError

__all__ = ["UNITS", "base_quantity", "format_quantity"]

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


def base_quantity(quantity: object, unit: object, *,
                  field: str = "quantity") -> tuple[Decimal, str]:
    """Parse a positive quantity and convert it to its base unit (kg, L, pcs or case)."""
    if unit not in UNITS:
        raise EntryError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}",
                         field=field.rsplit("quantity", 1)[0] + "unit")
    try:
        value = Decimal(str(quantity))
    except InvalidOperation:
        raise EntryError(f"quantity must be a decimal number, got {quantity!r}",
                         field=field) from None
    if not value.is_finite() or value <= 0:
        raise EntryError(f"quantity must be positive, got {quantity!r}", field=field)
    base, factor = UNITS[str(unit)]
    if base in ("pcs", "case") and value != value.to_integral_value():
        raise EntryError(f"a count of {unit} must be whole, got {quantity!r}", field=field)
    return value * factor, base


def format_quantity(value: Decimal) -> str:
    """A decimal as plain text without exponent or trailing zeros (stored and shown)."""
    text = format(value.normalize(), "f")
    return text
