"""The console's FSMA 204 export button: the sortable spreadsheet of the events the signed-in
enterprise is party to (regulators and admins: every event), through the same call as the
API and ``tracenet export fsma204``."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from flask import Response, flash, redirect, request, stream_with_context, url_for

from ledger.export import fsma204
from web.api.exports import CSV, XLSX
from web.console.i18n import t
from web.console.views import bp, console_viewer, login_required
from web.db import get_ledger, get_session

__all__ = ["default_range"]

#: the range the form offers first: the last 30 days, as the FDA asks about recent events
DEFAULT_DAYS = 30


def default_range() -> tuple[str, str]:
    """The form's first dates: from 30 days ago to today (ledger clock, UTC dates)."""
    today = get_ledger().clock().date()
    return (today - timedelta(days=DEFAULT_DAYS)).isoformat(), today.isoformat()


@bp.context_processor
def _export_form() -> dict[str, Callable[[], tuple[str, str]]]:
    # a callable, so only the page that shows the form reads the clock
    return {"fsma204_range": default_range}


@bp.get("/exports/fsma204")
@login_required
def fsma204_download() -> Any:
    """Download the FSMA 204 spreadsheet (CSV or XLSX); a bad date goes back to the lots
    page with the reason."""
    args = {name: (request.args.get(name) or "").strip() or None
            for name in ("from", "to", "lot", "gtin", "format")}
    try:
        wanted = fsma204.parse_request(start=args["from"], end=args["to"], lot=args["lot"],
                                       gtin=args["gtin"])
        if (args["format"] or "csv") not in ("csv", "xlsx"):
            raise fsma204.ExportError("format must be csv or xlsx", field="format")
    except fsma204.ExportError as exc:  # a form mistake: said on the page, not as an error
        flash(t("export.invalid", message=exc.message), "error")
        return redirect(url_for("console.dashboard"))
    rows = fsma204.export_rows(get_session(), wanted, viewer=console_viewer())
    extension = args["format"] or "csv"
    headers = {"Content-Disposition":
               f'attachment; filename="fsma204-{wanted.start}-{wanted.end}.{extension}"',
               "Cache-Control": "private, no-store"}
    if extension == "csv":
        return Response(stream_with_context(fsma204.csv_chunks(rows)), headers=headers,
                        content_type=f"{CSV}; charset=utf-8")
    workbook = io.BytesIO()
    fsma204.write_xlsx(rows, workbook)

    def body() -> Iterator[bytes]:
        yield workbook.getvalue()

    return Response(body(), mimetype=XLSX, headers=headers)
