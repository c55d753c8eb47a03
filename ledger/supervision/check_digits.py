"""Check characters of the identifiers on the ledger (pure functions, used to make and check)."""

from __future__ import annotations

__all__ = ["USCC_ALPHABET", "gs1_check_digit", "uscc_check_character"]

# GB 32100-2015: the unified social credit code uses digits and upper-case letters except
# I, O, Z, S and V (too easily confused with digits).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(char) * weight
                for char, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def gs1_check_digit(digits_without_check: str) -> str:
    """The GS1 mod-10 check digit for a GTIN (or SSCC, GLN...) without its last digit.

    Weights alternate 3, 1, 3, ... starting from the rightmost digit, so the same function
    serves every length and leading zeros do not change the result.
    """
    if not digits_without_check or not (digits_without_check.isascii()
                                        and digits_without_check.isdigit()):
        raise ValueError(f"expected ASCII digits, got {digits_without_check!r}")
    total = sum(int(digit) * (3 if index % 2 == 0 else 1)
                for index, digit in enumerate(reversed(digits_without_check)))
    return str(-total % 10)
