"""The second sign-in step of regulator and admin accounts: a TOTP code, or, for an account
that has none yet, enrolment (a QR code of the secret and a confirming code).

The password step (``console.login``) leaves only ``pending_user`` in the session, for at most
:data:`PENDING_SECONDS`; the account is signed in (``user``) once the code is right. Wrong codes
answer 401 and count against the same per-account and per-address sign-in limits as wrong
passwords (web/limits.py). See ledger/accounts/totp.py for the factor itself.
"""

from __future__ import annotations

import time
from typing import Any

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from markupsafe import Markup

from ledger.accounts.models import UserRow
from ledger.accounts.totp import (
    TotpVault,
    begin_enrolment,
    check_code,
    confirm_enrolment,
    enrolled,
    needs_second_factor,
)
from web.console.i18n import t
from web.console.views import bp, safe_next, sign_in_session
from web.db import get_session

__all__ = ["PENDING_SECONDS", "pending_username", "totp_vault"]

#: how long after the right password the second step may be taken
PENDING_SECONDS = 300


def totp_vault() -> TotpVault:
    """The app's vault of second-factor secrets (sealed under its secret key)."""
    vault: TotpVault | None = current_app.extensions.get("tracenet.totp_vault")
    if vault is None:
        vault = current_app.extensions["tracenet.totp_vault"] = TotpVault(
            str(current_app.config["SECRET_KEY"]))
    return vault


def pending_username() -> str:
    """The account whose password was right in this session and which awaits its code ('')."""
    username = session.get("pending_user")
    since = session.get("pending_since")
    if not isinstance(username, str) or not isinstance(since, (int, float)):
        return ""
    return username if time.time() - since <= PENDING_SECONDS else ""


def _pending() -> UserRow | None:
    username = pending_username()
    user = get_session().get(UserRow, username) if username else None
    return user if user is not None and needs_second_factor(user) else None


def _start_again() -> Any:
    session.pop("pending_user", None)
    session.pop("pending_since", None)
    flash(t("login.expired"), "warning")
    return redirect(url_for("console.login", next=request.args.get("next")))


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    """The one-time code of an enrolled account, after its password."""
    user = _pending()
    if user is None:
        return _start_again()
    db = get_session()
    if not enrolled(db, user.username):
        return redirect(url_for("console.login_enrol", next=request.args.get("next")))
    if request.method == "POST":
        if check_code(db, totp_vault(), user.username, request.form.get("code", "")):
            db.commit()  # the accepted step, so the code cannot serve twice
            sign_in_session(user.username)
            return redirect(safe_next(request.args.get("next")))
        flash(t("login.code_failed"), "error")
        return render_template("console/login_code.html"), 401
    return render_template("console/login_code.html")


@bp.route("/login/enrol", methods=["GET", "POST"])
def login_enrol() -> Any:
    """Enrolment of an account's second factor: the QR code and key, then a confirming code."""
    user = _pending()
    if user is None:
        return _start_again()
    db = get_session()
    if enrolled(db, user.username):
        return redirect(url_for("console.login_code", next=request.args.get("next")))
    vault = totp_vault()
    enrolment = begin_enrolment(db, vault, user.username)
    db.commit()
    status = 200
    if request.method == "POST":
        if confirm_enrolment(db, vault, user.username, request.form.get("code", "")):
            db.commit()
            sign_in_session(user.username)
            flash(t("login.enrolled"), "success")
            return redirect(safe_next(request.args.get("next")))
        flash(t("login.code_failed"), "error")
        status = 401
    qr = Markup(segno.make(enrolment.uri, error="m").svg_inline(  # noqa: S704 - segno's own SVG
        scale=4, border=2, title=t("login.enrol_qr")))
    response = current_app.make_response(
        (render_template("console/login_enrol.html", qr=qr, secret=enrolment.secret,
                         uri=enrolment.uri), status))
    response.headers["Cache-Control"] = "no-store"  # the page shows a secret
    return response
