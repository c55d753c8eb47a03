"""The enterprise console (/console): server-rendered pages where producers sign in, see
their lots and record supervision entries through forms or spreadsheet imports.

Forms post exactly what the API would receive, validated by the same schemas and appended by
the same ledger functions, so the console is a second door into one ledger, not a second
set of rules.
"""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from web.console.i18n import DEFAULT_LOCALE, LOCALES

__all__ = ["BEARER_PREFIXES", "PUBLIC_POSTS", "init_app"]

#: URL prefixes of the APIs that authenticate every request by its bearer token. A browser
#: never attaches such a token by itself, so cross-site request forgery cannot ride on it;
#: CSRF tokens are for requests that a session cookie authenticates (the forms).
BEARER_PREFIXES = ("/api/", "/epcis/")
#: public form posts that act for nobody (a shopper's photo upload): nothing to forge
PUBLIC_POSTS = ("/scan/photo",)

_csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Wire locale selection, CSRF protection and the console blueprint into ``app``."""
    # Importing a page module adds its routes to the views' blueprint, before it is registered.
    from web.console import (  # noqa: F401
        credit,
        enterprises,
        exports,
        incident,
        recalls,
        reports,
        risk,
        second_factor,
        trace,
        units,
        views,
    )

    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    # The supervision network is national and China has one time zone; dates are shown and
    # form times are read in it.
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    # CSRF is checked by our own hook below (so that the bearer-token APIs, present and
    # future, are exempt by prefix rather than blueprint by blueprint).
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # A token lives as long as the signed-in session: a clerk who leaves a half-filled
    # form open over lunch should not lose it.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    if "babel" not in app.extensions:
        Babel(app, locale_selector=_locale)
    _csrf.init_app(app)
    app.before_request(_check_csrf)
    app.register_blueprint(views.bp)


def _locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def _check_csrf() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.path.startswith(BEARER_PREFIXES) or request.path in PUBLIC_POSTS:
        return
    _csrf.protect()  # a no-op for GET, HEAD, OPTIONS and TRACE
