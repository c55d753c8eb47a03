"""Any code a package carries, read into GS1 Application Identifiers: the one entry point.

:func:`parse_code` tells the forms apart by their first characters and hands each to its
reader (``kind`` in brackets):

- a GS1 Digital Link URI, any domain and path stem:
  ``https://id.example.com/01/09521234543213/10/ABC?17=251231`` (digital_link);
- a bracketed element string, ``(01)09521234543213(10)ABC`` (element_string);
- scanner output with a symbology identifier: ``]C1 ]e0 ]d2 ]Q3 ]J1`` then AI data with a GS
  after each variable-length value, ``]E0 ]E4`` then an EAN-13 / EAN-8, ``]Q1 ]d1 ]J0`` then
  plain data such as a Digital Link URI (scan_data);
- AI data as decoders give it, without a symbology identifier:
  ``0109521234543213`` GS ``10ABC`` (element_string);
- a bare GTIN-8, -12, -13 or -14, normalised to 14 digits (gtin);
- Tracenet's 20-digit supervision code, or its link ``https://host/c/<code>``
  (supervision_code; see :mod:`scanners.supervision_code`).

Everything read is validated as :mod:`scanners.gs1` describes; what fails raises
:class:`~scanners.errors.CodeError` with a stable code, a message a person can act on and the
field (``code`` or ``ai.NN``) it concerns. Nothing else is raised, whatever the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanners import gs1, supervision_code
from scanners.errors import CodeError
from scanners.gs1 import GS, GS1Data, Options, PlainData
from scanners.gs1_lint import gs1_check_digit
from scanners.supervision_code import SupervisionCode

__all__ = ["KINDS", "ParsedCode", "gtin14", "parse_code"]

KINDS = ("digital_link", "element_string", "scan_data", "gtin", "supervision_code")


@dataclass(frozen=True)
class ParsedCode:
    """A code read off a package: its form, its AIs in the order read, and for a supervision
    code its parts (then ``ais`` is empty)."""

    kind: str
    ais: tuple[tuple[str, str], ...]
    supervision: SupervisionCode | None = None
    #: for a Digital Link URI: how many of ``ais`` came from its path (kept in that order)
    dl_path: int = 0
    #: the barcode symbology the scanner reported, when it did
    symbology: str | None = None
    #: query parameters of a Digital Link URI that are not AIs, skipped
    ignored_query_params: tuple[str, ...] = field(default=())
    #: the validation options it was read under, which its Digital Link follows too
    options: Options = field(default=gs1.DEFAULT_OPTIONS, compare=False, repr=False)

    def get(self, ai: str) -> str | None:
        """The value of the first ``ai`` in the code, or None."""
        return next((value for key, value in self.ais if key == ai), None)

    def element_string(self) -> str:
        """The bracketed element string, ``(01)…(10)…``; empty for a supervision code."""
        return gs1.element_string(self.ais)

    def digital_link(self, base: str) -> str:
        """The GS1 Digital Link URI under ``base`` (``https://host``), or for a supervision code
        ``base/c/<code>``. Raises CodeError when the data has no primary key a Digital Link
        can use, or an AI that may not be a data attribute."""
        if self.supervision is not None:
            return f"{base.rstrip('/')}/c/{self.supervision.text}"
        return gs1.digital_link(GS1Data(self.ais, dl_path=self.dl_path), base, self.options)


def gtin14(text: str) -> str:
    """A GTIN-8, -12, -13 or -14 as 14 digits, its check digit verified."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) not in (8, 12, 13, 14):
        raise CodeError("code.gtin.format",
                        f"a GTIN is 8, 12, 13 or 14 digits; got {text[:40]!r}", "ai.01")
    if gs1_check_digit(digits[:-1]) != digits[-1]:
        raise CodeError("code.check_digit",
                        f"the GTIN {digits}'s check digit is wrong: "
                        f"it should end in {gs1_check_digit(digits[:-1])}", "ai.01")
    return digits.zfill(14)


def _from(kind: str, data: GS1Data, options: Options) -> ParsedCode:
    return ParsedCode(kind=kind, ais=data.ais, dl_path=data.dl_path, symbology=data.symbology,
                      ignored_query_params=data.ignored_query_params, options=options)


def _supervision(text: str) -> ParsedCode:
    parsed = supervision_code.parse(text)
    return ParsedCode(kind="supervision_code", ais=(), supervision=parsed)


def _supervision_link(text: str) -> str | None:
    """The code of a Tracenet supervision link ``http(s)://host/…/c/<20 digits>``, if it is one."""
    path = text.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    head, _, code = path.rpartition("/")
    if head.endswith("/c") and len(code) == supervision_code.LENGTH and code.isascii() \
            and code.isdigit():
        return code
    return None


def _parse(text: str, options: Options, *, scanned: bool) -> ParsedCode:
    if not text:
        raise CodeError("code.empty", "the code is empty")
    if len(text) > gs1.MAX_LENGTH:
        raise CodeError("code.too_long",
                        f"a code is at most {gs1.MAX_LENGTH} characters; got {len(text)}")
    if text.startswith("]") and not scanned:
        result = gs1.parse_scan_data(text, options)
        if isinstance(result, PlainData):
            return _plain(result, options)
        return _from("scan_data", result, options)
    if gs1.is_digital_link(text):
        code = _supervision_link(text)
        if code is not None:
            return _supervision(code)
        return _from("digital_link", gs1.parse_digital_link(text, options), options)
    if text.startswith("("):
        return _from("element_string", gs1.parse_bracketed(text, options), options)
    compact = text.replace(" ", "").replace("-", "")
    if compact.isascii() and compact.isdigit() and len(compact) == supervision_code.LENGTH:
        try:
            return _supervision(compact)
        except CodeError:
            if text.isdigit():  # it may be an element string such as (00) + an SSCC
                try:
                    data = gs1.parse_unbracketed(text, options)
                    return _from("element_string", data, options)
                except CodeError:
                    pass
            raise
    if compact.isascii() and compact.isdigit() and len(compact) in (8, 12, 13, 14):
        # as printed under an EAN-13, "6 901234 567892", or typed with hyphens
        return ParsedCode(kind="gtin", ais=(("01", gtin14(compact)),), options=options)
    if text[:2].isascii() and text[:2].isdigit() or text.startswith(GS):
        # decoders often give GS1 data without its symbology identifier, some with the
        # leading FNC1 as a GS
        data = gs1.parse_unbracketed(text.removeprefix(GS), options)
        return _from("element_string", data, options)
    raise CodeError("code.format",
                    "not a code Tracenet reads: expected a GS1 Digital Link URI, a GS1 element "
                    "string, a GTIN or a 20-digit supervision code")


def _plain(result: PlainData, options: Options) -> ParsedCode:
    """Plain data in a QR Code / DataMatrix / DotCode: read it as if it had been typed."""
    try:
        parsed = _parse(result.text, options, scanned=True)
    except CodeError as error:
        raise CodeError(error.code, f"the {result.symbology} holds plain data: {error.message}",
                        error.field) from None
    return ParsedCode(kind="scan_data" if parsed.kind != "supervision_code" else parsed.kind,
                      ais=parsed.ais, supervision=parsed.supervision, dl_path=parsed.dl_path,
                      symbology=result.symbology,
                      ignored_query_params=parsed.ignored_query_params, options=options)


def parse_code(text: str, options: Options | None = None) -> ParsedCode:
    """Read any code form Tracenet knows (see the module docstring) into a :class:`ParsedCode`.

    Raises :class:`~scanners.errors.CodeError`, and nothing else, when the text is not a
    valid code. ``options`` relaxes GS1's default validation for legacy data (tests use it to
    follow GS1's reference engine under its non-default settings).
    """
    if not isinstance(text, str):
        raise CodeError("code.format", "a code is text")
    if not text.isascii():
        # typed with a Chinese input method in full-width mode: （０１）６９０１…
        text = text.translate(_FULL_WIDTH)
    return _parse(text.strip(" \t\r\n"), options or gs1.DEFAULT_OPTIONS, scanned=False)


#: full-width ASCII forms (U+FF01-U+FF5E) and the ideographic space, to their ASCII characters
_FULL_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}
