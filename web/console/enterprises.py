"""Console pages of the bureau's work on who is on the network, each a listing
(web/console/listing.py) within the account's scope (ledger/accounts/scope.py):

- ``/console/records``: supervision records (everyone's for the city bureau, its district's
  for a district bureau, an enterprise's own and those naming it for a producer);
- ``/console/enterprises``: the enterprises registered on the ledger, and for a bureau the
  form that registers one (``/console/enterprises/new``);
- ``/console/enterprises/<uscc>``: one enterprise, with its API tokens and console accounts,
  which a bureau issues and revokes here;
- ``/console/audit``: the audit trail (who viewed or did what), downloadable.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ledger.accounts.audit import audit_query
from ledger.accounts.roles import ADMIN, PRODUCER, REGULATOR, ROLES
from ledger.accounts.scope import may_see, visible_enterprises
from ledger.errors import LedgerError
from ledger.log.storage import EnterpriseRow
from ledger.supervision.listings import enterprise_listing, record_listing
from ledger.supervision.registry import RECORD_TYPES
from web import audit, onboarding
from web.console import i18n
from web.console.i18n import t
from web.console.listing import Column, Filter, Listing, download, run, wants_download
from web.console.views import bp, console_viewer, current_user, error_page, login_required
from web.db import get_session

__all__ = ["AUDIT", "ENTERPRISES", "RECORDS"]

RECORDS = Listing(
    name="records",
    columns=(
        Column("seq", "col.seq"),
        Column("type", "col.type", text=lambda item: t("type." + str(item["type"]))),
        Column("event_time", "col.event_time"),
        Column("enterprise_name", "col.enterprise", searchable=True),
        Column("district", "col.district", searchable=True),
        Column("counterparty_name", "col.counterparty", searchable=True),
        Column("product_name", "col.product", searchable=True),
        Column("gtin", "col.gtin", searchable=True),
        Column("lot", "col.lot", searchable=True),
        Column("quantity", "col.quantity", sortable=False),
        Column("unit", "col.unit", sortable=False, shown=False),
        Column("document_no", "col.document_no", searchable=True),
        Column("verdict", "col.verdict"),
        Column("superseded_by", "col.superseded", shown=False),
        Column("enterprise", "col.uscc", searchable=True, shown=False),
    ),
    default_sort="seq", default_desc=True,
    filters=(
        Filter("type", "col.type", tuple((r.name, "type." + r.name) for r in RECORD_TYPES)),
        Filter("verdict", "col.verdict", (("pass", "choice.verdict.pass"),
                                          ("fail", "choice.verdict.fail"))),
        Filter("district", "col.district", prefix=True),
    ),
)

ENTERPRISES = Listing(
    name="enterprises",
    columns=(
        Column("name", "col.name", searchable=True),
        Column("uscc", "col.uscc", searchable=True),
        Column("district", "col.district", searchable=True),
        Column("roles", "col.roles",
               text=lambda item: "、".join(t("role." + r) for r in str(item["roles"]).split(","))),
        Column("registered_seq", "col.registered_seq"),
    ),
    default_sort="registered_seq", default_desc=False, tiebreak="uscc",
    filters=(
        Filter("role", "col.roles", tuple((r, "role." + r) for r in ROLES), column="roles"),
        Filter("district", "col.district", prefix=True),
    ),
)

AUDIT = Listing(
    name="audit-log",
    columns=(
        Column("at", "audit.col.at", searchable=True),
        Column("actor", "audit.col.actor", searchable=True),
        Column("enterprise", "audit.col.enterprise", searchable=True),
        Column("role", "audit.col.role"),
        Column("district", "col.district", shown=False),
        Column("channel", "audit.col.channel"),
        Column("action", "audit.col.action",
               text=lambda item: t("audit.action." + str(item["action"]))),
        Column("method", "audit.col.method", shown=False),
        Column("path", "audit.col.path", searchable=True),
        Column("status", "audit.col.status"),
        Column("address", "audit.col.address", searchable=True),
        Column("detail", "audit.col.detail", searchable=True),
        Column("id", "col.seq", shown=False),
    ),
    default_sort="id", default_desc=True,
    filters=(
        Filter("action", "audit.col.action", tuple(
            (a, "audit.action." + a) for a in (
                "view", "change", "download", "sign_in", "sign_in_failed", "sign_out",
                "enterprise_added",
                "token_issued", "token_revoked", "user_created", "user_removed"))),
        Filter("channel", "audit.col.channel", (("console", "audit.channel.console"),
                                                ("api", "audit.channel.api"))),
        Filter("actor", "audit.col.actor"),
    ),
)


def _decorate_records(items: list[dict[str, Any]]) -> None:
    for item in items:
        item["type_name"] = t("type." + str(item["type"]))


def _is_manager() -> bool:
    return current_user().role in (REGULATOR, ADMIN)


@bp.get("/records")
@login_required
def records_page() -> Any:
    """Supervision records within the account's scope, newest first."""
    query = record_listing(console_viewer())
    fmt = wants_download()
    if fmt:
        return download(get_session(), RECORDS, query, fmt)
    page = run(get_session(), RECORDS, query)
    _decorate_records(page.items)
    return render_template("console/records.html", listing=page, records=page.items,
                           sees_all=current_user().role != PRODUCER)


