"""Console pages: sign-in, the lot dashboard, record forms and the spreadsheet import.

Views hold no ``try/except`` for domain errors (STYLE.md): a form's validation error or rule
violation propagates to this blueprint's error handlers, which roll back and show the same
form again with each message next to its field.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from ledger.accounts.models import UserRow
from ledger.accounts.scope import viewer_for
from ledger.accounts.totp import enrolled, needs_second_factor
from ledger.accounts.users import authenticate
from ledger.errors import LedgerError
from ledger.log.entry import Statement
from ledger.log.storage import EnterpriseRow
from ledger.recall import list_recalls, queue_late_notices
from ledger.supervision.listings import lot_listing, stock_held
from ledger.supervision.models import ProductRow, StockRow
from ledger.supervision.names import MATERIAL_INTAKE
from ledger.supervision.queries import Viewer
from ledger.supervision.recalls import OPEN
from ledger.supervision.submit import submit
from schemas.events import EventSchema
from schemas.spreadsheet import SPREADSHEET_TYPES, SpreadsheetError, read_rows
from schemas.spreadsheet import template_csv as make_template_csv
from schemas.spreadsheet import template_xlsx as make_template_xlsx
from web import audit
from web.console import i18n
from web.console.forms import (
    FORM_TYPES,
    errors_by_field,
    form_fields,
    form_to_event,
    ledger_error_field,
    row_count,
)
from web.console.i18n import t
from web.console.importing import import_rows
from web.console.listing import PER_PAGE, Column, Filter, Listing, download, run, wants_download
from web.db import get_ledger, get_session, get_vault

bp = Blueprint("console", __name__, url_prefix="/console")

#: the dashboard heads with at most this many open recalls, newest first
NOTICE_LIMIT = 5
#: the import report shows at most this many problems (the count says how many there are)
REPORT_LIMIT = 500
_DEFAULT_ROWS = 3

View = TypeVar("View", bound=Callable[..., Any])


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {"t": t, "field_label": i18n.field_label, "field_error": i18n.field_error,
            "choice_label": i18n.choice_label,
            "format_moment": i18n.format_moment, "format_quantity": i18n.format_quantity,
            "pick": i18n.pick, "locale": i18n.current_locale(), "form_types": FORM_TYPES,
            "user": g.get("console_user"), "enterprise_name": g.get("enterprise_name"),
            "per_page_choices": PER_PAGE}


@bp.before_request
def _load_user() -> None:
    username = session.get("user")
    user = get_session().get(UserRow, username) if username else None
    if username and user is None:  # the account was removed since sign-in
        session.pop("user", None)
    g.console_user = user
    if user is not None:
        registered = get_session().get(EnterpriseRow, user.enterprise)
        g.enterprise_name = registered.name if registered else user.enterprise


def login_required(view: View) -> View:
    """Send visitors who are not signed in to the sign-in page, then back."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("console_user") is None:
            flash(t("login.required"), "warning")
            return redirect(url_for("console.login", next=request.full_path))
        return view(*args, **kwargs)

    return cast(View, wrapped)


def current_user() -> UserRow:
    """The signed-in account (in a view behind :func:`login_required`)."""
    user: UserRow = g.console_user
    return user


def console_viewer() -> Viewer:
    """Whose records the signed-in account may see (ledger/accounts/scope.py): its own
    enterprise, its district's enterprises (a district bureau) or everything (None)."""
    if "console_viewer" not in g:
        g.console_viewer = viewer_for(get_session(), current_user())
    viewer: Viewer = g.console_viewer
    return viewer

#: endpoint -> how that page shows a request the form or the ledger refused (a validation
#: ``ValidationError`` or a ``LedgerError``): pages in other modules register theirs with
#: :func:`error_page`; the record form and the import have theirs below
_ERROR_PAGES: dict[str, Callable[[Exception], Any]] = {}


def error_page(endpoint: str) -> Callable[[Callable[[Exception], Any]], Callable[[Exception],
                                                                                  Any]]:
    """Register the function that shows ``endpoint``'s page again with the refusal on it,
    after this blueprint's handlers have rolled the session back."""

    def register(handler: Callable[[Exception], Any]) -> Callable[[Exception], Any]:
        _ERROR_PAGES[endpoint] = handler
        return handler

    return register


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _now() -> str:
    """Now in the user's time zone, RFC 3339: the event time of records that carry none."""
    return datetime.now(_zone()).isoformat(timespec="seconds")


