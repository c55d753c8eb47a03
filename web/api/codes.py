"""Reading a code (public): any code form Tracenet knows, into GS1 Application Identifiers."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from scanners.codes import KINDS, parse_code
from scanners.errors import CodeError

blp = Blueprint("codes", __name__, url_prefix="/api/v1",
                description="Reading codes: GS1 Digital Link, element strings, scanner "
                            "output, GTINs and supervision codes")


class CodeQuery(Schema):
    code = fields.String(required=True, metadata={
        "description": "the code as scanned or typed: a GS1 Digital Link URI, a bracketed "
                       "element string, scanner output with its symbology identifier (GS, "
                       "ASCII 29, for FNC1), a GTIN-8/12/13/14 or a 20-digit supervision code",
        "example": "(01)09521234543213(10)ABC123(17)251231"})


class ParsedCodeSchema(Schema):
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    ais = fields.List(fields.List(fields.String(), validate=lambda pair: len(pair) == 2),
                      required=True, metadata={
                          "description": "[AI, value] pairs in the order read (empty for a "
                                         "supervision code)",
                          "example": [["01", "09521234543213"], ["10", "ABC123"]]})
    element_string = fields.String(allow_none=True, required=True, metadata={
        "description": "the bracketed element string, a '(' in a value written '\\('; null "
                       "for a supervision code",
        "example": "(01)09521234543213(10)ABC123"})
    digital_link = fields.String(allow_none=True, required=True, metadata={
        "description": "the GS1 Digital Link URI on this service (https://host/c/<code> for "
                       "a supervision code); null when the data has no primary key a Digital "
                       "Link can use",
        "example": "https://tracenet.example/01/09521234543213/10/ABC123"})
    symbology = fields.String(allow_none=True, metadata={
        "description": "the barcode symbology named by the scanner's symbology identifier"})


class CodeErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={
        "description": "stable error code: code.check_digit, code.ai.too_long, "
                       "code.ai.requires, code.dl.no_key…", "example": "code.check_digit"})
    message = fields.String(required=True, metadata={
        "example": "(01)09521234543214: its check digit is wrong (01)0952123454321|4|"})
    field = fields.String(allow_none=True, metadata={
        "description": "'code', or the AI concerned as ai.NN", "example": "ai.01"})


class CodeErrorSchema(Schema):
    error = fields.Nested(CodeErrorDetailSchema, required=True)


@blp.get("/codes/parse")
@blp.arguments(CodeQuery, location="query")
@blp.response(200, ParsedCodeSchema)
@blp.alt_response(400, schema=CodeErrorSchema,
                  description="the code is not valid: which rule it breaks, and where")
def parse(query: dict[str, Any]) -> dict[str, Any]:
    """Read a code into GS1 Application Identifiers, validated as the GS1 General
    Specifications require (public, no token)."""
    return _answer(query["code"])


@blp.post("/codes/parse")
@blp.arguments(CodeQuery, location="json")
@blp.response(200, ParsedCodeSchema)
@blp.alt_response(400, schema=CodeErrorSchema,
                  description="the code is not valid: which rule it breaks, and where")
def parse_posted(body: dict[str, Any]) -> dict[str, Any]:
    """The same, the code in a JSON body ``{"code": …}``: for codes longer than a URL
    carries (a GS1 QR Code holds up to 7,089 characters)."""
    return _answer(body["code"])


def _answer(code: str) -> dict[str, Any]:
    parsed = parse_code(code)
    base = request.host_url.rstrip("/")
    try:
        link: str | None = parsed.digital_link(base)
    except CodeError:
        link = None  # valid GS1 data without a key a Digital Link can use, e.g. (99) alone
    return {"kind": parsed.kind, "ais": [list(pair) for pair in parsed.ais],
            "element_string": parsed.element_string() if parsed.supervision is None else None,
            "digital_link": link, "symbology": parsed.symbology}