@bp.get("/enterprises")
@login_required
def enterprises_page() -> Any:
    """The enterprises the account may see (a district bureau: its district's only)."""
    only = visible_enterprises(get_session(), current_user())
    if current_user().role == PRODUCER:
        only = None  # who is on the network is public (the API's directory says as much)
    query = enterprise_listing(only)
    fmt = wants_download()
    if fmt:
        return download(get_session(), ENTERPRISES, query, fmt)
    page = run(get_session(), ENTERPRISES, query)
    return render_template("console/enterprises.html", listing=page, enterprises=page.items,
                           may_register=_is_manager())


@bp.route("/enterprises/new", methods=["GET", "POST"])
@login_required
def register_enterprise_page() -> Any:
    """The bureau's form registering an enterprise on the ledger."""
    if not _is_manager():
        abort(403)
    if request.method == "GET":
        return _render_register({}, {})
    form = request.form
    body = {
        "uscc": form.get("uscc", "").strip(), "name": form.get("name", "").strip(),
        "district": form.get("district", "").strip(),
        "roles": [form.get("role", PRODUCER)],
        "licences": _pairs(form.get("licences", "")),
        "gs1_prefixes": _lines(form.get("gs1_prefixes", "")),
        "glns": _lines(form.get("glns", "")),
    }
    registered = onboarding.register(get_session(), current_user(), body)
    get_session().commit()
    flash(t("onboard.done", name=registered["name"], uscc=registered["uscc"],
            seq=registered["registered_seq"]), "success")
    return redirect(url_for("console.enterprise_page", uscc=registered["uscc"]))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("，", ",").replace(",", "\n").splitlines()
            if line.strip()]


def _pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip():
            name, _sep, number = line.replace("＝", "=").partition("=")
            pairs[name.strip()] = number.strip()
    return pairs


def _render_register(values: Any, errors: dict[str, list[str]],
                     status: int = 200) -> tuple[str, int]:
    roles = ROLES if current_user().role == ADMIN or not current_user().district else (PRODUCER,)
    return render_template("console/enterprise_new.html", values=values, errors=errors,
                           roles=roles), status


@error_page("console.register_enterprise_page")
def _register_refused(exc: Exception) -> Any:
    errors = _errors(exc)
    flash(t("form.errors"), "error")
    return _render_register(request.form, errors, 422)


def _errors(exc: Exception) -> dict[str, list[str]]:
    if isinstance(exc, LedgerError):
        field = str(exc.field[0]) if isinstance(exc.field, tuple) and exc.field else str(
            exc.field or "")
        return {field or "_": [i18n.pick(getattr(exc, "message_zh", None), exc.message)]}
    messages = getattr(exc, "messages", {})
    found: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for name, value in messages.items():
            found[str(name)] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return found


