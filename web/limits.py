"""Abuse limits on every request: rates per address, the body's size, and JSON nesting.

- **Rates** (Flask-Limiter, per client address): every endpoint shares a generous ceiling;
  the public endpoints (the shopper's pages, the resolver, code parsing and lookups) have a
  tighter one, and decoding uploaded photos, which costs CPU, the tightest. The counters live in
  ``RATELIMIT_STORAGE_URI`` (``TRACENET_RATELIMIT_STORAGE_URI``): the default, ``memory://``,
  counts per gunicorn worker, so the effective ceiling is the limit times the workers; give a
  shared store (``redis://…``, ``memcached://…``) to count across workers and hosts. Behind a
  reverse proxy the client address is the proxy's unless ProxyFix is configured (README).
- **Sign-in** (the console's password and second-factor steps): *failed* attempts (answered
  401) are counted per account (``RATELIMIT_SIGNIN_ACCOUNT``, 5 a minute; counted in the
  database, table ``sign_in_failures``, so every worker sees the same count whatever the rate
  store) and per address (``RATELIMIT_SIGNIN_ADDRESS``, 20 a minute, Flask-Limiter's count);
  once either is spent every attempt, the right password included, is answered 429 with a
  message (the sign-in page for a browser, the JSON error for other clients) and
  ``Retry-After`` until the window moves on. Successful sign-ins
  cost nothing, so a clerk who types well is never throttled.
- **Body size**: a request whose ``Content-Length`` exceeds ``MAX_CONTENT_LENGTH`` is answered
  413 before a byte of its body is read; a body without a length (chunked) is read up to the
  same size and refused with the same 413 once it reaches it.
- **JSON nesting**: a JSON body nested deeper than :data:`MAX_JSON_DEPTH` is answered 400
  before any view parses it, so no recursion in a parser, a schema or the canonical form can be
  driven by input.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    render_template,
    request,
    session,
)
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse
from werkzeug.exceptions import RequestEntityTooLarge

from ledger.accounts.throttle import failures, record_failure
from web.db import get_session
from web.errors import ApiError, error_response

__all__ = ["MAX_JSON_DEPTH", "init_app", "json_depth_exceeds"]

#: How deep a JSON body may nest: EPCIS documents, the deepest we take, need about ten levels.
MAX_JSON_DEPTH = 64

#: The defaults of the settings this module reads; each can be set by ``TRACENET_<NAME>``.
DEFAULTS: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    # Every endpoint, per address: a ceiling that no person or honest integration reaches.
    "RATELIMIT_DEFAULT": "3000 per minute",
    # The public endpoints (no sign-in), per address.
    "RATELIMIT_PUBLIC": "1200 per minute;20000 per hour",
    # Decoding an uploaded photo, per address: room for a client checking a batch of photos;
    # each photo's work is bounded by the decoder's own byte, pixel and time limits.
    "RATELIMIT_SCAN": "300 per minute;3000 per hour",
    # Failed sign-ins (wrong password or code) per account, and per address.
    "RATELIMIT_SIGNIN_ACCOUNT": "5 per minute",
    "RATELIMIT_SIGNIN_ADDRESS": "20 per minute",
}

#: the console's sign-in steps, whose failures the sign-in limits count
SIGN_IN_ENDPOINTS = ("console.login", "console.login_code", "console.login_enrol")

#: Which limit each public blueprint gets (blueprints not registered are skipped).
PUBLIC_BLUEPRINTS = {
    "public": "RATELIMIT_PUBLIC",
    "transparency": "RATELIMIT_PUBLIC",
    "public_spot_checks": "RATELIMIT_PUBLIC",
    "credit": "RATELIMIT_PUBLIC",
    "resolver": "RATELIMIT_PUBLIC",
    "shopper": "RATELIMIT_PUBLIC",
    "public_api": "RATELIMIT_PUBLIC",
    "shopper_photo": "RATELIMIT_SCAN",
    "codes": "RATELIMIT_PUBLIC",
    "scan": "RATELIMIT_SCAN",
}


def init_app(app: Flask) -> None:
    """Read the limits' settings, and guard every request of ``app`` with them.

    Call after every blueprint is registered: the public ones get their limits by name.
    """
    for name, default in DEFAULTS.items():
        if app.config.get(name) is None:  # Flask's own default for the body size is None
            app.config[name] = _from_environment(name, default)
    limiter = Limiter(get_remote_address, app=app,
                      default_limits=[_setting("RATELIMIT_DEFAULT")],
                      storage_uri=app.config["RATELIMIT_STORAGE_URI"],
                      enabled=bool(app.config["RATELIMIT_ENABLED"]))
    for blueprint, setting in PUBLIC_BLUEPRINTS.items():
        if blueprint in app.blueprints:
            limiter.limit(_setting(setting))(cast(Blueprint, app.blueprints[blueprint]))
    # Tiles are immutable range reads that mirrors and monitors fetch by the thousand.
    for exempt in ("tiles",):
        if exempt in app.blueprints:
            limiter.exempt(cast(Blueprint, app.blueprints[exempt]))
    for endpoint in SIGN_IN_ENDPOINTS:
        if endpoint in app.view_functions:
            # Decorated limits are checked by the wrapper the decorator returns, so the
            # wrapped view replaces the registered one.
            # Per account, the count is kept in the database (every worker sees it): below.
            per_address = limiter.shared_limit(
                _setting("RATELIMIT_SIGNIN_ADDRESS"), scope="sign-in-address",
                key_func=get_remote_address, deduct_when=_failed_sign_in, methods=["POST"])
            view: Callable[..., Any] = app.view_functions[endpoint]
            app.view_functions[endpoint] = per_address(view)
    app.before_request(_refuse_throttled_account)
    app.after_request(_count_failed_sign_in)
    limiter.exempt(app.view_functions["health.healthz"])
    if "static" in app.view_functions:
        limiter.exempt(app.view_functions["static"])
    app.extensions["tracenet.limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    # Our own headers rather than Flask-Limiter's, which puts a Retry-After of the window's end
    # on every answer, over a view's own (a wait for a checkpoint says 1 s, not 60).
    app.after_request(_rate_headers)
    app.register_error_handler(RequestEntityTooLarge, _body_cut_off)
    # Before the limiter counts the request: a body too large is refused for free.
    app.before_request_funcs.setdefault(None, []).insert(0, _guard_body)


def json_depth_exceeds(value: Any, bound: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests arrays and objects more than ``bound`` deep.

    Walks with an explicit stack, so a deep value cannot exhaust Python's own.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else None
        if children is None:
            continue
        if depth > bound:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _guard_body() -> Response | None:
    limit_ = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit_ is not None and (request.content_length or 0) > limit_:
        raise ApiError(413, "body_too_large",
                       f"the request body is {request.content_length} bytes; at most "
                       f"{limit_} bytes are accepted", "body")
    if (limit_ is not None and request.content_length is None
            and request.method in ("POST", "PUT", "PATCH")
            and len(request.get_data(cache=True)) >= limit_):
        # A body without a length (chunked): Werkzeug stops reading it at the limit without a
        # word, so a view would see it cut short; refuse it as one whose length said so.
        raise RequestEntityTooLarge()
    if request.is_json and request.method in ("POST", "PUT", "PATCH"):
        _refuse_deep_json()
    return None


def _refuse_deep_json() -> None:
    too_deep = ApiError(400, "json_too_deep",
                        f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", "body")
    try:
        # Parsed through the request (and kept there) so the view's get_json does not parse
        # the body again; None when it is not JSON at all: the view says so, as it always has.
        value = request.get_json(silent=True, cache=True)
    except RecursionError:  # the C parser's own bound (far deeper than ours) was reached
        raise too_deep from None
    if json_depth_exceeds(value):
        raise too_deep


def _body_cut_off(_exc: RequestEntityTooLarge) -> tuple[Response, int]:
    # A body sent without a length (chunked) that grew past the limit as it was read: the same
    # answer as one whose Content-Length said so.
    limit_ = current_app.config.get("MAX_CONTENT_LENGTH")
    return error_response(413, "body_too_large",
                          f"the request body is larger than the {limit_} bytes accepted", "body")


def _sign_in_account() -> str:
    """The account a sign-in step is for: the username typed, or the one whose password was
    right and awaits its code (the session's ``pending_user``)."""
    name = request.form.get("username", "").strip() or session.get("pending_user") or ""
    return f"account:{name}" if isinstance(name, str) and name else ""


def _account_limit() -> tuple[int, float]:
    item = parse(str(current_app.config["RATELIMIT_SIGNIN_ACCOUNT"]))
    return item.amount, float(item.get_expiry())


def _refuse_throttled_account() -> tuple[Response, int] | None:
    """A sign-in step for an account that failed too often within the window: 429."""
    if request.method != "POST" or request.endpoint not in SIGN_IN_ENDPOINTS:
        return None
    account = _sign_in_account()
    if not account or not current_app.config["RATELIMIT_ENABLED"]:
        return None
    amount, window = _account_limit()
    now = time.time()
    count, frees_at = failures(get_session(), account, now, window)
    if count < amount:
        return None
    return _too_many_sign_ins(max(1, math.ceil(frees_at - now)))


def _count_failed_sign_in(response: Response) -> Response:
    if (request.method == "POST" and request.endpoint in SIGN_IN_ENDPOINTS
            and _failed_sign_in(response) and current_app.config["RATELIMIT_ENABLED"]):
        account = _sign_in_account()
        if account:
            db = get_session()
            db.rollback()  # nothing of a refused attempt is kept but its count
            record_failure(db, account, time.time())
            db.commit()
    return response


def _failed_sign_in(response: Response) -> bool:
    return response.status_code == 401


def _retry_after() -> int:
    current = _limiter().current_limit
    return max(1, math.ceil(current.reset_at - time.time())) if current is not None else 60


def _too_many_requests(exc: RateLimitExceeded) -> tuple[Response, int]:
    if request.endpoint in SIGN_IN_ENDPOINTS:
        return _too_many_sign_ins()
    response, status = error_response(
        429, "too_many_requests",
        f"too many requests from your address (at most {exc.description}); wait a moment and "
        "try again", None, message_zh=f"请求过于频繁（上限：{exc.description}），请稍后再试")
    current = _limiter().current_limit
    if current is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(current.reset_at - time.time())))
    return response, status


