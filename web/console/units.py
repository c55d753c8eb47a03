"""The console's unit-code page of a lot (单品赋码): how many of its units carry codes, a
button that serialises more, the first units issued, and their labels (the A4 sheet and a PNG
per label), through the same calls as the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from ledger.errors import ForbiddenError, LedgerError, NotFoundError
from ledger.supervision.models import LotRow, ProductRow
from ledger.supervision.queries import count_lot_units, lot_units
from ledger.supervision.serials import lot_for_labels, serialize_lot
from scanners.labels import label_png, label_sheet_pdf
from schemas.codes import GTINField, LotField
from schemas.serials import LabelSheetQuery, SerializeSchema
from web.api.serials import sheet_layout, unit_labels
from web.auth import require_lots_in_scope
from web.console import i18n
from web.console.i18n import t
from web.console.views import bp, current_user, error_page, login_required
from web.db import get_ledger, get_runtime, get_session, get_vault

__all__: list[str] = []

#: units listed on the page, first issued first (the sheet prints them all)
UNITS_SHOWN = 50


def _lot(gtin: str, lot: str) -> tuple[str, str]:
    try:
        return GTINField().deserialize(gtin, "gtin"), LotField().deserialize(lot, "lot")
    except ValidationError:
        raise LedgerError("not a lot", field="lot") from None


def _page(gtin: str, lot: str, status: int = 200, count: str = "",
          error: str | None = None) -> tuple[str, int]:
    session = get_session()
    row = session.get(LotRow, (gtin, lot))
    if row is None:
        return render_template("console/units.html", lot=None, gtin=gtin, lot_code=lot), 404
    product = session.get(ProductRow, gtin)
    total = count_lot_units(session, gtin, lot)
    return render_template(
        "console/units.html", lot=row, gtin=gtin, lot_code=lot, total=total,
        product=product, units=lot_units(session, gtin, lot, limit=UNITS_SHOWN),
        shown=UNITS_SHOWN, mine=row.origin == current_user().enterprise,
        count=count, error=error), status


@bp.get("/lots/<gtin>/<path:lot>/units")
@login_required
def units_page(gtin: str, lot: str) -> Any:
    """A lot's unit codes and labels (a district bureau: of its district's lots only)."""
    found = _lot(gtin, lot)
    require_lots_in_scope(get_session(), current_user(), [found])
    return _page(*found)


@bp.post("/lots/<gtin>/<path:lot>/units")
@login_required
def serialize_units(gtin: str, lot: str) -> Any:
    """Serialise COUNT more units as the lot's maker, then show the page again."""
    gtin, lot = _lot(gtin, lot)
    raw = request.form.get("count", "").strip()
    try:
        count = SerializeSchema().load({"count": int(raw) if raw.isdigit() else raw})["count"]
    except ValidationError:
        return _page(gtin, lot, 422, raw, t("units.count_invalid"))
    session = get_session()
    done = serialize_lot(session, get_ledger(), get_vault(), enterprise=current_user().enterprise,
                         gtin=gtin, lot=lot, count=count, code_secret=get_runtime().code_secret)
    session.commit()
    flash(t("units.serialised", count=len(done.serials), seq=done.seq), "success")
    return redirect(url_for("console.units_page", gtin=gtin, lot=lot))


@error_page("console.serialize_units")
def _refused(exc: Exception) -> Any:
    """The page again, with why nothing was serialised (the session is rolled back)."""
    args = request.view_args or {}
    if isinstance(exc, LedgerError):
        message = i18n.pick(getattr(exc, "message_zh", None), exc.message)
        status = 403 if isinstance(exc, ForbiddenError) else (
            404 if isinstance(exc, NotFoundError) else 422)
    else:
        message, status = t("units.count_invalid"), 422
    return _page(str(args.get("gtin", "")), str(args.get("lot", "")), status,
                 request.form.get("count", ""), message)


@bp.get("/lots/<gtin>/<path:lot>/labels.pdf")
@login_required
def labels_pdf(gtin: str, lot: str) -> BaseResponse:
    """The maker's A4 label sheet (the API's query parameters)."""
    gtin, lot = _lot(gtin, lot)
    query = LabelSheetQuery().load(request.args.to_dict())
    layout = sheet_layout(query)
    labelled = lot_for_labels(get_session(), enterprise=current_user().enterprise, gtin=gtin,
                              lot=lot, offset=query["first"] - 1, limit=query["count"])
    pdf = label_sheet_pdf(unit_labels(labelled), base=request.host_url.rstrip("/"),
                          layout=layout, title=f"{labelled.product_name} {gtin}/{lot}")
    name = quote(f"labels-{gtin}-{lot}-{query['first']}.pdf")
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{name}",
        "Cache-Control": "private, no-store"})


@bp.get("/lots/<gtin>/<path:lot>/labels/<serial>.png")
@login_required
def label_image(gtin: str, lot: str, serial: str) -> BaseResponse:
    """One unit's label as a 300 dpi PNG."""
    gtin, lot = _lot(gtin, lot)
    labelled = lot_for_labels(get_session(), enterprise=current_user().enterprise, gtin=gtin,
                              lot=lot, serial=serial)
    return Response(label_png(unit_labels(labelled)[0], base=request.host_url.rstrip("/")),
                    mimetype="image/png", headers={"Cache-Control": "private, no-store"})
