"""Sign-in as a bureau requires it: throttled failures, a TOTP second factor for regulators and
admins, the session cookie's flags, ProxyFix, and the security headers on every page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.accounts.models import TotpRow
from ledger.accounts.totp import (
    STEP,
    TotpVault,
    begin_enrolment,
    check_code,
    confirm_enrolment,
    reset_second_factor,
)
from tests.conftest import make_app, run_cli
from tests.web.test_api import add_enterprise
from tests.web.test_console import PASSWORD, add_user, csrf_token, enrol_second_factor, sign_in
from web.security import CONTENT_SECURITY_POLICY

HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "strict-origin-when-cross-origin"}


def post_password(client: FlaskClient, username: str, password: str, **extra: Any) -> Any:
    return client.post("/console/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_token(client)}, **extra)


# --- throttling ---------------------------------------------------------------------------


def test_the_sixth_wrong_password_in_a_minute_is_throttled_and_so_is_the_right_one(
        sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, _ = add_enterprise(sqlite_app, 1)
    add_user(sqlite_app, uscc, "clerk")
    for _ in range(5):
        assert post_password(client, "clerk", "wrong-password").status_code == 401
    sixth = post_password(client, "clerk", "wrong-password")
    assert sixth.status_code == 429
    assert "登录失败次数过多" in sixth.text  # the sign-in page, with the message
    assert int(sixth.headers["Retry-After"]) >= 1
    assert sixth.headers["Content-Type"].startswith("text/html")
    # The right password does not get through either until the window moves on.
    right = post_password(client, "clerk", PASSWORD)
    assert right.status_code == 429
    assert "user" not in _session(client)
    # English page, and JSON for a client that asks for it.
    client.get("/console/lang/en")
    assert "Too many failed sign-ins" in post_password(client, "clerk", PASSWORD).text
    as_json = post_password(client, "clerk", PASSWORD, headers={"Accept": "application/json"})
    assert as_json.status_code == 429
    assert as_json.json["error"]["code"] == "too_many_sign_ins"
    assert as_json.json["error"]["message_zh"]


def test_successes_cost_nothing_and_accounts_are_counted_apart(
        sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, _ = add_enterprise(sqlite_app, 1)
    add_user(sqlite_app, uscc, "clerk")
    add_user(sqlite_app, uscc, "other")
    for _ in range(8):  # right passwords are not counted
        assert post_password(client, "clerk", PASSWORD).status_code == 302
        client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    for _ in range(5):
        assert post_password(client, "other", "wrong-password").status_code == 401
    assert post_password(client, "other", PASSWORD).status_code == 429
    assert post_password(client, "clerk", PASSWORD).status_code == 302  # another account


def test_failures_per_address_are_limited_across_accounts(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path,
                   RATELIMIT_SIGNIN_ADDRESS="8 per minute")
    client = app.test_client()
    uscc, _ = add_enterprise(app, 1)
    add_user(app, uscc, "clerk")
    for n in range(8):  # eight different (unknown) accounts from one address
        assert post_password(client, f"guess{n}", "wrong-password").status_code == 401
    refused = post_password(client, "clerk", PASSWORD)
    assert refused.status_code == 429
    # Another address is not affected.
    other = app.test_client()
    assert other.post("/console/login", data={
        "username": "clerk", "password": PASSWORD, "csrf_token": csrf_token(other)},
        environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302


def test_wrong_codes_count_against_the_account(sqlite_app: Flask, client: FlaskClient) -> None:
    sign_in(sqlite_app, client, 2, role="regulator")
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert post_password(client, "user2", PASSWORD).status_code == 302
    for _ in range(5):
        assert client.post("/console/login/code", data={
            "code": "000000", "csrf_token": csrf_token(client, "/console/login/code")}
        ).status_code == 401
    assert client.post("/console/login/code", data={
        "code": "000000", "csrf_token": csrf_token(client, "/console/login/code")}
    ).status_code == 429


# --- the second factor --------------------------------------------------------------------


def _session(client: FlaskClient) -> dict[str, Any]:
    with client.session_transaction() as session:
        return dict(session)


@pytest.mark.parametrize("role", ["regulator", "admin"])
def test_a_regulator_without_the_second_factor_cannot_sign_in(
        sqlite_app: Flask, client: FlaskClient, role: str) -> None:
    uscc, _ = add_enterprise(sqlite_app, 2, role=role)
    add_user(sqlite_app, uscc, "inspector", role)
    response = post_password(client, "inspector", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login/enrol")
    assert "user" not in _session(client)
    # Not signed in: the console still sends the visitor to the sign-in page.
    assert client.get("/console/").headers["Location"].startswith("/console/login")
    enrol = client.get("/console/login/enrol")
    assert enrol.status_code == 200 and "<svg" in enrol.text
    assert enrol.headers["Cache-Control"] == "no-store"
    # A wrong code does not enrol nor sign in.
    assert client.post("/console/login/enrol", data={
        "code": "123456", "csrf_token": csrf_token(client, "/console/login/enrol")}
    ).status_code == 401
    assert "user" not in _session(client)
    # The code step cannot be skipped to: without enrolment it leads back to enrolment.
    assert client.get("/console/login/code").headers["Location"].startswith(
        "/console/login/enrol")


def test_enrolment_then_sign_in_with_a_code_and_no_replay(
        sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, _ = add_enterprise(sqlite_app, 2, role="regulator")
    add_user(sqlite_app, uscc, "inspector", "regulator")
    assert post_password(client, "inspector", PASSWORD).status_code == 302
    secret = enrol_second_factor(client)
    assert _session(client)["user"] == "inspector"
    assert client.get("/console/").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    # Second sign-in: password, then a code; the code just used at enrolment is refused.
    response = post_password(client, "inspector", PASSWORD)
    assert response.headers["Location"].startswith("/console/login/code")
    assert "user" not in _session(client)
    totp = pyotp.TOTP(secret)
    used = totp.now()
    assert client.post("/console/login/code", data={
        "code": used, "csrf_token": csrf_token(client, "/console/login/code")}).status_code == 401
    code = totp.at(datetime.now(UTC) + timedelta(seconds=STEP))  # the next step's code
    response = client.post("/console/login/code?next=/console/trace", data={
        "code": code, "csrf_token": csrf_token(client, "/console/login/code")})
    assert response.status_code == 302 and response.headers["Location"] == "/console/trace"
    assert _session(client)["user"] == "inspector"
    # The secret is stored sealed, not as text.
    from web.db import get_session
    with sqlite_app.app_context():
        row = get_session().get(TotpRow, "inspector")
        assert row is not None and secret.encode() not in row.sealed_secret


def test_an_operator_resets_a_lost_factor(sqlite_app: Flask, client: FlaskClient) -> None:
    sign_in(sqlite_app, client, 2, role="regulator")
    result = run_cli(sqlite_app, "user", "totp-reset", "--username", "user2")
    assert result.exit_code == 0 and "forgotten" in result.output, result.output
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert post_password(client, "user2", PASSWORD).headers["Location"].startswith(
        "/console/login/enrol")
    assert run_cli(sqlite_app, "user", "totp-reset", "--username", "nobody").exit_code != 0


def test_a_producer_needs_no_second_factor(sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, _ = add_enterprise(sqlite_app, 1)
    add_user(sqlite_app, uscc, "clerk")
    assert post_password(client, "clerk", PASSWORD).headers["Location"] == "/console/"


def test_the_pending_step_expires(sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, _ = add_enterprise(sqlite_app, 2, role="regulator")
    add_user(sqlite_app, uscc, "inspector", "regulator")
    post_password(client, "inspector", PASSWORD)
    with client.session_transaction() as session:
        session["pending_since"] = session["pending_since"] - 301
    assert client.get("/console/login/enrol").headers["Location"].startswith("/console/login")
    assert client.get("/console/login/code").headers["Location"].startswith("/console/login")


def test_totp_codes_window_and_replay(app: Flask) -> None:
    from web.db import get_session
    vault = TotpVault("server-secret")
    now = datetime(2026, 11, 28, 12, 0, 5, tzinfo=UTC)
    with app.app_context():  # SQLite and PostgreSQL: the migration's table
        db = get_session()
        enrolment = begin_enrolment(db, vault, "someone")
        assert enrolment.uri.startswith("otpauth://totp/Tracenet:someone?secret=")
        assert begin_enrolment(db, vault, "someone").secret == enrolment.secret  # same pending
        totp = pyotp.TOTP(enrolment.secret)
        assert not check_code(db, vault, "someone", totp.at(now), now)  # not confirmed yet
        assert confirm_enrolment(db, vault, "someone", totp.at(now), now)
        assert not check_code(db, vault, "someone", totp.at(now), now)  # replay
        later = now + timedelta(seconds=STEP)
        assert check_code(db, vault, "someone", totp.at(later), later)
        far = later + timedelta(seconds=5 * STEP)
        assert not check_code(db, vault, "someone", totp.at(later + timedelta(seconds=STEP)),
                              far)  # outside the window
        assert check_code(db, vault, "someone", totp.at(far - timedelta(seconds=STEP)), far)
        for bad in ("", "12345", "1234567", "abcdef", "１２３４５６"):
            assert not check_code(db, vault, "someone", bad, far)
        with pytest.raises(Exception, match="second factor already"):
            begin_enrolment(db, vault, "someone")
        with pytest.raises(Exception, match="cannot be opened"):
            check_code(db, TotpVault("another-secret"), "someone", "000000", far)
        assert reset_second_factor(db, "someone")
        assert begin_enrolment(db, vault, "someone").secret != enrolment.secret


# --- cookies and proxies ------------------------------------------------------------------


def test_session_cookie_flags(sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, _ = add_enterprise(sqlite_app, 1)
    add_user(sqlite_app, uscc, "clerk")
    cookie = post_password(client, "clerk", PASSWORD).headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    secure = sqlite_app.test_client()
    response = secure.post("/console/login", base_url="https://tracenet.test", data={
        "username": "clerk", "password": PASSWORD,
        "csrf_token": _token(secure, "https://tracenet.test")})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def _token(client: FlaskClient, base_url: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/console/login", base_url=base_url).text)
    assert match
    return match[1]


def test_behind_one_proxy_the_forwarded_scheme_and_address_count(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 't.db'}", tmp_path, PROXY_HOPS="1",
                   RATELIMIT_SIGNIN_ADDRESS="3 per minute")
    uscc, _ = add_enterprise(app, 1)
    add_user(app, uscc, "clerk")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7",
                 "Referer": "https://localhost/console/login"}  # CSRF checks it over https
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/console/login", headers=forwarded).text)
    assert token
    for n in range(3):
        assert client.post("/console/login", headers=forwarded,
                           data={"username": f"x{n}", "password": "wrong-password",
                                 "csrf_token": token[1]}).status_code == 401
    assert client.post("/console/login", headers=forwarded, data={
        "username": "clerk", "password": PASSWORD, "csrf_token": token[1]}).status_code == 429
    # Another client behind the same proxy is another address.
    other = {**forwarded, "X-Forwarded-For": "203.0.113.8"}
    response = client.post("/console/login", headers=other, data={
        "username": "clerk", "password": PASSWORD, "csrf_token": token[1]})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


# --- headers on every page ----------------------------------------------------------------


def _assert_headers(response: Any, path: str) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, path
    assert "camera=(self)" in response.headers.get("Permissions-Policy", ""), path
    if not path.startswith("/api/docs"):
        assert policy == CONTENT_SECURITY_POLICY, path
        script = next(d for d in policy.split("; ") if d.startswith("script-src"))
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, path
    response.close()  # static files are streamed from an open file


def test_every_page_carries_the_security_headers(sqlite_app: Flask, client: FlaskClient) -> None:
    sign_in(sqlite_app, client, 2, role="regulator")
    checked = 0
    for rule in sqlite_app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "console.logout":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)  # any value: 404s count too
        response = client.get(path)
        _assert_headers(response, path)
        checked += 1
    for path in ("/", "/console/", "/console/login", "/api/docs", "/api/openapi.json",
                 "/no/such/page", "/static/console.css", "/healthz"):
        _assert_headers(client.get(path), path)
    assert checked > 20
    docs = client.get("/api/docs").headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in docs  # only the Swagger UI page
    # Errors and refusals too.
    anonymous = sqlite_app.test_client()
    _assert_headers(anonymous.post("/console/login", data={}), "/console/login (no CSRF)")
    _assert_headers(anonymous.get("/api/v1/lots"), "/api/v1/lots (no token)")


@pytest.mark.slow
def test_served_by_two_workers_the_sixth_wrong_password_is_throttled(tmp_path: Path) -> None:
    """gunicorn with two workers: the per-account count is the database's, not a worker's."""
    import os

    import requests

    from tests.web.conftest import served
    from web.settings import NAMES

    app = make_app(f"sqlite:///{tmp_path / 'tracenet.db'}", tmp_path)
    uscc, _ = add_enterprise(app, 1)
    add_user(app, uscc, "clerk")
    env = {**os.environ, **{f"TRACENET_{name}": str(app.config[name]) for name in NAMES
                            if app.config.get(name) is not None},
           "TRACENET_INSTANCE": str(tmp_path)}
    app.extensions["tracenet.runtime"].close()
    with served(env, tmp_path) as url:
        statuses = []
        for password in ["wrong-password"] * 6 + [PASSWORD]:
            browser = requests.Session()  # a new connection and cookie each time
            page = browser.get(f"{url}/console/login", timeout=30)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            answer = browser.post(f"{url}/console/login", allow_redirects=False, timeout=30,
                                  data={"username": "clerk", "password": password,
                                        "csrf_token": token[1]})
            statuses.append(answer.status_code)
            assert "content-security-policy" in answer.headers
        assert statuses == [401] * 5 + [429, 429], statuses
        assert "登录失败次数过多" in answer.text and int(answer.headers["Retry-After"]) >= 1
