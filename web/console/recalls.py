"""Recalls in the console (缺陷产品召回): a regulator orders one from the trace page, holders see
their notices and report progress, and whoever may close a recall closes it with the
four-part review (四不放过).

Everything is decided by :mod:`ledger.recall` (the scope, who may see and do what, the
deadlines); the forms are checked by the recall payload schemas of :mod:`schemas.records`,
and a refusal comes back in the same form, in the user's language, with nothing appended.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ledger.accounts.roles import REGULATOR
from ledger.errors import LedgerError, NotFoundError
from ledger.log.storage import EnterpriseRow
from ledger.recall import (
    FULL,
    HOLDER,
    expand_scope,
    public_recalls,
    recall_view,
)
from ledger.recall import close_recall as close_in_ledger
from ledger.recall import record_progress as progress_in_ledger
from ledger.recall import start_recall as start_in_ledger
from ledger.recall.views import recall_listing, recall_summaries
from ledger.supervision.models import ProductRow, RecallRow
from ledger.supervision.queries import Viewer
from ledger.supervision.recall_levels import LEVELS
from ledger.supervision.recalls import ACTIVITIES, OPEN, ORDERED, REVIEW
from schemas.messages import field_messages
from schemas.recalls import RecallCloseSchema, RecallProgressBodySchema, RecallStartSchema
from web.auth import require_lots_in_scope, require_recall_in_scope
from web.console import i18n
from web.console.forms import ledger_error_field
from web.console.i18n import t
from web.console.listing import Column, Filter, Listing, download, run, wants_download
from web.console.views import bp, console_viewer, current_user, error_page, login_required
from web.db import get_ledger, get_session, get_vault

__all__ = ["start_fields"]

#: recalls listed on the recalls page (newest first)
LIST_LIMIT = 200
_START_FIELDS = ("level", "reason", "hazard", "consumer_advice")
_LIST_SEPARATORS = (";", "；", "\n")


def _viewer() -> Viewer:
    return console_viewer()


def _now() -> datetime:
    return get_ledger().clock()


def _form_errors(messages: Any, prefix: tuple[str | int, ...] = ()) -> dict[str, list[str]]:
    """marshmallow's messages (or a ledger error's field path) keyed by form input name:
    ``lots-0-withdrawn``; anything not on the form lands under ``""``."""
    found: dict[str, list[str]] = {}
    for path, texts in field_messages(messages):
        name = "-".join(map(str, path[len(prefix):] if path[:len(prefix)] == prefix else ()))
        found.setdefault(name, []).extend(i18n.field_error(text) for text in texts)
    return found


def _ledger_errors(exc: LedgerError, known: set[str]) -> dict[str, list[str]]:
    message = i18n.pick(getattr(exc, "message_zh", None), exc.message)
    name = ledger_error_field(exc.field)
    return {name if name in known else "": [message]}


def _split(text: str) -> list[str]:
    for separator in _LIST_SEPARATORS[1:]:
        text = text.replace(separator, _LIST_SEPARATORS[0])
    return [part.strip() for part in text.split(_LIST_SEPARATORS[0]) if part.strip()]


# --- the list -------------------------------------------------------------------------------


#: the recalls listing (web/console/listing.py)
RECALLS = Listing(
    name="recalls",
    columns=(
        Column("level", "recall.level"),
        Column("product", "col.product", sortable=False,
               text=lambda item: "、".join(p["name"] for p in item.get("products", [])
                                          if p.get("name"))),
        Column("producer_name", "recall.producer", searchable=True),
        Column("producer_district", "col.district", searchable=True, shown=False),
        Column("initiated_at", "recall.initiated_at"),
        Column("complete_by", "recall.complete_by", sortable=False,
               text=lambda item: str(item.get("complete_by", ""))),
        Column("status", "recalls.col.status"),
        Column("progress", "recall.progress", sortable=False,
               text=lambda item: "{complete}/{holders}".format(**item["progress"])
               if item.get("progress") else ""),
        Column("reason", "recall.field.reason", searchable=True, shown=False),
        Column("seq", "col.seq", shown=False),
    ),
    default_sort="seq", default_desc=True,
    filters=(
        Filter("status", "recalls.col.status", (("open", "recall.status.open"),
                                                ("closed", "recall.status.closed"))),
        Filter("level", "recall.level", tuple((str(n), f"recall.level_name.{n}")
                                              for n in sorted(LEVELS))),
        Filter("district", "col.district", column="producer_district", prefix=True),
    ),
)


def _decorate_recalls(items: list[dict[str, Any]]) -> None:
    found = recall_summaries(get_session(), [item["seq"] for item in items],
                             viewer=_viewer(), now=_now())
    for item in items:
        item.update(found.get(item["seq"], {}))


@bp.get("/recalls")
@login_required
def recalls_page() -> Any:
    """Open and closed recalls the user takes part in (regulators: all; a district bureau,
    its district's), with completion and deadlines, paged, searchable and downloadable;
    below them, the public notices of the other open recalls."""
    session = get_session()
    viewer = _viewer()
    query = recall_listing(viewer)
    fmt = wants_download()
    if fmt:
        return download(session, RECALLS, query, fmt, decorate=_decorate_recalls)
    listed = run(session, RECALLS, query)
    _decorate_recalls(listed.items)
    mine = listed.items
    shown = {item["id"] for item in mine}
    others = [] if viewer is None else [
        item for item in public_recalls(session, limit=LIST_LIMIT).items
        if item["status"] == OPEN and item["id"] not in shown]
    return render_template("console/recalls.html", recalls=mine, others=others,
                           levels=LEVELS, listing=listed)


# --- one recall -----------------------------------------------------------------------------


def _existing(seq: int) -> None:
    if get_session().get(RecallRow, seq) is None:
        abort(404)


@bp.get("/recalls/<int:seq>")
@login_required
def recall_page(seq: int) -> tuple[str, int]:
    """One recall as the user may see it, with the progress and closing forms it may use."""
    _existing(seq)
    return _render_recall(seq, {}, {})


def _render_recall(seq: int, values: Mapping[str, Any], errors: Mapping[str, list[str]], *,
                   form: str | None = None, status: int = 200) -> tuple[str, int]:
    user = current_user()
    view = recall_view(get_session(), seq, viewer=_viewer(), now=_now())
    mine = next((h for h in view.get("holders", []) if h["enterprise"] == user.enterprise),
                None)
    is_open = view["status"] == OPEN
    regulator = user.role == REGULATOR
    involved = view["access"] in (FULL, HOLDER)
    # Whom the closing form is offered to; the rules (ledger.supervision.recalls) decide.
    may_close = is_open and (regulator or (view["kind"] != ORDERED
                                           and user.enterprise == view["producer"]["uscc"]))
    page = render_template(
        "console/recall.html", recall=view, mine=mine, headline=_headline(view),
        full=view["access"] == FULL, holder=involved,
        may_report=is_open and mine is not None, may_close=may_close,
        needs_regulator=is_open and involved and view["kind"] == ORDERED and not regulator,
        values=values, errors=errors, form=form, activities=ACTIVITIES, review=REVIEW,
        level=LEVELS[view["level"]])
    return page, status


def _headline(view: Mapping[str, Any]) -> str:
    """What the recall is of, in a few words: the products of the lots the recall names (all
    of them when the viewer sees only the public notice)."""
    named = {(lot["gtin"], lot["lot"]) for lot in view.get("scope", []) if lot["via"] == "named"}
    names = [lot["product_name"] for lot in view["lots"]
             if lot["product_name"] and (not named or (lot["gtin"], lot["lot"]) in named)]
    return "、".join(dict.fromkeys(names)) or view["lots"][0]["gtin"]


@bp.post("/recalls/<int:seq>/progress")
@login_required
def report_progress(seq: int) -> BaseResponse:
    """A holder reports what it withdrew, retrieved, destroyed or reworked (this time), with
    evidence references; ``complete`` says its part is done."""
    form = request.form
    lots = []
    index = 0
    while f"lots-{index}-gtin" in form:
        lots.append({"gtin": form[f"lots-{index}-gtin"], "lot": form.get(f"lots-{index}-lot"),
                     "unit": form.get(f"lots-{index}-unit"),
                     **{name: form.get(f"lots-{index}-{name}", "").strip() or "0"
                        for name in ACTIVITIES}})
        index += 1
    _existing(seq)
    payload = RecallProgressBodySchema().load({
        "lots": lots, "evidence": _split(form.get("evidence", "")),
        "complete": form.get("complete") == "true", "note": form.get("note", "").strip() or None})
    session = get_session()
    # Every lot of the form is reported, zeros too: the report's items are the form's rows,
    # so a rule's complaint about item i lands on row i.
    appended = progress_in_ledger(
        session, get_ledger(), get_vault(), enterprise=current_user().enterprise, recall=seq,
        lots=payload["lots"], evidence=payload["evidence"], complete=payload["complete"],
        note=payload["note"])
    session.commit()
    flash(t("recall.progress_recorded", seq=appended.entry.seq), "success")
    return redirect(url_for("console.recall_page", seq=seq))


@bp.post("/recalls/<int:seq>/close")
@login_required
def close(seq: int) -> BaseResponse:
    """Close the recall with the four-part review (and the producer's report reference)."""
    form = request.form
    review = {name: form.get(name, "").strip() for name in REVIEW}
    _existing(seq)
    payload = RecallCloseSchema().load({
        **{name: text for name, text in review.items() if text},
        "report": form.get("report", "").strip() or None})
    session = get_session()
    require_recall_in_scope(session, current_user(), seq)
    appended = close_in_ledger(
        session, get_ledger(), get_vault(), enterprise=current_user().enterprise, recall=seq,
        review={name: payload[name] for name in REVIEW}, report=payload["report"])
    session.commit()
    flash(t("recall.closed_recorded", seq=appended.entry.seq), "success")
    return redirect(url_for("console.recall_page", seq=seq))


def _recall_refused(form: str, known: set[str]) -> Any:
    def show(exc: Exception) -> Any:
        seq = (request.view_args or {})["seq"]
        if isinstance(exc, ValidationError):
            errors = _form_errors(exc.messages)
            errors = {name if name in known or name.startswith("lots-") else "": texts
                      for name, texts in errors.items()}
        else:
            assert isinstance(exc, LedgerError)  # noqa: S101 - error pages get these two
            errors = _ledger_errors(exc, known | {key for key in request.form
                                                  if key.startswith("lots-")})
        flash(t("recall.not_recorded"), "error")
        return _render_recall(seq, request.form, errors, form=form, status=422)
    return show


error_page("console.report_progress")(_recall_refused("progress", {"evidence", "note",
                                                                   "complete"}))
error_page("console.close")(_recall_refused("close", {*REVIEW, "report"}))


# --- ordering a recall ----------------------------------------------------------------------


def start_fields() -> list[dict[str, Any]]:
    """The start form's level choices: (value, name, deadlines) for each level."""
    return [{"value": grade.level, "name": i18n.pick(grade.name_zh, grade.name_en),
             "harm": i18n.pick(grade.harm_zh, grade.harm_en),
             "hours": int(grade.start_within.total_seconds() // 3600),
             "days": grade.complete_within} for grade in LEVELS.values()]


def _start_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The start form as the API's body: an ordered recall of the one lot, expanded."""
    values: dict[str, Any] = {name: form.get(name, "").strip() for name in _START_FIELDS}
    level = values["level"]
    values["level"] = int(level) if level.isascii() and level.isdigit() else level
    lot = {name: form.get(name, "").strip() for name in ("gtin", "lot")}
    # A blank field is a missing one ("required"), not a too-short one.
    return {"kind": ORDERED, "lots": [{k: v for k, v in lot.items() if v}], "expand": True,
            **{name: value for name, value in values.items() if value != ""}}


def _scope_preview(gtin: str, lot: str) -> dict[str, Any]:
    """What an ordered recall of the lot would cover now: the lots, and each holder's name."""
    session = get_session()
    scope = expand_scope(session, [(gtin, lot)])
    holders = sorted(scope.holders)
    names = dict(session.execute(select(EnterpriseRow.uscc, EnterpriseRow.name)
                                 .where(EnterpriseRow.uscc.in_(holders))).all())
    products = dict(session.execute(
        select(ProductRow.gtin, ProductRow.name)
        .where(ProductRow.gtin.in_({key[0] for key in scope.lots}))).all())
    return {"as_of": scope.as_of,
            "lots": [{"gtin": g, "lot": lot_code, "product": products.get(g)}
                     for g, lot_code in scope.lots],
            "holders": [{"uscc": uscc, "name": names.get(uscc),
                         "lots": [{"gtin": g, "lot": lot_code, "held": str(held), "unit": unit}
                                  for (g, lot_code), (held, unit)
                                  in sorted(scope.holders[uscc].items())]}
                        for uscc in holders]}


def _require_regulator() -> None:
    if current_user().role != REGULATOR:
        abort(403)


@bp.get("/recalls/new")
@login_required
def new_recall() -> tuple[str, int]:
    """The ordered-recall form for the lot ``gtin``/``lot``, with the scope it would cover."""
    _require_regulator()
    return _render_new({name: request.args.get(name, "") for name in ("gtin", "lot")}, {})


def _render_new(values: Mapping[str, Any], errors: Mapping[str, list[str]],
                status: int = 200) -> tuple[str, int]:
    gtin, lot = str(values.get("gtin", "")), str(values.get("lot", ""))
    # No preview for a lot the form could not read or the ledger does not have (the error
    # says so): the scope is read only when the lot is known to be there.
    readable = gtin and lot and not errors.get("lot") and not errors.get("gtin")
    preview = _scope_preview(gtin, lot) if readable else None
    page = render_template("console/recall_new.html", values=values, errors=errors,
                           levels=start_fields(), preview=preview)
    return page, status


@bp.post("/recalls/new")
@login_required
def start() -> BaseResponse:
    """Order the recall of the lot, expanded downstream, as the user's (regulator's)
    enterprise; every holder reached gets its notice in the same transaction."""
    _require_regulator()
    body = RecallStartSchema().load(_start_body(request.form))
    session = get_session()
    require_lots_in_scope(session, current_user(),
                          [(lot["gtin"], lot["lot"]) for lot in body["lots"]])
    started = start_in_ledger(
        session, get_ledger(), get_vault(), enterprise=current_user().enterprise,
        kind=body["kind"], level=body["level"], reason=body["reason"], hazard=body["hazard"],
        lots=[(lot["gtin"], lot["lot"]) for lot in body["lots"]], expand=body["expand"],
        consumer_advice=body["consumer_advice"])
    session.commit()
    flash(t("recall.started", seq=started.seq, holders=len(started.notices)), "success")
    return redirect(url_for("console.recall_page", seq=started.seq))


@error_page("console.start")
def _start_refused(exc: Exception) -> Any:
    known = {"gtin", "lot", *_START_FIELDS}
    if isinstance(exc, ValidationError):
        found = _form_errors(exc.messages)
        errors: dict[str, list[str]] = {}
        for name, texts in found.items():
            name = name.removeprefix("lots-0-")  # the one lot: its own gtin and lot inputs
            errors.setdefault(name if name in known else "", []).extend(texts)
    elif isinstance(exc, NotFoundError):  # the lot is not (or no longer) on the ledger
        errors = {"lot": [_lot_missing(request.form)]}
    else:
        assert isinstance(exc, LedgerError)  # noqa: S101 - error pages get these two
        errors = _ledger_errors(exc, known)
    flash(t("recall.not_started"), "error")
    values = {name: request.form.get(name, "") for name in ("gtin", "lot", *_START_FIELDS)}
    return _render_new(values, errors, status=422)


@error_page("console.new_recall")
def _new_refused(exc: Exception) -> Any:
    """A lot that is not on the ledger: the form, with the reason next to the lot."""
    assert isinstance(exc, LedgerError)  # noqa: S101 - only expand_scope raises here
    values = {name: request.args.get(name, "") for name in ("gtin", "lot")}
    return _render_new(values, {"lot": [_lot_missing(values)]}, status=404)


def _lot_missing(values: Mapping[str, str]) -> str:
    return t("trace.lot_not_found", gtin=values.get("gtin", ""), lot=values.get("lot", ""))