@bp.get("/enterprises/<uscc>")
@login_required
def enterprise_page(uscc: str) -> Any:
    """One enterprise; for a bureau, its API tokens and console accounts to manage."""
    if len(uscc) > 40 or not uscc.isprintable():
        abort(404)
    row = get_session().get(EnterpriseRow, uscc)
    user = current_user()
    if row is None or (user.role != PRODUCER and not may_see(get_session(), user, uscc)):
        abort(404)
    tokens = users = None
    if _is_manager():
        tokens = onboarding.tokens_of(get_session(), user, uscc)
        users = onboarding.users_of(get_session(), user, uscc)
    return render_template("console/enterprise.html", enterprise=row, tokens=tokens,
                           users=users, issued=None, roles=row.roles.split(","))


@bp.post("/enterprises/<uscc>/tokens")
@login_required
def issue_token_page(uscc: str) -> Any:
    """Issue a token; the page shows it this once."""
    if not _is_manager():
        abort(403)
    issued = onboarding.issue(get_session(), current_user(), uscc, {
        "role": request.form.get("role", PRODUCER),
        "district": request.form.get("district", ""),
        "label": request.form.get("label", "")})
    get_session().commit()
    row = get_session().get(EnterpriseRow, uscc)
    return render_template(
        "console/enterprise.html", enterprise=row, issued=issued,
        tokens=onboarding.tokens_of(get_session(), current_user(), uscc),
        users=onboarding.users_of(get_session(), current_user(), uscc),
        roles=row.roles.split(",") if row else [])


@bp.post("/enterprises/<uscc>/tokens/<token_id>/revoke")
@login_required
def revoke_token_page(uscc: str, token_id: str) -> BaseResponse:
    """Revoke a token by its id."""
    if not _is_manager():
        abort(403)
    onboarding.revoke(get_session(), current_user(), uscc, token_id)
    get_session().commit()
    flash(t("access.revoked", token=token_id), "success")
    return redirect(url_for("console.enterprise_page", uscc=uscc))


@bp.post("/enterprises/<uscc>/users")
@login_required
def add_user_page(uscc: str) -> BaseResponse:
    """Open a console account for the enterprise."""
    if not _is_manager():
        abort(403)
    added = onboarding.add_user(get_session(), current_user(), uscc, {
        "username": request.form.get("username", "").strip(),
        "password": request.form.get("password", ""),
        "role": request.form.get("role", PRODUCER),
        "district": request.form.get("district", "")})
    get_session().commit()
    flash(t("access.user_added", username=added["username"]), "success")
    return redirect(url_for("console.enterprise_page", uscc=uscc))


@bp.post("/enterprises/<uscc>/users/<username>/remove")
@login_required
def remove_user_page(uscc: str, username: str) -> BaseResponse:
    """Close a console account of the enterprise."""
    if not _is_manager():
        abort(403)
    onboarding.remove_user(get_session(), current_user(), uscc, username)
    get_session().commit()
    flash(t("access.user_removed", username=username), "success")
    return redirect(url_for("console.enterprise_page", uscc=uscc))


for _endpoint in ("console.issue_token_page", "console.add_user_page",
                  "console.revoke_token_page", "console.remove_user_page"):
    @error_page(_endpoint)
    def _access_refused(exc: Exception) -> Any:
        for messages in _errors(exc).values():
            for message in messages:
                flash(i18n.field_error(message), "error")
        uscc = (request.view_args or {}).get("uscc", "")
        return redirect(url_for("console.enterprise_page", uscc=uscc))


@bp.get("/audit")
@login_required
def audit_page() -> Any:
    """The audit trail: all of it for the city bureau and administrators, a district's
    organisations (and the bureau itself) for a district bureau, an enterprise's own
    accounts for a producer."""
    user = current_user()
    viewer = console_viewer()
    only = None if viewer is None else ({viewer} if isinstance(viewer, str) else set(viewer))
    query = audit_query(only=only)
    fmt = wants_download()
    if fmt:
        audit.note(detail=f"audit log {fmt}")
        return download(get_session(), AUDIT, query, fmt)
    page = run(get_session(), AUDIT, query)
    return render_template("console/audit.html", listing=page, rows=page.items,
                           sees_all=user.role != PRODUCER)
