"""Exports a regulator asks for: the FSMA 204 electronic sortable spreadsheet (CSV or XLSX).

Regulators export every event; an enterprise the events it is party to, as the API's record
listings show them. Parameters are checked by :func:`ledger.export.fsma204.parse_request`
before anything is read, so a bad one is a 400 naming its field, and the CSV is streamed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ledger.export import fsma204
from web.api.security import BEARER
from web.auth import authenticated_viewer
from web.db import get_session

blp = Blueprint("exports", __name__, url_prefix="/api/v1/exports",
                description="Spreadsheets for regulators (FSMA 204)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
_FORMATS = {"csv": CSV, "xlsx": XLSX}
#: an XLSX workbook is a zip, written whole: kept in memory up to this size, then on disk
_SPOOL = 8 * 1024 * 1024


class Fsma204Query(Schema):
    """Which events to export. Every value is read as text and checked by the ledger, so that
    each mistake is a 400 with the field it is in."""

    start = fields.String(data_key="from", load_default=None, metadata={
        "description": "first event date, YYYY-MM-DD (the event's date as recorded; required)",
        "example": "2026-10-01"})
    end = fields.String(data_key="to", load_default=None, metadata={
        "description": "last event date, inclusive (required)", "example": "2026-11-30"})
    lot = fields.String(load_default=None, metadata={"description": "only this lot's events"})
    gtin = fields.String(load_default=None, metadata={
        "description": "only this GTIN's events (14 digits)"})
    format = fields.String(load_default="csv", metadata={
        "description": "csv (streamed, UTF-8) or xlsx", "enum": ["csv", "xlsx"]})


_ERROR = {"application/json": {"schema": {"type": "object", "properties": {"error": {
    "type": "object", "required": ["code", "message", "field"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "field": {"type": "string", "nullable": True}}}}}}}

_RESPONSES = {
    "200": {"description": "the spreadsheet: a header row of the template's columns, then one "
                           "row per critical tracking event, sorted by traceability lot code "
                           "and event time",
            "content": {CSV: {"schema": {"type": "string"}},
                        XLSX: {"schema": {"type": "string", "format": "binary"}}}},
    "400": {"description": "a bad parameter (invalid_export): a date that is missing or not "
                           "YYYY-MM-DD, to before from, a range over ten years, a bad lot, "
                           "gtin or format", "content": _ERROR},
    "401": {"description": "no or an unknown API token", "content": _ERROR},
}


@blp.get("/fsma204")
@blp.arguments(Fsma204Query, location="query")
@blp.doc(security=BEARER, responses=_RESPONSES)
def fsma204_export(query: dict[str, Any]) -> Response:
    """The FDA's FSMA 204 electronic sortable spreadsheet of the critical tracking events
    dated from ``from`` to ``to`` (optionally of one lot): regulators get every event, an
    enterprise the events it is party to."""
    session = get_session()
    viewer = authenticated_viewer(session)
    request = fsma204.parse_request(start=query["start"], end=query["end"], lot=query["lot"],
                                    gtin=query["gtin"])
    media_type = _FORMATS.get(query["format"])
    if media_type is None:
        raise fsma204.ExportError("format must be csv or xlsx", field="format")
    rows = fsma204.export_rows(session, request, viewer=viewer)
    name = f"fsma204-{request.start}-{request.end}.{query['format']}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"',
               "Cache-Control": "private, no-store"}
    if media_type == CSV:
        return Response(stream_with_context(fsma204.csv_chunks(rows)),
                        mimetype="text/csv", headers=headers,
                        content_type="text/csv; charset=utf-8")
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - streamed, closed below
    fsma204.write_xlsx(rows, spool)
    size = spool.tell()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(64 * 1024):
                yield chunk

    return Response(chunks(), mimetype=XLSX, headers={**headers, "Content-Length": str(size)})