def _safe_next(target: str | None) -> str:
    # Only paths inside the console (or the public recall notices, whose language switch
    # comes back here), so the sign-in page cannot be used as an open redirect.
    if target and target.startswith(("/console", "/recalls", "/credit")) and not urlsplit(
            target).netloc:
        return target
    return url_for("console.dashboard")


# --- sign-in, sign-out, language ------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; on success the session cookie names the account.

    Regulator and admin accounts then need their second factor (web/console/second_factor.py):
    the password only opens that step. Failed posts are counted per account and per address
    (web/limits.py) and answered 429 once either is spent.
    """
    if request.method == "POST":
        user = authenticate(get_session(), request.form.get("username", "").strip(),
                            request.form.get("password", ""))
        if user is not None and needs_second_factor(user):
            lang = session.get("lang")
            session.clear()
            session["pending_user"] = user.username
            session["pending_since"] = time.time()
            if lang:
                session["lang"] = lang
            step = ("console.login_code" if enrolled(get_session(), user.username)
                    else "console.login_enrol")
            return redirect(url_for(step, next=request.args.get("next")))
        if user is not None:
            sign_in_session(user.username)
            return redirect(_safe_next(request.args.get("next")))
        audit.failed_sign_in(request.form.get("username", "").strip())
        flash(t("login.failed"), "error")
        return render_template("console/login.html"), 401
    return render_template("console/login.html")


def sign_in_session(username: str) -> None:
    """Start a fresh session (no fixation) signed in as ``username``, keeping the language."""
    lang = session.get("lang")
    session.clear()
    session["user"] = username
    if lang:
        session["lang"] = lang
    user = get_session().get(UserRow, username)
    if user is not None:
        audit.signed_in(user)


def safe_next(target: str | None) -> str:
    """``target`` when it is a console (or recall notice) path, else the dashboard."""
    return _safe_next(target)


@bp.post("/logout")
def logout() -> BaseResponse:
    """Forget the account (keep the language)."""
    audit.note("sign_out")
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(t("login.signed_out"), "success")
    return redirect(url_for("console.login"))


@bp.get("/lang/<code>")
def switch_language(code: str) -> BaseResponse:
    """Remember the chosen language in the session and go back where the user was."""
    if code in i18n.LOCALES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))


# --- dashboard ------------------------------------------------------------------------------


#: the lots listing: everyone's lots for the city bureau, a district's for its bureau, the
#: lots an enterprise made or holds for a producer
LOTS = Listing(
    name="lots",
    columns=(
        Column("product_name", "col.product", searchable=True),
        Column("gtin", "col.gtin", searchable=True),
        Column("lot", "col.lot", searchable=True),
        Column("maker", "col.origin", searchable=True,
               text=lambda item: str(item.get("origin_text", ""))),
        Column("maker_district", "col.maker_district", searchable=True, shown=False),
        Column("category", "col.category", shown=False),
        Column("produced_at", "col.produced_at"),
        Column("expiry", "col.expiry"),
        Column("quantity", "col.quantity", sort_by="quantity_value"),
        Column("unit", "col.unit", sortable=False, shown=False),
        Column("held", "col.stock_held", sortable=False,
               text=lambda item: str(item.get("held") if item.get("stock") else "")),
        Column("inspection", "col.inspection"),
        Column("serialized", "units.title"),
    ),
    default_sort="origin_seq", default_desc=True, tiebreak="gtin",
    filters=(
        Filter("inspection", "col.inspection",
               (("pass", "status.pass"), ("fail", "status.fail"), ("none", "status.none"))),
        Filter("origin_type", "col.origin",
               (("production", "origin.production"),
                ("material_intake", "origin.material_intake"))),
        Filter("district", "col.maker_district", column="maker_district", prefix=True),
    ),
)


#: the same listing for those who see others' stock: its stock column is a sum over holders
LOTS_ALL = replace(LOTS, columns=tuple(
    replace(c, label="col.stock_all") if c.key == "held" else c for c in LOTS.columns))
LOTS = replace(LOTS, columns=tuple(
    replace(c, label="col.stock") if c.key == "held" else c for c in LOTS.columns))


def _decorate_lots(items: list[dict[str, Any]]) -> None:
    """Stock held and the origin in words: 自产 only for the viewer's own lots, the maker's
    name for a lot received from another enterprise (or any lot, for a regulator)."""
    user = current_user()
    viewer = console_viewer()
    held = stock_held(get_session(), [(i["gtin"], i["lot"]) for i in items], viewer)
    for item in items:
        item["stock"] = held[(item["gtin"], item["lot"])]
        item["held"] = sum((Decimal(q) for q in item["stock"].values()), Decimal(0))
        item["own"] = item["origin"] == user.enterprise
        if item["own"]:
            item["origin_text"] = t("origin." + item["origin_type"])
        else:
            maker = item["maker"] or item["origin"]
            item["origin_text"] = t("origin.made_by" if item["origin_type"] == "production"
                                    else "origin.taken_in_by", maker=maker)


@bp.get("/")
@login_required
def dashboard() -> Any:
    """The lots the account may see (its enterprise's, its district's, or all), paged,
    searchable, sortable and filterable, downloadable as CSV or XLSX."""
    user = current_user()
    sees_all = user.role in ("regulator", "admin")
    query = lot_listing(console_viewer())
    listing = LOTS_ALL if sees_all else LOTS
    fmt = wants_download()
    if fmt:
        return download(get_session(), listing, query, fmt, decorate=_decorate_lots)
    page = run(get_session(), listing, query)
    _decorate_lots(page.items)
    # The open recalls the enterprise takes part in (regulators: all) head the page.
    notices = list_recalls(get_session(), viewer=console_viewer(),
                           now=get_ledger().clock(), limit=NOTICE_LIMIT, status=OPEN).items
    return render_template("console/dashboard.html", lots=page.items, listing=page,
                           sees_all=sees_all, recall_notices=notices)


# --- record forms ---------------------------------------------------------------------------


@bp.route("/records/<record_type>", methods=["GET", "POST"])
@login_required
def record(record_type: str) -> Any:
    """A record form; a valid post is signed with the enterprise's custodial key, appended
    and committed, then the form comes back empty with the new seq flashed."""
    if record_type not in FORM_TYPES:
        abort(404)
    if request.method == "GET":
        return _render_record(record_type, _fresh_values(record_type), {})
    event = EventSchema().load(form_to_event(record_type, request.form.to_dict(), _zone(),
                                             datetime.now(UTC)))
    db = get_session()
    ledger = get_ledger()
    statement = Statement(record_type, current_user().enterprise, "", event["event_time"],
                          event["payload"])
    (appended,) = submit(db, ledger, get_vault(), [statement])
    # A late record of goods a recall now covers notifies the holders it adds.
    queue_late_notices(db, ledger.clock(), [appended.entry.seq])
    db.commit()
    flash(t("form.recorded", seq=appended.entry.seq), "success")
    for notice in appended.notices:
        flash(f"{t('notice.' + notice.level)}: {i18n.pick(notice.message_zh, notice.message_en)}",
              "warning")
    return redirect(url_for("console.record", record_type=record_type))


def _fresh_values(record_type: str) -> dict[str, str]:
    # Times default to now, which is what a clerk recording at the dock usually means.
    now = datetime.now(_zone()).strftime("%Y-%m-%dT%H:%M")
    return {spec.name: now for spec in form_fields(record_type) if spec.widget == "datetime"}


def _render_record(record_type: str, values: Any, errors: dict[str, list[str]],
                   status: int = 200) -> tuple[str, int]:
    fields = form_fields(record_type)
    rows = {spec.name: max(row_count(values, spec.name), _DEFAULT_ROWS)
            for spec in fields if spec.widget == "rows"}
    gtins, lots = _suggestions(current_user().enterprise)
    page = render_template("console/record.html", record_type=record_type, fields=fields,
                           values=values, errors=errors, rows=rows, gtins=gtins, lots=lots)
    return page, status


def _suggestions(enterprise: str) -> tuple[list[str], list[str]]:
    """GTINs and lot codes the enterprise works with, offered as the user types."""
    db = get_session()
    gtins = set(db.scalars(select(ProductRow.gtin).where(ProductRow.enterprise == enterprise)))
    held = db.execute(select(StockRow.gtin, StockRow.lot)
                      .where(StockRow.enterprise == enterprise).limit(1000)).all()
    gtins.update(gtin for gtin, _lot in held)
    return sorted(gtins), sorted({lot for _gtin, lot in held})


# --- spreadsheet import ---------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_sheet() -> Any:
    """Upload a CSV or XLSX sheet of one record type; all rows are appended or none."""
    if request.method == "GET":
        return _render_import(request.args.get("type", MATERIAL_INTAKE))
    record_type = request.form.get("type", "")
    upload = request.files.get("file")
    if record_type not in SPREADSHEET_TYPES:
        flash(t("error.unknown_type"), "error")
        return _render_import(MATERIAL_INTAKE, status=422)
    if upload is None or not upload.filename:
        flash(t("import.no_file"), "error")
        return _render_import(record_type, status=422)
    rows = read_rows(upload.filename, upload.read())
    db = get_session()
    appended = import_rows(db, get_ledger(), get_vault(),
                           current_user().enterprise, record_type, rows,
                           language=i18n.current_locale(), default_event_time=_now())
    db.commit()
    flash(t("import.done", count=len(appended), first=appended[0].entry.seq,
            last=appended[-1].entry.seq), "success")
    warnings = [a for a in appended if a.notices]
    for item in warnings[:20]:
        for notice in item.notices:
            flash(f"seq {item.entry.seq} {t('notice.' + notice.level)}: "
                  f"{i18n.pick(notice.message_zh, notice.message_en)}", "warning")
    return redirect(url_for("console.import_sheet", type=record_type))


def _render_import(record_type: str, problems: list[Any] | None = None,
                   status: int = 200) -> tuple[str, int]:
    page = render_template("console/import.html", record_type=record_type,
                           types=SPREADSHEET_TYPES, problems=(problems or [])[:REPORT_LIMIT],
                           problem_count=len(problems or []), report_limit=REPORT_LIMIT)
    return page, status


@bp.get("/import/templates/<record_type>.<fmt>")
@login_required
def import_template(record_type: str, fmt: str) -> Response:
    """The CSV or XLSX template of a record type: header row and one example row."""
    if record_type not in SPREADSHEET_TYPES or fmt not in ("csv", "xlsx"):
        abort(404)
    if fmt == "csv":
        # With a BOM, or Excel on Windows reads UTF-8 as the ANSI code page.
        body = make_template_csv(record_type).encode("utf-8-sig")
        mimetype = "text/csv; charset=utf-8"
    else:
        body = make_template_xlsx(record_type)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={record_type}-template.{fmt}"})


# --- errors: shown on the page the user was on ----------------------------------------------


def _form_values() -> MultiDict[str, str]:
    return request.form


@bp.errorhandler(ValidationError)
def _invalid_form(exc: ValidationError) -> Any:
    get_session().rollback()
    if request.endpoint in _ERROR_PAGES:
        return _ERROR_PAGES[request.endpoint](exc)
    record_type = (request.view_args or {}).get("record_type", "")
    if request.endpoint != "console.record" or record_type not in FORM_TYPES:
        flash(i18n.field_error(str(exc.messages)), "error")  # no form to show it next to
        return redirect(url_for("console.dashboard"))
    flash(t("form.errors"), "error")
    return _render_record(record_type, _form_values(), errors_by_field(record_type,
                                                                         exc.messages), 422)


@bp.errorhandler(LedgerError)
def _refused(exc: LedgerError) -> Any:
    get_session().rollback()
    if request.endpoint in _ERROR_PAGES:
        return _ERROR_PAGES[request.endpoint](exc)
    message = i18n.pick(getattr(exc, "message_zh", None), exc.message)
    if request.endpoint == "console.record":
        record_type = (request.view_args or {}).get("record_type", "")
        flash(t("form.rejected", message=message), "error")
        field_name = ledger_error_field(exc.field)
        return _render_record(record_type, _form_values(), {field_name: [message]}, 422)
    flash(message, "error")
    if request.endpoint == "console.import_sheet":
        return _render_import(request.form.get("type", MATERIAL_INTAKE), status=422)
    return redirect(url_for("console.dashboard"))


@bp.errorhandler(SpreadsheetError)
def _bad_sheet(exc: SpreadsheetError) -> Any:
    get_session().rollback()
    flash(t("import.failed", count=len(exc.problems)), "error")
    return _render_import(request.form.get("type", MATERIAL_INTAKE), exc.problems, 422)


@bp.errorhandler(CSRFError)
def _csrf_failed(_exc: CSRFError) -> BaseResponse:
    flash(t("csrf.expired"), "error")
    target = request.path if request.endpoint != "console.logout" else url_for("console.login")
    return redirect(target)