def _too_many_sign_ins(seconds: int | None = None) -> tuple[Response, int]:
    # Imported here: the console imports this module's settings, not the other way round.
    from web.console.i18n import t

    seconds = seconds or _retry_after()
    account = str(current_app.config["RATELIMIT_SIGNIN_ACCOUNT"]).split(" per")[0]
    address = str(current_app.config["RATELIMIT_SIGNIN_ADDRESS"]).split(" per")[0]
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json" and not request.accept_mimetypes["text/html"] > (
            request.accept_mimetypes["application/json"]):
        response, status = error_response(
            429, "too_many_sign_ins",
            f"too many failed sign-ins (at most {account} a minute for one account, {address} "
            f"from one address); try again in {seconds} seconds", "username",
            message_zh=f"登录失败次数过多（同一账号每分钟最多 {account} 次，同一地址每分钟最多 "
                       f"{address} 次），请在 {seconds} 秒后再试")
    else:
        flash(t("login.throttled", account=account, address=address, seconds=seconds), "error")
        response = current_app.make_response(
            (render_template("console/login.html"), 429))
        status = 429
    response.headers["Retry-After"] = str(seconds)
    return response, status


def _rate_headers(response: Response) -> Response:
    """The limit the request counted against, what is left of it, and when it resets."""
    current = _limiter().current_limit
    if current is not None:
        response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(current.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(current.reset_at))
    return response


def _limiter() -> Limiter:
    limiter: Limiter = current_app.extensions["tracenet.limiter"]
    return limiter


def _setting(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


def _from_environment(name: str, default: Any) -> Any:
    raw = os.environ.get(f"TRACENET_{name}")
    if raw is None or raw == "":
        return default
    if isinstance(default, bool):
        return raw.strip().lower() not in ("0", "false", "no", "off")
    if isinstance(default, int):
        return int(raw)
    return raw
