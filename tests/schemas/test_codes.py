"""Identifier validators: check characters catch every single-character substitution."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields

from schemas.codes import (
    GTIN_LENGTHS,
    LOT_CHARSET,
    SC_PROVINCES,
    GTINField,
    LotField,
    RFC3339Field,
    USCCField,
    gs1_check_digit,
    gtin14,
    validate_amount,
    validate_gtin,
    validate_lot,
    validate_sc_licence,
)
from schemas.events import EnterpriseRegisteredSchema
from schemas.identifiers import USCC_ALPHABET, uscc_check_character, validate_uscc
from schemas.messages import field_messages

DIGITS = "0123456789"

# --- GTIN ------------------------------------------------------------------------------------


@st.composite
def gtins(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from(GTIN_LENGTHS))
    body = draw(st.text(alphabet=DIGITS, min_size=length - 1, max_size=length - 1))
    return body + gs1_check_digit(body)


@pytest.mark.parametrize("code", ["96385074", "036000291452", "4006381333931",
                                  "6901234567892", "10614141000415", "00012345600012"])
def test_known_gtins(code: str) -> None:
    assert validate_gtin(code) == code
    assert gtin14(code) == code.zfill(14)


def test_check_digit_examples() -> None:
    assert gs1_check_digit("03600029145") == "2"  # GS1's UPC-A example
    assert gs1_check_digit("400638133393") == "1"
    with pytest.raises(ValueError, match="ASCII digits"):
        gs1_check_digit("12a")
    with pytest.raises(ValueError, match="ASCII digits"):
        gs1_check_digit("")


@given(gtins())
def test_generated_gtins_are_accepted(code: str) -> None:
    assert validate_gtin(code) == code
    padded = gtin14(code)
    assert len(padded) == 14 and validate_gtin(padded) == padded


@given(gtins(), st.data())
def test_any_single_digit_substitution_in_a_gtin_is_rejected(code: str, data: st.DataObject
                                                              ) -> None:
    position = data.draw(st.integers(0, len(code) - 1))
    digit = data.draw(st.sampled_from(DIGITS).filter(lambda d: d != code[position]))
    changed = code[:position] + digit + code[position + 1:]
    expected = gs1_check_digit(changed[:-1])
    with pytest.raises(ValidationError,
                       match=f"^GTIN check digit should be {expected}, got {changed[-1]}$"):
        validate_gtin(changed)


def test_every_single_digit_substitution_in_a_gtin_is_rejected_exhaustively() -> None:
    # The check is linear, so whether changing digit a to b at a position is caught does not
    # depend on the other digits: one base code per (length, position, a) covers every GTIN.
    for length in GTIN_LENGTHS:
        bases: list[tuple[int, str]] = []
        for position in range(length - 1):
            for digit in DIGITS:
                body = "0" * position + digit + "0" * (length - 2 - position)
                bases.append((position, body + gs1_check_digit(body)))
        for digit in DIGITS:  # varying the first digit yields every check digit
            body = digit + "0" * (length - 2)
            bases.append((length - 1, body + gs1_check_digit(body)))
        assert {code[-1] for position, code in bases if position == length - 1} == set(DIGITS)
        for position, code in bases:
            for digit in DIGITS.replace(code[position], ""):
                changed = code[:position] + digit + code[position + 1:]
                with pytest.raises(ValidationError, match="^GTIN check digit should be"):
                    validate_gtin(changed)


@pytest.mark.parametrize(("value", "message"), [
    ("690123456789", "^GTIN check digit should be 7, got 9$"),  # read as GTIN-12
    ("6901234567891", "^GTIN check digit should be 2, got 1$"),
    ("690123456789X", "^a GTIN has digits 0-9 only$"),
    ("６９０１２３４５６７８９２", "^a GTIN has digits 0-9 only$"),
    (" 6901234567892", "^a GTIN has digits 0-9 only$"),
    ("", "^a GTIN has digits 0-9 only$"),
    ("1234567", "^a GTIN has 8, 12, 13 or 14 digits, got 7$"),
    ("123456789012345", "^a GTIN has 8, 12, 13 or 14 digits, got 15$"),
])
def test_bad_gtins(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_gtin(value)
    with pytest.raises(ValidationError, match=message):
        gtin14(value)


# --- USCC ------------------------------------------------------------------------------------


@st.composite
def usccs(draw: st.DrawFn) -> str:
    head = draw(st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2))
    division = draw(st.text(alphabet=DIGITS, min_size=6, max_size=6))
    rest = draw(st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9))
    first17 = head + division + rest
    return first17 + uscc_check_character(first17)


def _uscc_substitution_message(changed: str, position: int) -> str:
    if 2 <= position < 8 and not changed[position].isdigit():
        return "administrative division code"
    expected = uscc_check_character(changed[:17])
    return f"^check character should be '{expected}', got '{changed[17]}'$"


@given(usccs())
def test_generated_usccs_are_accepted(code: str) -> None:
    assert validate_uscc(code) == code


@given(usccs(), st.data())
def test_any_single_character_substitution_in_a_uscc_is_rejected(code: str,
                                                                  data: st.DataObject) -> None:
    position = data.draw(st.integers(0, 17))
    char = data.draw(st.sampled_from(USCC_ALPHABET).filter(lambda c: c != code[position]))
    changed = code[:position] + char + code[position + 1:]
    with pytest.raises(ValidationError, match=_uscc_substitution_message(changed, position)):
        validate_uscc(changed)


def test_every_single_character_substitution_in_a_uscc_is_rejected_exhaustively() -> None:
    # Weighted sum mod 31 (a prime) with no weight divisible by 31: changing one character
    # by delta != 0 (|delta| < 31) changes the sum by weight * delta != 0 (mod 31). The sum is
    # linear, so one base code per (position, original character) covers every USCC.
    base = "91350100M000100Y4"
    bases: list[tuple[int, str]] = []
    for position in range(17):
        for char in DIGITS if 2 <= position < 8 else USCC_ALPHABET:
            first17 = base[:position] + char + base[position + 1:]
            bases.append((position, first17 + uscc_check_character(first17)))
    for char in USCC_ALPHABET:  # varying the first character yields every check character
        first17 = char + base[1:]
        bases.append((17, first17 + uscc_check_character(first17)))
    assert {code[17] for position, code in bases if position == 17} == set(USCC_ALPHABET)
    for position, code in bases:
        assert validate_uscc(code) == code
        for char in USCC_ALPHABET.replace(code[position], ""):
            changed = code[:position] + char + code[position + 1:]
            with pytest.raises(ValidationError,
                               match=_uscc_substitution_message(changed, position)):
                validate_uscc(changed)


# --- SC food production licence --------------------------------------------------------------


@st.composite
def sc_licences(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from("12"))
    province = draw(st.sampled_from(sorted(SC_PROVINCES)))
    digits = draw(st.text(alphabet=DIGITS, min_size=11, max_size=11))
    return f"SC{kind}{digits[:2]}{province}{digits[2:]}"


@given(sc_licences())
def test_well_formed_sc_licences_are_accepted(number: str) -> None:
    assert validate_sc_licence(number) == number


@pytest.mark.parametrize(("value", "message"), [
    ("sc10635010200015", "SC followed by 14 digits"),
    ("SC1063501020001", "SC followed by 14 digits"),
    ("SC106350102000155", "SC followed by 14 digits"),
    ("SC1063501020001X", "SC followed by 14 digits"),
    ("SC１0635010200015", "SC followed by 14 digits"),
    ("QS10635010200015", "SC followed by 14 digits"),
    ("SC30635010200015", "must be 1 \\(food\\) or 2 \\(food additive\\), got 3"),
    ("SC10699010200015", "99 is not a province of mainland China"),
    ("SC10671010200015", "71 is not a province of mainland China"),
])
def test_bad_sc_licences(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_sc_licence(value)


# --- lot -------------------------------------------------------------------------------------


def test_lot_charset_is_gs1_set_82() -> None:
    listed = "!\"%&'()*+,-./" + DIGITS + ":;<=>?" + string.ascii_uppercase + "_" + \
        string.ascii_lowercase
    assert LOT_CHARSET == frozenset(listed)
    assert len(LOT_CHARSET) == 82
    # characters people expect but GS1 leaves out (they clash with barcode syntax)
    assert not LOT_CHARSET & set(" #$@[\\]^`{|}~")


LOT_ALPHABET = "".join(sorted(LOT_CHARSET))
OUTSIDE = st.characters().filter(lambda c: c not in LOT_CHARSET)


@given(st.text(alphabet=LOT_ALPHABET, min_size=1, max_size=20))
def test_lots_over_set_82_up_to_20_are_accepted(lot: str) -> None:
    assert validate_lot(lot) == lot


@given(st.text(alphabet=LOT_ALPHABET, max_size=19), OUTSIDE, st.data())
def test_lots_with_a_character_outside_set_82_are_rejected(lot: str, bad: str,
                                                           data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(lot)))
    changed = lot[:position] + bad + lot[position:]
    with pytest.raises(ValidationError,
                       match=f"^character .+ at position {position + 1} is not allowed"):
        validate_lot(changed)


@given(st.text(alphabet=LOT_ALPHABET, min_size=21, max_size=21))
def test_lots_of_21_characters_are_rejected(lot: str) -> None:
    with pytest.raises(ValidationError, match="^a lot number has at most 20 characters, got 21$"):
        validate_lot(lot)


def test_empty_lot_is_rejected() -> None:
    with pytest.raises(ValidationError, match="^a lot number needs at least 1 character$"):
        validate_lot("")


# --- fields ----------------------------------------------------------------------------------


class ShipmentSchema(Schema):
    gtin = GTINField(required=True)
    gtin_as_sent = GTINField(as_gtin14=False)
    producer = USCCField()
    lot = LotField()
    shipped_at = RFC3339Field()
    level = fields.String(validate=validate_amount)


def test_fields_load_and_normalise() -> None:
    loaded = ShipmentSchema().load({
        "gtin": "6901234567892", "gtin_as_sent": "6901234567892",
        "producer": "91350100M000100Y43", "lot": "L2026-11/A",
        "shipped_at": "2026-11-26T08:30:00+08:00", "level": "0.5",
    })
    assert loaded["gtin"] == "06901234567892"
    assert loaded["gtin_as_sent"] == "6901234567892"
    assert loaded["shipped_at"] == "2026-11-26T08:30:00+08:00"
    assert loaded["level"] == "0.5"


def test_fields_report_each_bad_value() -> None:
    with pytest.raises(ValidationError) as caught:
        ShipmentSchema().load({
            "gtin": "6901234567891", "producer": "91350100M000100Y44",
            "lot": "L 1", "shipped_at": "2026-11-26 08:30", "level": "1e3",
        })
    messages = caught.value.messages
    assert isinstance(messages, dict)
    assert messages["gtin"] == ["GTIN check digit should be 2, got 1"]
    assert messages["producer"] == ["check character should be '3', got '4'"]
    assert messages["lot"] == [
        "character ' ' at position 2 is not allowed in a lot number (GS1 character set 82: "
        "letters, digits and !\"%&'()*+,-./:;<=>?_)"]
    assert "RFC 3339" in messages["shipped_at"][0]
    assert messages["level"] == ["expected a plain decimal number"]


def test_enterprise_registration_checks_an_sc_licence() -> None:
    registration = {"uscc": "91350100M000100Y43", "name": "闽榕乳业", "roles": ["producer"],
                    "district": "福州市闽侯县"}
    loaded = EnterpriseRegisteredSchema().load({**registration,
                                                "licences": {"SC": "SC10535012100053"}})
    assert loaded["licences"] == {"SC": "SC10535012100053"}
    with pytest.raises(ValidationError) as caught:
        EnterpriseRegisteredSchema().load({**registration, "licences": {"SC": "SC1"}})
    assert list(field_messages(caught.value.messages)) == [
        (("licences", "SC"), ["a food production licence number is SC followed by 14 digits, "
                              "e.g. SC10635010200015"])]


def test_fields_carry_openapi_metadata() -> None:
    field = GTINField(metadata={"example": "96385074"})
    assert field.metadata["example"] == "96385074"
    assert "check digit" in field.metadata["description"]
    assert USCCField().metadata["example"] == "91350100M000100Y43"
