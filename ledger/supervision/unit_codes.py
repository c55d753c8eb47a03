"""The 20-digit supervision code (电子监管码) as the ledger makes and checks it.

Layout, left to right (``scanners.supervision_code`` reads codes off packages; README, "The
supervision code", says the same for people)::

    PPPPPP UUUUUUU KKKKKK C
    |      |       |      +-- 1 check digit (Damm), over the 19 digits before it
    |      |       +--------- 6 key digits: HMAC-SHA256 under the operator's code secret
    |      +----------------- 7 digits: the unit's number within its product (1..9,999,999)
    +------------------------ 6 digits: the product's number in the ledger (1..999,999)

Minting needs the code secret, which only the server holds; the rules check what needs no
secret (form, check digit, product and unit numbers), so that anyone can replay them.
"""

from __future__ import annotations

import hashlib
import hmac

from ledger.supervision.check_digits import damm_check_digit

__all__ = ["KEY_DIGITS", "LENGTH", "MAX_PRODUCT", "MAX_UNIT", "PRODUCT_DIGITS", "UNIT_DIGITS",
           "code_numbers", "key_digits", "mint"]

PRODUCT_DIGITS, UNIT_DIGITS, KEY_DIGITS = 6, 7, 6
LENGTH = PRODUCT_DIGITS + UNIT_DIGITS + KEY_DIGITS + 1
MAX_PRODUCT = 10**PRODUCT_DIGITS - 1
MAX_UNIT = 10**UNIT_DIGITS - 1
_LABEL = b"tracenet-supervision-code/v1|"


def key_digits(secret: bytes, body: str) -> str:
    """The six keyed digits for the 13 product and unit digits ``body``."""
    mac = hmac.new(secret, _LABEL + body.encode("ascii"), hashlib.sha256).digest()
    return str(int.from_bytes(mac[:8], "big") % 10**KEY_DIGITS).zfill(KEY_DIGITS)


def mint(secret: bytes, product: int, unit: int) -> str:
    """The code of unit number ``unit`` of product number ``product``, keyed by ``secret``."""
    if not 1 <= product <= MAX_PRODUCT:
        raise ValueError(f"product number {product} is outside 1..{MAX_PRODUCT}")
    if not 1 <= unit <= MAX_UNIT:
        raise ValueError(f"unit number {unit} is outside 1..{MAX_UNIT}")
    body = f"{product:0{PRODUCT_DIGITS}d}{unit:0{UNIT_DIGITS}d}"
    body += key_digits(secret, body)
    return body + damm_check_digit(body)


def code_numbers(code: object) -> tuple[int, int] | None:
    """The product and unit numbers of a well-formed code (20 ASCII digits, a right Damm
    check digit, neither number 0), or None. The key digits are the server's to check."""
    if (not isinstance(code, str) or len(code) != LENGTH or not code.isascii()
            or not code.isdigit() or damm_check_digit(code[:-1]) != code[-1]):
        return None
    product = int(code[:PRODUCT_DIGITS])
    unit = int(code[PRODUCT_DIGITS:PRODUCT_DIGITS + UNIT_DIGITS])
    return (product, unit) if product and unit else None
