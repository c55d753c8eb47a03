"""The answer of ``POST /api/v1/scan``: the codes read off a photo, each parsed, and what a
shopper may see of the first one that names a product, lot or unit."""

from __future__ import annotations

from marshmallow import Schema, fields

__all__ = ["ScanResultSchema", "ScannedCodeSchema"]


class CodeProblemSchema(Schema):
    """Why a code read off the photo is not a code Tracenet can look up."""

    code = fields.String(required=True, metadata={"example": "code.unrecognised"})
    message = fields.String(required=True)
    field = fields.String(allow_none=True, metadata={"example": "code"})


class ScannedCodeSchema(Schema):
    """One code read off the photo."""

    format = fields.String(required=True, metadata={
        "description": "the symbology: QRCode, DataMatrix, EAN13, EAN8, UPCA, UPCE, Code128, "
                       "ITF, DataBar, DataBarExpanded, DataBarLimited, MicroQRCode",
        "example": "DataMatrix"})
    text = fields.String(required=True, metadata={
        "description": "the raw content as a scanner delivers it: GS1 field separators as GS "
                       "(ASCII 29, \\u001d), no leading FNC1; a UPC-A as its 13-digit EAN-13 "
                       "form", "example": "0109521234543213\u001d10ABC123"})
    symbology = fields.String(required=True, metadata={
        "description": "the AIM symbology identifier when the decoder reports it (]d2 is GS1 "
                       "Data Matrix, ]C1 GS1-128, ]Q3 a GS1 QR code, ]e0 DataBar), else ''",
        "example": "]d2"})
    kind = fields.String(allow_none=True, required=True, metadata={
        "description": "what scanners.codes.parse_code made of the text (digital_link, "
                       "element_string, scan_data, gtin, supervision_code); null when it is "
                       "none of them (see error)", "example": "scan_data"})
    ais = fields.List(fields.List(fields.String()), required=True, metadata={
        "description": "[AI, value] pairs in the order read (empty for a supervision code or "
                       "a text that is not a code)",
        "example": [["01", "09521234543213"], ["10", "ABC123"]]})
    element_string = fields.String(allow_none=True, required=True, metadata={
        "description": "the bracketed element string; null when there are no AIs",
        "example": "(01)09521234543213(10)ABC123"})
    error = fields.Nested(CodeProblemSchema, allow_none=True, required=True, metadata={
        "description": "why the text could not be parsed (a bad check digit, a plain URL…); "
                       "null when it was"})


class ScanResultSchema(Schema):
    """Every code found on the photo, and the lookup of the first one that names a product, a
    lot or a unit."""

    codes = fields.List(fields.Nested(ScannedCodeSchema), required=True)
    lookup = fields.Dict(allow_none=True, required=True, metadata={
        "description": "what a shopper may see of the first code that names a product, lot or "
                       "unit (the first of them found on the ledger, if any is): the same "
                       "answer as the shopper's page, from ledger.consumer.lookup_code; a unit "
                       "code's query is counted. null when no code names one"})
