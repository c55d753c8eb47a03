"""Check characters of the identifiers on the ledger (pure functions, used to make and check)."""

from __future__ import annotations

__all__ = ["USCC_ALPHABET", "damm_check_digit", "gs1_check_digit", "uscc_check_character"]

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


# The Damm algorithm's totally anti-symmetric quasigroup of order 10 (Damm, 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


# The same table keyed by the digit's character: a serialization checks and mints 200,000
# codes, and int() on each of their 3.8 million digits was most of the work.
_DAMM_BY_CHAR = tuple({str(digit): next_ for digit, next_ in enumerate(row)} for row in _DAMM)


def damm_check_digit(digits: str) -> str:
    """The Damm check digit of a string of ASCII digits (the supervision code's last digit):
    it catches every single-digit error and every swap of two adjacent digits."""
    interim = 0
    try:
        for digit in digits:
            interim = _DAMM_BY_CHAR[interim][digit]
    except KeyError:
        raise ValueError(f"expected ASCII digits, got {digits!r}") from None
    return str(interim)
