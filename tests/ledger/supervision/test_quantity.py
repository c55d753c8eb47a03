"""Quantities: the one parser of amounts and units, and exact conversion to base units."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import EntryError, render_field
from ledger.supervision.quantity import Quantity, format_quantity, parse_amount


@pytest.mark.parametrize(("amount", "unit", "expected"), [
    ("12.5", "kg", Quantity(Decimal("12.5"), "kg")),
    ("0.001", "t", Quantity(Decimal("0.001"), "t")),
    ("250", "mL", Quantity(Decimal(250), "mL")),
    ("1.50", "L", Quantity(Decimal("1.50"), "L")),
    ("12", "pcs", Quantity(Decimal(12), "pcs")),
    ("12.00", "case", Quantity(Decimal(12), "case")),
    (24, "pcs", Quantity(Decimal(24), "pcs")),
])
def test_parse(amount: str | int, unit: str, expected: Quantity) -> None:
    assert Quantity.parse(amount, unit) == expected


@pytest.mark.parametrize(("amount", "unit", "field", "message"), [
    ("1", "KG", "unit", "^unit must be one of kg, g, t, L, mL, pcs, case, got 'KG'$"),
    ("1", None, "unit", "got None"),
    ("0", "kg", "quantity", "^quantity must be positive, got '0'$"),
    ("-1", "kg", "quantity", "^expected a plain decimal number$"),
    ("1e3", "kg", "quantity", "plain decimal"),
    ("1_000", "kg", "quantity", "plain decimal"),
    (" 5", "kg", "quantity", "plain decimal"),
    ("NaN", "kg", "quantity", "plain decimal"),
    ("١٢", "kg", "quantity", "plain decimal"),
    ("", "kg", "quantity", "plain decimal"),
    (1.5, "kg", "quantity", "plain decimal"),
    (True, "kg", "quantity", "plain decimal"),
    (-3, "kg", "quantity", "^quantity must be positive, got -3$"),
    ("1.5", "pcs", "quantity", "^a count of pcs must be whole, got '1.5'$"),
    ("2.25", "case", "quantity", "whole"),
])
def test_bad_quantities(amount: Any, unit: Any, field: str, message: str) -> None:
    with pytest.raises(EntryError, match=message) as caught:
        Quantity.parse(amount, unit)
    assert render_field(caught.value.field) == field


@pytest.mark.parametrize(("amount", "unit", "base"), [
    ("2500", "g", Quantity(Decimal("2.5"), "kg")),
    ("1.5", "t", Quantity(Decimal(1500), "kg")),
    ("3", "kg", Quantity(Decimal(3), "kg")),
    ("750", "mL", Quantity(Decimal("0.75"), "L")),
    ("2", "L", Quantity(Decimal(2), "L")),
    ("24", "pcs", Quantity(Decimal(24), "pcs")),
    ("4", "case", Quantity(Decimal(4), "case")),
])
def test_in_base_unit(amount: str, unit: str, base: Quantity) -> None:
    assert Quantity.parse(amount, unit).in_base_unit() == base


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3),
       st.sampled_from([("g", "kg", 1000), ("mL", "L", 1000), ("t", "kg", Decimal("0.001"))]))
def test_base_unit_conversion_is_exact(amount: Decimal, units: tuple[str, str, Any]) -> None:
    unit, base_unit, per_base = units
    base = Quantity.parse(format_quantity(amount), unit).in_base_unit()
    assert base.unit == base_unit
    assert base.amount * per_base == amount


@given(st.decimals(min_value=0, max_value=Decimal(10**12), places=6))
def test_formatted_amounts_parse_back(amount: Decimal) -> None:
    assert parse_amount(format_quantity(amount)) == amount


def test_quantity_reads_as_text() -> None:
    assert str(Quantity(Decimal("12.500"), "kg")) == "12.5 kg"
