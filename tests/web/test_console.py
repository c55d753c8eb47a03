"""The enterprise console through the Flask test client: sign-in, CSRF, forms, dashboard, i18n."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from schemas.records import RECORD_SCHEMAS
from tests.conftest import run_cli
from tests.web.test_api import add_enterprise, size
from web.console.forms import FORM_TYPES, form_fields
from web.console.i18n import MESSAGES

PASSWORD = "password-123"
GTIN = "06901234567892"
OTHER_GTIN = "06901234567908"
PRODUCT = {"gtin": GTIN, "name": "全脂纯牛奶", "category": "07", "standard": "GB 19645-2010"}


def add_user(app: Flask, uscc: str, username: str, role: str = "producer") -> None:
    result = run_cli(app, "user", "add", "--enterprise", uscc, "--username", username,
                     "--password", PASSWORD, "--role", role)
    assert result.exit_code == 0, result.output


def csrf_token(client: FlaskClient, path: str = "/console/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match[1]


def sign_in(app: Flask, client: FlaskClient, serial: int = 1, role: str = "producer",
            lang: str = "zh_CN") -> str:
    """Register an enterprise with a console user, sign in; returns the USCC."""
    uscc, _token = add_enterprise(app, serial, role)
    add_user(app, uscc, f"user{serial}", role)
    client.get(f"/console/lang/{lang}")
    response = client.post("/console/login", data={
        "username": f"user{serial}", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.text
    pass_second_factor(client, response)
    return uscc


#: username -> TOTP secret of the accounts enrolled by :func:`enrol_second_factor`
TOTP_SECRETS: dict[str, str] = {}


def pass_second_factor(client: FlaskClient, response: Any) -> None:
    """After a right password: enrol a regulator's or admin's factor (first sign-in) or give
    a code; nothing for other roles. A test signs in again and again within one 30-second
    step, so the account's spent step is forgotten first (replay is tested in
    test_security.py)."""
    import pyotp

    location = response.headers.get("Location", "")
    if location.startswith("/console/login/enrol"):
        enrol_second_factor(client)
    elif location.startswith("/console/login/code"):
        from ledger.accounts.models import TotpRow
        from web.db import get_session

        with client.session_transaction() as session:
            username = session["pending_user"]
        with client.application.app_context():
            db = get_session()
            row = db.get(TotpRow, username)
            assert row is not None
            row.last_step = 0
            db.commit()
        path = "/console/login/code"
        signed_in = client.post(path, data={"code": pyotp.TOTP(TOTP_SECRETS[username]).now(),
                                            "csrf_token": csrf_token(client, path)})
        assert signed_in.status_code == 302, signed_in.text


def enrol_second_factor(client: FlaskClient) -> str:
    """Enrol the pending account's TOTP factor from the enrolment page; returns its secret."""
    import pyotp

    page = client.get("/console/login/enrol").text
    match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', page)
    assert match, page
    path = "/console/login/enrol"
    response = client.post(path, data={"code": pyotp.TOTP(match[1]).now(),
                                       "csrf_token": csrf_token(client, path)})
    assert response.status_code == 302, response.text
    with client.session_transaction() as session:
        TOTP_SECRETS[session["user"]] = match[1]
    return match[1]


def submit(client: FlaskClient, record_type: str, **form: str) -> Any:
    """Post a record form (with its CSRF token) and follow the redirect."""
    path = f"/console/records/{record_type}"
    return client.post(path, data={"csrf_token": csrf_token(client, path), **form},
                       follow_redirects=True)


def entry(app: Flask, seq: int) -> dict[str, Any]:
    """An entry read straight from the ledger (the API shows records to their parties only)."""
    from ledger.log import get_entry
    from web.db import get_session

    with app.app_context():
        return get_entry(get_session(), seq).as_json()


def flashes(html: str) -> list[str]:
    return [m.strip() for m in re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', html)]


def test_both_languages_have_the_same_strings() -> None:
    assert set(MESSAGES["zh_CN"]) == set(MESSAGES["en"])


@pytest.mark.parametrize("record_type", FORM_TYPES)
def test_forms_mirror_the_payload_schemas(record_type: str) -> None:
    schema = RECORD_SCHEMAS[record_type]()
    assert [f.name for f in form_fields(record_type)] == [
        field.data_key or name for name, field in schema.fields.items()
        if name != "epcis"]  # set by EPCIS capture only


def test_pages_need_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/console/records/inspection")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=")


