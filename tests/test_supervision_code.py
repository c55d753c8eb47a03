"""The 20-digit supervision code: layout, check digit, keyed digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanners.errors import CodeError
from scanners.supervision_code import LENGTH, authentic, check_digit, mint, parse

products = st.integers(1, 999_999)
units = st.integers(1, 9_999_999)


@given(products, units)
def test_minted_codes_read_back_and_are_authentic(product: int, unit: int) -> None:
    code = mint(b"secret", product, unit)
    assert len(code) == LENGTH and code.isdigit()
    read = parse(code)
    assert (read.product, read.unit) == (product, unit)
    assert authentic(b"secret", read)
    assert not authentic(b"another secret", read) or read.key == parse(
        mint(b"another secret", product, unit)).key


@given(products, units, st.integers(0, LENGTH - 1), st.integers(1, 9))
def test_every_single_digit_typo_is_caught(product: int, unit: int, at: int, delta: int) -> None:
    code = mint(b"secret", product, unit)
    typo = code[:at] + str((int(code[at]) + delta) % 10) + code[at + 1:]
    with pytest.raises(CodeError) as raised:
        parse(typo)
    assert raised.value.code in {"code.supervision.check_digit", "code.supervision.format"}


@given(products, units, st.integers(0, LENGTH - 2))
def test_every_adjacent_swap_is_caught(product: int, unit: int, at: int) -> None:
    code = mint(b"secret", product, unit)
    swapped = code[:at] + code[at + 1] + code[at] + code[at + 2:]
    if swapped != code:
        with pytest.raises(CodeError):
            parse(swapped)


def test_groups_may_be_typed_with_spaces_or_hyphens() -> None:
    code = mint(b"k", 1, 1)
    assert parse(f"{code[:6]} {code[6:13]}-{code[13:]}").text == code


@pytest.mark.parametrize("text", ["", "1234", "0" * 21, "abcdefghijklmnopqrst", "１" * 20])
def test_malformed_codes_are_refused(text: str) -> None:
    with pytest.raises(CodeError):
        parse(text)


def test_damm_known_answer() -> None:
    assert check_digit("572") == "4"  # the algorithm's published example
