"""Reading codes off a photo (public): ``POST /api/v1/scan`` with the photo as the multipart
field ``image``.

The photo is decoded by :func:`scanners.images.decode_image` (PNG, JPEG, WebP or HEIC; bounded
by bytes, pixels and time), each code's text parsed by :func:`scanners.codes.parse_code`, and
the first code that names a product, lot or unit looked up as the shopper's page does. A photo
that cannot be read is a 4xx naming the problem (field ``image``): 400 nothing sent, 413 too
many bytes or pixels or a decompression bomb, 415 not an image we read, 422 a truncated or
corrupt file or no code found.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint

from ledger.consumer import DEFAULT_WARNING_THRESHOLD, Lookup, lookup_code
from scanners.codes import ParsedCode, parse_code
from scanners.errors import CodeError
from scanners.images import MAX_BYTES, Decoded, decode_image
from schemas.scan import ScanResultSchema
from web.api.codes import CodeErrorSchema
from web.db import get_runtime, get_session
from web.errors import ApiError

blp = Blueprint("scan", __name__, url_prefix="/api/v1",
                description="Reading codes off a photo of a package")

_ERRORS = {
    "400": "no photo in the multipart field 'image' (image.missing), or an empty one "
           "(image.empty)",
    "413": "more than 20 MiB or 40 megapixels, or a decompression bomb (image.too_large)",
    "415": "not a PNG, JPEG, WebP or HEIC image (image.unsupported)",
    "422": "a truncated or corrupt image (image.unreadable), or no code found on it "
           "(image.no_code)",
}


@blp.post("/scan")
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["image"], "properties": {"image": {
        "type": "string", "format": "binary",
        "description": "the photo: PNG, JPEG, WebP or HEIC, at most 20 MiB and 40 "
                       "megapixels"}}}}}},
    responses={status: {"description": text, "content": {"application/json": {
        "schema": CodeErrorSchema}}} for status, text in _ERRORS.items()})
@blp.response(200, ScanResultSchema)
def scan() -> dict[str, Any]:
    """Read every barcode and QR code on a photo: each code's format, raw text (GS1 separators
    as GS) and parsed Application Identifiers, and what a shopper may see of the first code that
    names a product, lot or unit (a unit code's query is counted, as on the shopper's page)."""
    upload = request.files.get("image")
    if upload is None:
        raise ApiError(400, "image.missing", "send the photo as the multipart/form-data field "
                       "'image'", "image")
    # One byte more than the limit is enough to know the photo is too large; the upload's
    # spooled temporary file is closed at once, not when the garbage collector finds it.
    with upload.stream as stream:
        data = stream.read(MAX_BYTES + 1)
    decoded = decode_image(data)
    parsed = [_parsed(code) for code in decoded]
    return {"codes": [_code_body(code, result) for code, result in zip(decoded, parsed,
                                                                        strict=True)],
            "lookup": _lookup([result for result in parsed if isinstance(result, ParsedCode)])}


def _parsed(code: Decoded) -> ParsedCode | CodeError:
    try:
        return parse_code(code.scanned_text())
    except CodeError as exc:  # a code that is not ours to look up is still reported
        return exc


def _code_body(code: Decoded, parsed: ParsedCode | CodeError) -> dict[str, Any]:
    body: dict[str, Any] = {"format": code.format, "text": code.text,
                            "symbology": code.symbology}
    if isinstance(parsed, CodeError):
        return {**body, "kind": None, "ais": [], "element_string": None,
                "error": {"code": parsed.code, "message": parsed.message,
                          "field": parsed.field}}
    return {**body, "kind": parsed.kind, "ais": [list(pair) for pair in parsed.ais],
            "element_string": parsed.element_string() or None, "error": None}


def _lookup(parsed: list[ParsedCode]) -> dict[str, Any] | None:
    """The lookup of the first code that names something (a GTIN or a supervision code),
    preferring the first one found on the ledger; only the answer given is counted."""
    keyed = [code for code in parsed if code.supervision is not None or code.get("01")]
    if not keyed:
        return None
    session = get_session()
    secret = get_runtime().code_secret
    threshold = int(current_app.config.get("QUERY_WARNING_THRESHOLD")
                    or DEFAULT_WARNING_THRESHOLD)
    chosen = keyed[0]
    if len(keyed) > 1:
        chosen = next((code for code in keyed if _found(
            lookup_code(session, code, code_secret=secret, count=False))), chosen)
    found = lookup_code(session, chosen, code_secret=secret, count=True, threshold=threshold)
    session.commit()  # the unit code's query count
    return found.as_json()


def _found(lookup: Lookup) -> bool:
    return lookup.found if lookup.level == "unit" else lookup.product.found