def test_sign_in_with_a_wrong_password_is_refused(sqlite_app: Flask,
                                                  client: FlaskClient) -> None:
    uscc, _ = add_enterprise(sqlite_app, 1)
    add_user(sqlite_app, uscc, "zhang")
    response = client.post("/console/login", data={
        "username": "zhang", "password": "wrong-password", "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_sign_in_goes_to_next_but_never_off_site(sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, _ = add_enterprise(sqlite_app, 1)
    add_user(sqlite_app, uscc, "zhang")
    for target, expected in [("/console/import", "/console/import"),
                             ("https://evil.example/console", "/console/")]:
        response = client.post("/console/login", query_string={"next": target}, data={
            "username": "zhang", "password": PASSWORD, "csrf_token": csrf_token(client)})
        assert response.headers["Location"] == expected


def test_forms_without_a_csrf_token_append_nothing(sqlite_app: Flask,
                                                   client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    before = size(client)
    response = client.post("/console/records/product_registered", data=PRODUCT,
                           follow_redirects=True)
    assert "表单已过期或来源无效" in response.text
    assert size(client) == before


def test_the_api_needs_no_csrf_token(sqlite_app: Flask, client: FlaskClient) -> None:
    _uscc, token = add_enterprise(sqlite_app, 1)
    response = client.post("/api/v1/events", headers={"Authorization": f"Bearer {token}"},
                           json={"type": "product_registered",
                                 "event_time": "2026-11-26T08:00:00+08:00", "payload": PRODUCT})
    assert response.status_code == 201, response.get_json()


def test_record_a_product_then_a_lot_and_see_it_on_the_dashboard(
        sqlite_app: Flask, client: FlaskClient) -> None:
    uscc = sign_in(sqlite_app, client)
    before = size(client)
    response = submit(client, "product_registered", **PRODUCT)
    assert flashes(response.text) == [f"已写入账本，序号 seq {before}"]
    response = submit(client, "production", gtin=GTIN, lot="P20261126", quantity="4000",
                      unit="pcs", produced_at="2026-11-26T08:30", expiry="2027-05-26")
    assert f"seq {before + 1}" in flashes(response.text)[0]
    production = entry(sqlite_app, before + 1)
    assert production["enterprise"] == uscc
    # The form's local time is read in the console's time zone (China Standard Time).
    assert production["payload"]["produced_at"] == "2026-11-26T08:30:00+08:00"
    assert production["event_time"] == "2026-11-26T08:30:00+08:00"

    page = client.get("/console/").text
    assert "P20261126" in page and "全脂纯牛奶" in page
    assert "2026年11月26日 08:30" in page and "2027年5月26日" in page
    assert "4,000 件" in page
    assert 'class="status status-none">未检验' in page

    client.get("/console/lang/en")
    page = client.get("/console/").text
    assert "26 Nov 2026 08:30" in page and "4,000 pcs" in page
    assert 'class="status status-none">Not inspected' in page


def test_inspection_with_item_rows_marks_the_lot(sqlite_app: Flask, client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    submit(client, "product_registered", **PRODUCT)
    submit(client, "production", gtin=GTIN, lot="P1", quantity="10", unit="pcs",
           produced_at="2026-11-26T08:30")
    response = submit(client, "inspection", gtin=GTIN, lot="P1", kind="self", lab="本厂化验室",
                      report_no="R-1", verdict="fail", inspected_at="2026-11-26T09:00",
                      **{"items-0-name": "蛋白质", "items-0-value": "2.1", "items-0-limit": "≥2.9",
                         "items-0-unit": "g/100g", "items-0-pass": "false",
                         "items-1-pass": "true",  # a spare row: only its select's preset
                         "items-2-name": "菌落总数", "items-2-value": "1000",
                         "items-2-pass": "true"})
    assert "已写入账本" in flashes(response.text)[0]
    seq = int(re.search(r"seq (\d+)", flashes(response.text)[0])[1])  # type: ignore[index]
    items = entry(sqlite_app, seq)["payload"]["items"]
    assert items == [{"name": "蛋白质", "value": "2.1", "limit": "≥2.9", "unit": "g/100g",
                      "pass": False},
                     {"name": "菌落总数", "value": "1000", "limit": None, "unit": None,
                      "pass": True}]
    assert 'class="status status-fail">不合格' in client.get("/console/").text


def test_validation_errors_show_next_to_their_fields(sqlite_app: Flask,
                                                     client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    before = size(client)
    path = "/console/records/material_intake"
    response = client.post(path, data={
        "csrf_token": csrf_token(client, path), "gtin": "06901234567893", "lot": "RM1",
        "material": "生乳", "quantity": "12,5", "unit": "kg", "received_at": "2026-11-26T07:00",
        "accepted": "true"})
    assert response.status_code == 422
    html = response.text
    # Each message sits in the label of its own field, and the typed values are kept.
    gtin_field = html[html.index('name="gtin"'):html.index('name="lot"')]
    assert "GTIN check digit should be 2, got 3" in gtin_field
    supplier_field = html[html.index('name="supplier"'):html.index('name="quantity"')]
    assert "此项必填" in supplier_field
    assert "应为普通小数" in html[html.index('name="quantity"'):html.index('name="unit"')]
    assert 'value="06901234567893"' in html
    assert size(client) == before


def test_rule_violations_show_in_the_users_language(sqlite_app: Flask,
                                                    client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    submit(client, "product_registered", **PRODUCT)
    before = size(client)
    form = {"gtin": GTIN, "lot": "NOPE", "quantity": "1", "unit": "pcs",
            "counterparty": add_enterprise(sqlite_app, 2)[0], "document_no": "DN-1",
            "shipped_at": "2026-11-26T10:00"}
    response = submit(client, "shipment", **form)
    assert f"批次 {GTIN}/NOPE 不存在" in response.text
    lot_field = response.text[response.text.index('name="lot"'):]
    assert "不存在" in lot_field[:600]
    client.get("/console/lang/en")
    response = submit(client, "shipment", **form)
    assert f"lot {GTIN}/NOPE is not on the ledger" in response.text
    assert size(client) == before + 2  # the new enterprise and its key, no shipment


def test_standard_warnings_are_flashed(sqlite_app: Flask, client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    response = submit(client, "product_registered",
                      **{**PRODUCT, "gtin": OTHER_GTIN, "standard": "GB 2762-2017"})
    messages = flashes(response.text)
    assert messages[0].startswith("已写入账本")
    assert any(m.startswith("警告") and "GB 2762-2017" in m for m in messages[1:])


def test_regulators_see_every_enterprises_lots(sqlite_app: Flask, client: FlaskClient) -> None:
    sign_in(sqlite_app, client, 1)
    submit(client, "product_registered", **PRODUCT)
    submit(client, "production", gtin=GTIN, lot="P1", quantity="10", unit="pcs",
           produced_at="2026-11-26T08:30")
    regulator = sqlite_app.test_client()
    sign_in(sqlite_app, regulator, 2, role="regulator")
    page = regulator.get("/console/").text
    assert "全部企业的批次（只读）" in page and "P1" in page and "各企业库存合计" in page
    other_producer = sqlite_app.test_client()
    sign_in(sqlite_app, other_producer, 3)
    assert "P1" not in other_producer.get("/console/").text


def test_language_switch_is_remembered(sqlite_app: Flask, client: FlaskClient) -> None:
    assert "登录企业控制台" in client.get("/console/login").text
    response = client.get("/console/lang/en", query_string={"next": "/console/login"})
    assert response.headers["Location"] == "/console/login"
    page = client.get("/console/login").text
    assert "Sign in to the enterprise console" in page and '<html lang="en">' in page
    client.get("/console/lang/zh_CN")
    assert "登录企业控制台" in client.get("/console/login").text


@pytest.mark.parametrize("record_type", ["material_intake", "inspection"])
def test_templates_download(sqlite_app: Flask, client: FlaskClient, record_type: str) -> None:
    sign_in(sqlite_app, client)
    response = client.get(f"/console/import/templates/{record_type}.csv")
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    assert response.data.decode("utf-8-sig").startswith("gtin（商品条码）,lot（批号）")
    response = client.get(f"/console/import/templates/{record_type}.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    assert sheet.title == record_type
    assert sheet["A1"].value == "gtin（商品条码）"
    assert client.get("/console/import/templates/correction.csv").status_code == 404
