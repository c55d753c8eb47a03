"""Recalls (缺陷产品召回) from start to closure, and a lot's public recall status.

A recall's id is the seq of its ``recall_initiated`` entry. Starting one expands its scope
downstream, appends the entry and queues every holder's notice, in one transaction; holders
report progress; the four-part review closes it. Who sees what of a recall is decided in
:mod:`ledger.recall.views`.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate

from ledger import recall
from ledger.errors import NotFoundError
from ledger.supervision.models import RecallRow
from schemas.codes import GTINField, LotField
from schemas.recalls import (
    LotStatusSchema,
    RecallCloseSchema,
    RecallPageSchema,
    RecallProgressBodySchema,
    RecallSchema,
    RecallStartSchema,
)
from web.api.pagination import PageQuery, page_body
from web.api.security import BEARER
from web.auth import (
    Principal,
    require_lots_in_scope,
    require_principal,
    require_recall_in_scope,
    viewer_of,
)
from web.db import get_ledger, get_session, get_vault
from web.idempotency import commit_remembering, replay

blp = Blueprint("recalls", __name__, url_prefix="/api/v1",
                description="Recalls from start to closure, and a lot's recall status")


class RecallListQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "closed"]))


def _view(principal: Principal, seq: int) -> dict[str, Any]:
    session = get_session()
    return recall.recall_view(session, seq, viewer=viewer_of(principal, session),
                              now=get_ledger().clock())


def _existing(seq: int) -> int:
    if get_session().get(RecallRow, seq) is None:
        raise NotFoundError(f"no recall at seq {seq}")
    return seq


@blp.post("/recalls")
@blp.arguments(RecallStartSchema)
@blp.response(201, RecallSchema)
@blp.doc(security=BEARER)
def start(body: dict[str, Any]) -> Any:
    """Start a recall: voluntary (主动召回) by the producer of the lots, ordered (责令召回) by a
    regulator. With ``expand`` (the default) every lot made from the named ones joins the
    scope; every holder gets a notice. ``Idempotency-Key`` makes a retry safe."""
    session = get_session()
    principal = require_principal(session)
    replayed = replay(session, principal.enterprise)
    if replayed is not None:
        return replayed
    require_lots_in_scope(session, principal,
                          [(lot["gtin"], lot["lot"]) for lot in body["lots"]])
    ledger = get_ledger()
    started = recall.start_recall(
        session, ledger, get_vault(), enterprise=principal.enterprise, kind=body["kind"],
        level=body["level"], reason=body["reason"], hazard=body["hazard"],
        lots=[(lot["gtin"], lot["lot"]) for lot in body["lots"]], expand=body["expand"],
        producer=body["producer"], consumer_advice=body["consumer_advice"],
        event_time=body["event_time"])
    return commit_remembering(session, principal.enterprise, 201,
                              _view(principal, started.seq), ledger.clock)


@blp.get("/recalls")
@blp.arguments(RecallListQuery, location="query")
@blp.response(200, RecallPageSchema)
@blp.doc(security=BEARER)
def list_recalls(query: dict[str, Any]) -> dict[str, Any]:
    """Recalls the caller takes part in (regulators: all), newest first, with completion and
    deadlines."""
    session = get_session()
    principal = require_principal(session)
    return page_body(recall.list_recalls(
        session, viewer=viewer_of(principal, session), now=get_ledger().clock(),
        limit=query["limit"], after=query["cursor"], status=query["status"]))


@blp.get("/recalls/<int:seq>")
@blp.response(200, RecallSchema)
@blp.doc(security=BEARER)
def show(seq: int) -> dict[str, Any]:
    """One recall: regulators and the recalling producer see its scope, every holder with its
    progress, deadlines and notice deliveries; a holder sees its own part; anyone else the
    public notice."""
    return _view(require_principal(get_session()), seq)


@blp.post("/recalls/<int:seq>/progress")
@blp.arguments(RecallProgressBodySchema)
@blp.response(201, RecallSchema)
@blp.doc(security=BEARER)
def progress(body: dict[str, Any], seq: int) -> dict[str, Any]:
    """Report, as a holder, what was withdrawn from sale, retrieved from consumers, destroyed
    or reworked, with evidence; ``complete`` when the caller's part is done."""
    session = get_session()
    principal = require_principal(session)
    recall.record_progress(
        session, get_ledger(), get_vault(), enterprise=principal.enterprise,
        recall=_existing(seq), lots=body["lots"], evidence=body["evidence"],
        complete=body["complete"], note=body["note"], event_time=body["event_time"])
    session.commit()
    return _view(principal, seq)


@blp.post("/recalls/<int:seq>/close")
@blp.arguments(RecallCloseSchema)
@blp.response(200, RecallSchema)
@blp.doc(security=BEARER)
def close(body: dict[str, Any], seq: int) -> dict[str, Any]:
    """Close a recall with the four-part review (四不放过): cause, responsibility, lessons and
    corrective actions, each required. An ordered recall is closed by a regulator, whose
    closing entry is the approval; a voluntary one by its producer or a regulator."""
    session = get_session()
    principal = require_principal(session)
    require_recall_in_scope(session, principal, seq)
    recall.close_recall(
        session, get_ledger(), get_vault(), enterprise=principal.enterprise,
        recall=_existing(seq), review=body, report=body["report"],
        event_time=body["event_time"])
    session.commit()
    return _view(principal, seq)


@blp.get("/lots/<gtin>/<path:lot>/status")
@blp.response(200, LotStatusSchema)
def lot_status(gtin: str, lot: str) -> dict[str, Any]:
    """A lot's product and recall status (open with its level, closed, or none): public, for
    the consumer's scan. GTIN-8/12/13 are read as GTIN-14."""
    return recall.lot_status(get_session(), _path_part(GTINField(), gtin, "gtin"),
                             _path_part(LotField(), lot, "lot"))


def _path_part(field: fields.String, value: str, name: str) -> str:
    """A code in the URL path, checked like a body field; 422 naming it when it is not one."""
    try:
        loaded: str = field.deserialize(value, name)
    except ValidationError as exc:
        raise ValidationError({name: exc.messages}) from None
    return loaded
