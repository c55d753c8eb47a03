"""Browser-facing hardening: security headers on every answer, the session cookie's flags and
the reverse-proxy setting.

- **Headers**: every response carries a Content-Security-Policy that allows scripts only from
  the app's own files (no inline script, no ``eval``; ``'wasm-unsafe-eval'`` for the shopper's
  camera decoder, zxing-wasm), ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for
  older browsers), ``X-Content-Type-Options: nosniff``, a ``Referrer-Policy`` and a
  ``Permissions-Policy`` that lets only our own pages use the camera. Inline ``style=``
  *attributes* stay allowed (``style-src-attr 'unsafe-inline'``): a few pages draw bars and
  indentation from data that way; ``<style>`` elements and foreign style sheets are still
  refused, and styles cannot run script. The Swagger UI at ``/api/docs`` boots with an
  inline script it ships, so that one page (not its assets, not the API) gets a policy that
  allows inline script; it shows only the public OpenAPI document.
- **Session cookie**: ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` whenever the request came
  over TLS (or always, with ``SESSION_COOKIE_SECURE``).
- **Behind a reverse proxy** (``TRACENET_PROXY_HOPS=N``, default 0): the app trusts the last
  ``N`` ``X-Forwarded-For/-Proto/-Host/-Port/-Prefix`` values (werkzeug's ``ProxyFix``), so the
  client address (rate limits) and the scheme (the Secure cookie, absolute URLs) are the
  client's, not the proxy's. Set it to the number of proxies in front of the app, never more:
  a value too large lets a client forge its address.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["CONTENT_SECURITY_POLICY", "DOCS_CONTENT_SECURITY_POLICY", "SECURITY_HEADERS",
           "init_app"]

#: the policy of every page but the API docs
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
])

#: the Swagger UI page, which boots from an inline script of flask-smorest's template
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")

#: the headers besides the policy, on every response
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=()",
}

#: the paths whose pages get :data:`DOCS_CONTENT_SECURITY_POLICY`
DOCS_PATHS = ("/api/docs",)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with ``Secure`` set whenever the request is https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask) -> None:
    """Add the security headers, the cookie flags and (``PROXY_HOPS``) ProxyFix to ``app``."""
    # Flask's config has the key already (None), so setdefault would leave it unset.
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.session_interface = _SessionInterface()
    hops = proxy_hops(app.config)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops, x_port=hops, x_prefix=hops)
    app.after_request(_headers)


def proxy_hops(config: Any) -> int:
    """How many reverse proxies the app trusts: ``PROXY_HOPS`` (``TRACENET_PROXY_HOPS``), 0."""
    raw = config.get("PROXY_HOPS")
    if raw is None or raw == "":
        raw = os.environ.get("TRACENET_PROXY_HOPS", "0") or "0"
    try:
        hops = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"TRACENET_PROXY_HOPS must be a whole number, got {raw!r}") from None
    if hops < 0:
        raise ValueError(f"TRACENET_PROXY_HOPS must be 0 or more, got {hops}")
    return hops


def _headers(response: Response) -> Response:
    docs = request.path.rstrip("/") in DOCS_PATHS
    response.headers["Content-Security-Policy"] = (DOCS_CONTENT_SECURITY_POLICY if docs
                                                   else CONTENT_SECURITY_POLICY)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
