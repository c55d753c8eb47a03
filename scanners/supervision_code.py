"""Tracenet's 20-digit supervision code (电子监管码): product, unit, a keyed part, a check digit.

Layout, left to right (README, "The supervision code", says the same for people)::

    PPPPPP UUUUUUU KKKKKK C
    |      |       |      +-- 1 check digit (Damm), over the 19 digits before it
    |      |       +--------- 6 key digits: HMAC-SHA256 under the operator's code secret
    |      +----------------- 7 digits: the unit's number within its product (1..9,999,999)
    +------------------------ 6 digits: the product's number in the ledger (1..999,999)

The check digit catches every single-digit typo and every swap of two adjacent digits (the
Damm algorithm does both; GS1's mod-10 misses swaps such as 05 <-> 50). The key digits make
valid codes unguessable: without the secret, a code made up for a known product and unit is
right with probability 1 in 10**6, so a counterfeiter needs about 500,000 guesses on average
(each one a query that the rate limits slow and the query counter sees) to hit one, and the code
so found belongs to a unit already issued, whose genuine package then shows the clone.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from ledger.supervision.check_digits import damm_check_digit
from ledger.supervision.unit_codes import KEY_DIGITS, PRODUCT_DIGITS, UNIT_DIGITS, key_digits
from ledger.supervision.unit_codes import mint as mint
from scanners.errors import CodeError

__all__ = ["LENGTH", "SupervisionCode", "authentic", "check_digit", "mint", "parse"]

LENGTH = 20
_PRODUCT, _UNIT, _KEY = PRODUCT_DIGITS, UNIT_DIGITS, KEY_DIGITS

@dataclass(frozen=True)
class SupervisionCode:
    """A well-formed supervision code, its parts read off (not yet checked against the key)."""

    text: str
    product: int
    unit: int
    key: str


def check_digit(digits: str) -> str:
    """The Damm check digit of a string of digits."""
    return damm_check_digit(digits)


def parse(text: str) -> SupervisionCode:
    """Read a supervision code, allowing the spaces and hyphens people type between groups.

    Raises :class:`~scanners.errors.CodeError` when it is not 20 digits or its check digit is
    wrong (a typo): whether it was ever issued is for the ledger to say.
    """
    digits = text.replace(" ", "").replace("-", "")
    if len(digits) != LENGTH or not digits.isascii() or not digits.isdigit():
        raise CodeError("code.supervision.format",
                        f"a supervision code is {LENGTH} digits; got {text!r}")
    if check_digit(digits[:-1]) != digits[-1]:
        raise CodeError("code.supervision.check_digit",
                        "the supervision code's check digit is wrong: a digit was mistyped")
    product = int(digits[:_PRODUCT])
    unit = int(digits[_PRODUCT:_PRODUCT + _UNIT])
    if product == 0 or unit == 0:
        raise CodeError("code.supervision.format",
                        "a supervision code never has product or unit number 0")
    return SupervisionCode(text=digits, product=product, unit=unit,
                           key=digits[_PRODUCT + _UNIT:-1])


def authentic(secret: bytes, code: SupervisionCode) -> bool:
    """Whether the code's key digits are the ones ``secret`` gives (compared in constant time)."""
    body = code.text[:_PRODUCT + _UNIT]
    return hmac.compare_digest(key_digits(secret, body), code.key)
