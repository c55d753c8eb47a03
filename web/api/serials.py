"""Unit codes for a lot (单品赋码): serialising its units, and their printable labels.

Only the lot's maker serialises it and prints its labels: a label's serial and supervision
code are what a genuine package carries, so they are not for anyone else to read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from ledger.supervision.serials import LabelledLot, lot_for_labels, serialize_lot
from scanners.labels import SheetLayout, UnitLabel, label_png, label_sheet_pdf
from schemas.codes import GTINField, LotField
from schemas.serials import (
    LabelSheetQuery,
    SerializedSchema,
    SerializeSchema,
    UnitListQuery,
    UnitListSchema,
)
from web.api.recalls import _path_part as path_part
from web.api.security import BEARER
from web.auth import require_principal
from web.db import get_ledger, get_runtime, get_session, get_vault
from web.idempotency import commit_remembering, replay

blp = Blueprint("serials", __name__, url_prefix="/api/v1",
                description="Unit codes (serials and supervision codes) and their labels")


@blp.post("/lots/<gtin>/<path:lot>/serials")
@blp.arguments(SerializeSchema)
@blp.response(201, SerializedSchema)
@blp.doc(security=BEARER)
def serialize(body: dict[str, Any], gtin: str, lot: str) -> Any:
    """Serialise ``count`` units of a lot, as its maker: each gets a random serial (GS1 AI 21:
    12 characters, 60 random bits) and a 20-digit supervision code with the product's next
    unit number, recorded in one ``serialization`` entry. ``Idempotency-Key`` makes a retry
    safe (the same units come back, none are added)."""
    session = get_session()
    principal = require_principal(session)
    replayed = replay(session, principal.enterprise)
    if replayed is not None:
        return replayed
    ledger = get_ledger()
    done = serialize_lot(session, ledger, get_vault(), enterprise=principal.enterprise,
                         gtin=path_part(GTINField(), gtin, "gtin"),
                         lot=path_part(LotField(), lot, "lot"), count=body["count"],
                         code_secret=get_runtime().code_secret)
    answer = {"gtin": done.gtin, "lot": done.lot, "seq": done.seq, "count": len(done.serials),
              "units": [{"serial": serial, "supervision_code": code}
                        for serial, code in zip(done.serials, done.codes, strict=True)]}
    return commit_remembering(session, principal.enterprise, 201, answer, ledger.clock)


@blp.get("/lots/<gtin>/<path:lot>/serials")
@blp.arguments(UnitListQuery, location="query")
@blp.response(200, UnitListSchema)
@blp.doc(security=BEARER)
def units(query: dict[str, Any], gtin: str, lot: str) -> dict[str, Any]:
    """The lot's serialised units (serial and supervision code), as its maker, in the order
    they were issued: ``count`` from number ``first``; 404 for a lot never serialised."""
    labelled = _labelled(gtin, lot, offset=query["first"] - 1, limit=query["count"])
    last = query["first"] - 1 + len(labelled.units)
    return {"gtin": labelled.gtin, "lot": labelled.lot, "total": labelled.total,
            "first": query["first"], "next_first": last + 1 if last < labelled.total else None,
            "units": [{"serial": unit.serial, "supervision_code": unit.supervision_code}
                      for unit in labelled.units]}


def _binary(media_type: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}


def unit_labels(labelled: LabelledLot) -> list[UnitLabel]:
    """The labels of the units of ``labelled``."""
    return [UnitLabel(gtin=unit.gtin, lot=unit.lot, serial=unit.serial,
                      supervision_code=unit.supervision_code,
                      product_name=labelled.product_name) for unit in labelled.units]


def sheet_layout(query: dict[str, Any]) -> SheetLayout:
    """The sheet's grid from the query; a grid whose labels would be too small is a 422."""
    try:
        return SheetLayout(columns=query["columns"], rows=query["rows"],
                           margin_mm=query["margin"], gap_mm=query["gap"])
    except ValueError as exc:
        raise ValidationError({"columns": [str(exc)]}) from None


def _labelled(gtin: str, lot: str, **which: Any) -> LabelledLot:
    session = get_session()
    principal = require_principal(session)
    return lot_for_labels(session, enterprise=principal.enterprise,
                          gtin=path_part(GTINField(), gtin, "gtin"),
                          lot=path_part(LotField(), lot, "lot"), **which)


def _base() -> str:
    """Where the labels' GS1 Digital Link URIs point: this service's resolver."""
    return request.host_url.rstrip("/")


@blp.get("/lots/<gtin>/<path:lot>/labels.pdf")
@blp.arguments(LabelSheetQuery, location="query")
@blp.doc(security=BEARER, responses={"200": _binary("application/pdf", "an A4 PDF of labels")})
def label_sheet(query: dict[str, Any], gtin: str, lot: str) -> Response:
    """A printable A4 sheet of the lot's unit labels, as its maker: each with a GS1 Digital
    Link QR Code to this service, a GS1 DataMatrix (01)(10)(21), a GS1-128 (01)(21), their
    human-readable text and the 20-digit supervision code; ``count`` units from number
    ``first``, ``columns`` × ``rows`` a page."""
    layout = sheet_layout(query)
    labelled = _labelled(gtin, lot, offset=query["first"] - 1, limit=query["count"])
    pdf = label_sheet_pdf(unit_labels(labelled), base=_base(), layout=layout,
                          title=f"{labelled.product_name} {labelled.gtin}/{labelled.lot}")
    name = f"labels-{labelled.gtin}-{labelled.lot}-{query['first']}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store"})


@blp.get("/lots/<gtin>/<path:lot>/labels/<serial>.png")
@blp.doc(security=BEARER, responses={"200": _binary("image/png", "one label, 300 dpi")})
def label_image(gtin: str, lot: str, serial: str) -> Response:
    """One unit's label as a 300 dpi PNG (94 × 38 mm), as the lot's maker."""
    labelled = _labelled(gtin, lot, serial=serial)
    png = label_png(unit_labels(labelled)[0], base=_base())
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, no-store"})
