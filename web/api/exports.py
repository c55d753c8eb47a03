"""Exports a regulator asks for: the FSMA 204 electronic sortable spreadsheet (CSV or XLSX).

Regulators export every event; an enterprise the events it is party to, as the API's record
listings show them. Parameters are checked (by their schema, then the range by
:func:`ledger.export.fsma204.parse_request`) before anything is read, so a bad one is a 400
naming its field, and the CSV is streamed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ledger.export import fsma204
from schemas.codes import GTINField, LotField
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


#: a calendar date as RFC 3339 full-date, nothing looser (no 20261001, no week dates)
_YYYY_MM_DD = validate.Regexp(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                              error="a date YYYY-MM-DD is expected")


class Fsma204Query(Schema):
    """Which events to export, described as precisely as they are checked: the range itself
    (``to`` not before ``from``, at most 3,660 days) is checked by the ledger, a 400 too."""

    start = fields.String(data_key="from", required=True, validate=_YYYY_MM_DD, metadata={
        "description": "first event date, YYYY-MM-DD (the event's date as recorded)",
        "format": "date", "example": "2026-10-01"})
    end = fields.String(data_key="to", required=True, validate=_YYYY_MM_DD, metadata={
        "description": "last event date, YYYY-MM-DD, inclusive, not before from",
        "format": "date", "example": "2026-11-30"})
    lot = LotField(load_default=None, metadata={"description": "only this lot's events"})
    gtin = GTINField(load_default=None, metadata={"description": "only this GTIN's events"})
    format = fields.String(load_default="csv", validate=validate.OneOf(list(_FORMATS)),
                           metadata={"description": "csv (streamed, UTF-8) or xlsx"})


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
    "400": {"description": "a bad parameter: a date missing or not YYYY-MM-DD, a bad lot, "
                           "GTIN or format (validation_error), to before from or a range over "
                           "3,660 days (invalid_export)", "content": _ERROR},
    "401": {"description": "no or an unknown API token", "content": _ERROR},
}


@blp.get("/fsma204")
@blp.arguments(Fsma204Query, location="query", error_status_code=400)
@blp.doc(security=BEARER, responses=_RESPONSES)
def fsma204_export(query: dict[str, Any]) -> Response:
    """The FDA's FSMA 204 electronic sortable spreadsheet of the critical tracking events
    dated from ``from`` to ``to`` (optionally of one lot): regulators get every event, an
    enterprise the events it is party to."""
    session = get_session()
    viewer = authenticated_viewer(session)
    request = fsma204.parse_request(start=query["start"], end=query["end"], lot=query["lot"],
                                    gtin=query["gtin"])
    media_type = _FORMATS[query["format"]]
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
