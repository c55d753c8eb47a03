"""scanners.codes, scanners.gs1 and scanners.gs1_lint on their own: GS1's 1,692 single-value
checks, each code form, each failure mode, and properties (round trips, nothing but CodeError
whatever the input, time linear in the input)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanners import gs1, gs1_lint, supervision_code
from scanners.codes import ParsedCode, gtin14, parse_code
from scanners.errors import CodeError
from scanners.gs1 import GS, GS1Data
from scanners.gs1_ais import AI_TABLE
from tests.conftest import SHARED

LINT_CASES: list[dict[str, Any]] = json.loads(
    (SHARED / "vectors" / "gs1-syntax" / "lint-components.json").read_text())["cases"]


def test_the_single_value_checks_are_all_here() -> None:
    assert len(LINT_CASES) == 1692


@pytest.mark.parametrize("case", LINT_CASES, ids=[c["id"] for c in LINT_CASES])
def test_lint_component(case: dict[str, Any]) -> None:
    """GS1's linter tests: the verdict, the error's name and the span it marks."""
    flaw = gs1_lint.run(case["linter"], case["value"])
    assert (flaw is None) == case["expect_ok"]
    if flaw is not None:
        value = case["value"]
        assert "GS1_LINTER_" + flaw.name.upper() == case["error"]
        end = flaw.pos + flaw.length
        assert f"{value[:flaw.pos]}*{value[flaw.pos:end]}*{value[end:]}" == case["highlight"]


def test_every_check_the_table_names_exists() -> None:
    named = {check for d in AI_TABLE.values() for c in d.components for check in c.checks}
    assert named <= set(gs1_lint.CHECKS)


# --- the forms ---------------------------------------------------------------------------

GTIN = "09521234543213"


def test_digital_link_on_any_domain_and_stem() -> None:
    parsed = parse_code(f"https://shop.example.cn/p/x/01/{GTIN}/10/AB%2FC?17=261231&utm=qr")
    assert parsed.kind == "digital_link"
    assert parsed.ais == (("01", GTIN), ("10", "AB/C"), ("17", "261231"))
    assert parsed.get("10") == "AB/C" and parsed.get("21") is None
    assert parsed.ignored_query_params == ("utm=qr",)
    assert parsed.element_string() == f"(01){GTIN}(10)AB/C(17)261231"
    assert parsed.digital_link("https://tracenet.test/") == \
        f"https://tracenet.test/01/{GTIN}/10/AB%2FC?17=261231"


def test_bracketed_and_scanner_forms_agree() -> None:
    bracketed = parse_code(f"(01){GTIN}(10)ABC123(17)261231")
    scanned = parse_code(f"]d201{GTIN}10ABC123{GS}17261231")
    raw = parse_code(f"01{GTIN}17261231" + "10ABC123")  # a decoder's text, no identifier
    assert bracketed.kind == "element_string" and scanned.kind == "scan_data"
    assert raw.kind == "element_string"
    assert bracketed.ais == scanned.ais
    assert sorted(raw.ais) == sorted(bracketed.ais)
    assert scanned.symbology == "GS1 DataMatrix"
    assert parse_code(f"{GS}01{GTIN}").ais == (("01", GTIN),)  # leading FNC1 as a GS


@pytest.mark.parametrize(("text", "expected"), [
    ("95012346", "00000095012346"), ("012345678905", "00012345678905"),
    ("9521234543213", GTIN), (GTIN, GTIN), (" 9521234543213 ", GTIN),
    ("9 521234 543213", GTIN), ("９５２１２３４５４３２１３", GTIN)])
def test_bare_gtins_are_normalised_to_14_digits(text: str, expected: str) -> None:
    parsed = parse_code(text)
    assert parsed.kind == "gtin" and parsed.ais == (("01", expected),)
    if text.strip().isascii() and text.strip().isdigit():
        assert gtin14(text) == expected


def test_full_width_typing_is_read() -> None:
    assert parse_code("（０１）０９５２１２３４５４３２１３（１０）ＡＢＣ").ais == \
        (("01", GTIN), ("10", "ABC"))


def test_ean_scan_is_a_gtin() -> None:
    assert parse_code("]E09521234543213").ais == (("01", GTIN),)


def test_supervision_code_and_its_link() -> None:
    code = supervision_code.mint(b"secret", 42, 7)
    parsed = parse_code(code)
    assert parsed.kind == "supervision_code" and parsed.ais == ()
    assert parsed.supervision is not None and parsed.supervision.product == 42
    assert parsed.digital_link("https://tracenet.test") == f"https://tracenet.test/c/{code}"
    grouped = f"{code[:6]} {code[6:13]} {code[13:]}"
    assert parse_code(grouped).supervision == parsed.supervision
    assert parse_code(f"https://tracenet.test/c/{code}").supervision == parsed.supervision
    assert parse_code(f"]Q1https://tracenet.test/c/{code}").kind == "supervision_code"


def test_supervision_code_typo_is_caught() -> None:
    code = supervision_code.mint(b"secret", 42, 7)
    typo = code[:3] + str((int(code[3]) + 1) % 10) + code[4:]
    with pytest.raises(CodeError, match="check digit") as error:
        parse_code(typo)
    assert error.value.code == "code.supervision.check_digit"


def test_twenty_digit_element_string_is_still_read() -> None:
    sscc = "(00)123456789012345675"
    assert parse_code("00123456789012345675").ais == parse_code(sscc).ais


# --- failures: one per mode, each named ----------------------------------------------------

@pytest.mark.parametrize(("text", "code", "field", "words"), [
    ("(01)09521234543214", "code.check_digit", "ai.01", "check digit is wrong"),
    (f"]C101{GTIN}10{'A' * 19}17261231", "code.ai.too_long", "ai.10", "separator"),
    (f"]C101{GTIN}301210ABC", "code.ai.non_digit_character", "ai.30", "separator"),
    ("(01)0952123454321", "code.ai.too_short", "ai.01", "at least 14"),
    (f"(01){GTIN}(17)261301", "code.ai.illegal_month", "ai.17", "month"),
    (f"(01){GTIN}(17)260230", "code.ai.illegal_day", "ai.17", "day"),
    (f"(01){GTIN}(10)AB CD", "code.ai.invalid_cset82_character", "ai.10", "character set"),
    ("(10)ABC", "code.ai.requires", "ai.10", r"\(01\)"),
    (f"(01){GTIN}(02){GTIN}", "code.ai.exclusive", "ai.02", "together"),
    ("(99)A(99)B", "code.ai.repeated", "ai.99", "different values"),
    ("(89)ABC", "code.ai.unknown", "ai.89", "not a GS1 Application Identifier"),
    (f"https://a/01/{GTIN}?10=ABC", "code.dl.belongs_in_path", "ai.10", "path"),
    ("https://a/10/ABC", "code.dl.no_key", "code", "primary key"),
    (f"https://a/01/{GTIN}/21/1/10/2", "code.dl.qualifiers", "code", "in order"),
    ("]X9ABC", "code.symbology.unsupported", "code", "symbology"),
    ("hello", "code.format", "code", "not a code"),
    ("", "code.empty", "code", "empty"),
    ("9" * 100_000, "code.too_long", "code", "at most"),
])
def test_failure_modes(text: str, code: str, field: str, words: str) -> None:
    with pytest.raises(CodeError, match=words) as error:
        parse_code(text)
    assert (error.value.code, error.value.field) == (code, field)


def test_no_digital_link_without_a_key() -> None:
    parsed = parse_code("(99)XYZ")
    with pytest.raises(CodeError, match="primary key"):
        parsed.digital_link("https://tracenet.test")


# --- the endpoint ------------------------------------------------------------------------

def test_endpoint_answers(client: FlaskClient) -> None:
    response = client.get("/api/v1/codes/parse",
                          query_string={"code": f"(17)261231(10)A+B(01){GTIN}"})
    assert response.status_code == 200
    assert response.get_json() == {
        "kind": "element_string", "ais": [["17", "261231"], ["10", "A+B"], ["01", GTIN]],
        "element_string": f"(17)261231(10)A+B(01){GTIN}",
        "digital_link": f"http://localhost/01/{GTIN}/10/A%2BB?17=261231", "symbology": None}


def test_endpoint_supervision_code(client: FlaskClient) -> None:
    code = supervision_code.mint(b"any", 1, 1)
    body = client.get("/api/v1/codes/parse", query_string={"code": code}).get_json()
    assert body == {"kind": "supervision_code", "ais": [], "element_string": None,
                    "digital_link": f"http://localhost/c/{code}", "symbology": None}


def test_endpoint_refuses_with_the_error_envelope(client: FlaskClient) -> None:
    response = client.get("/api/v1/codes/parse", query_string={"code": "(01)09521234543214"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "code.check_digit"
    assert response.get_json()["error"]["field"] == "ai.01"
    assert client.get("/api/v1/codes/parse").status_code == 422  # no code at all


def test_endpoint_takes_long_codes_posted(client: FlaskClient) -> None:
    code = f"(01){GTIN}(99)" + "A" * 90
    posted = client.post("/api/v1/codes/parse", json={"code": code})
    assert posted.status_code == 200
    assert posted.get_json() == client.get("/api/v1/codes/parse",
                                           query_string={"code": code}).get_json()
    refused = client.post("/api/v1/codes/parse", json={"code": "(01)09521234543214"})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == \
        "code.check_digit"
    assert client.post("/api/v1/codes/parse", json={"code": 12}).status_code == 422


def test_endpoint_is_documented(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for method in ("get", "post"):
        responses = spec["paths"]["/api/v1/codes/parse"][method]["responses"]
        assert {"200", "400"} <= set(responses)


# --- properties --------------------------------------------------------------------------

_CSET82 = sorted(gs1_lint.CSET82)


def _with_check_digit(body: str) -> str:
    return body + gs1_lint.gs1_check_digit(body)


@st.composite
def ai_data(draw: st.DrawFn) -> tuple[tuple[str, str], ...]:
    """Valid AI data about one trade item: a GTIN with some of its qualifiers and attributes."""
    text = st.text(alphabet=_CSET82, min_size=1, max_size=20)
    pairs = [("01", _with_check_digit(draw(st.from_regex(r"[0-9]{13}", fullmatch=True))))]
    if draw(st.booleans()):
        pairs.append(("22", draw(text)))
    if draw(st.booleans()):
        pairs.append(("10", draw(text)))
    if draw(st.booleans()):
        pairs.append(("21", draw(text)))
    if draw(st.booleans()):
        pairs.append(("17", draw(st.dates()).strftime("%y%m%d")))
    if draw(st.booleans()):
        pairs.append(("3103", draw(st.from_regex(r"[0-9]{6}", fullmatch=True))))
    if draw(st.booleans()):
        pairs.append(("99", draw(st.text(alphabet=_CSET82, min_size=1, max_size=90))))
    order = draw(st.permutations(pairs))
    return tuple(order)


@st.composite
def other_keys(draw: st.DrawFn) -> tuple[tuple[str, str], ...]:
    """Valid AI data keyed by the other primary keys: SSCC with content, GLN with extension,
    GIAI, ITIP with its qualifiers."""
    text = st.text(alphabet=_CSET82, min_size=1, max_size=20)

    def digits(count: int) -> str:
        return draw(st.from_regex(f"[0-9]{{{count}}}", fullmatch=True))

    kind = draw(st.sampled_from(["sscc", "gln", "giai", "itip"]))
    if kind == "sscc":
        pairs = [("00", _with_check_digit(digits(17))), ("02", _with_check_digit(digits(13))),
                 ("37", str(draw(st.integers(1, 99_999_999)))), ("10", draw(text))]
    elif kind == "gln":
        pairs = [("414", _with_check_digit(digits(12))), ("254", draw(text))]
    elif kind == "giai":
        pairs = [("8004", digits(4) + draw(st.text(alphabet=_CSET82, max_size=26)))]
    else:
        total = draw(st.integers(1, 99))
        piece = draw(st.integers(1, total))
        pairs = [("8006", _with_check_digit(digits(13)) + f"{piece:02d}{total:02d}"),
                 ("10", draw(text)), ("21", draw(text))]
    return tuple(draw(st.permutations(pairs)))


def _scanner_text(ais: tuple[tuple[str, str], ...]) -> str:
    """The data as a GS1-128 scanner gives it: a GS after each variable-length value."""
    out = "]C1"
    for index, (ai, value) in enumerate(ais):
        out += ai + value
        if not AI_TABLE[ai].fixed and index < len(ais) - 1:
            out += GS
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(ai_data(), other_keys()))
def test_every_form_reads_back_the_same_data(ais: tuple[tuple[str, str], ...]) -> None:
    from_string = parse_code(gs1.element_string(ais))
    assert from_string.ais == ais
    from_scan = parse_code(_scanner_text(ais))
    assert from_scan.ais == ais
    link = from_string.digital_link("https://tracenet.test")
    from_link = parse_code(link)
    assert sorted(from_link.ais) == sorted(ais)
    # a URI read back gives itself again, its path order kept
    assert from_link.digital_link("https://tracenet.test") == link
    assert parse_code(from_link.element_string()).ais == from_link.ais


_INTERESTING = "0123456789()\\%/?&=#+:;[]^|<> ]CdeQJE1234ABCabc\x1d\x00é中"
_PREFIXES = ["", "]C1", "]d2", "]Q1", "]Q1https://a/", "]E0", "(", "(01)", "(10)", "https://",
             "https://a/01/", f"https://a/01/{GTIN}?", "HTTP://a/", f"01{GTIN}", "12345"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_PREFIXES),
       st.one_of(st.text(alphabet=_INTERESTING, max_size=60), st.text(max_size=60)))
def test_nothing_but_code_error_whatever_the_input(prefix: str, rest: str) -> None:
    try:
        parsed = parse_code(prefix + rest)
    except CodeError as error:
        assert error.code.startswith("code.") and error.message
        return
    assert isinstance(parsed, ParsedCode)
    parsed.element_string()
    try:
        parsed.digital_link("https://tracenet.test")
    except CodeError:
        pass


_LONG_SHAPES = {
    "digits": "1" * 8192,
    "bracketed escapes": "(10)" + "\\(" * 4094,
    "many AIs": ("(99)A" * 1700)[:8192],
    "scanner separators": ("]C1" + f"99A{GS}" * 2800)[:8192],
    "query separators": f"https://a/01/{GTIN}?" + "&" * 8000,
    "query params": (f"https://a/01/{GTIN}?" + "x=1&" * 2100)[:8192],
    "path segments": ("https://a/" + "99/A/" * 1700)[:8192],
    "percent signs": (f"https://a/01/{GTIN}?99=" + "%" * 8000)[:8192],
    "bracket soup": "(" * 8192,
}


@pytest.mark.parametrize("shape", list(_LONG_SHAPES))
def test_long_inputs_take_linear_time(shape: str) -> None:
    """Each pathological shape at the longest length read is answered in well under a second,
    and a 100 kB input is refused before it is read."""
    text = _LONG_SHAPES[shape]
    started = time.perf_counter()
    try:
        parse_code(text)
    except CodeError:
        pass
    assert time.perf_counter() - started < 1.0
    started = time.perf_counter()
    with pytest.raises(CodeError, match="at most"):
        parse_code(text * 13)
    assert time.perf_counter() - started < 0.05


def test_digital_link_of_read_data_is_unchanged_by_reading() -> None:
    data = GS1Data((("01", GTIN), ("235", "XYZ"), ("10", "DEF")), dl_path=2)
    assert gs1.digital_link(data, "https://a") == f"https://a/01/{GTIN}/235/XYZ?10=DEF"
