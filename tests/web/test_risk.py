"""The risk pages through the app: spot-check plans published and drawn in the console and
disclosed on /spot-checks; early-warning alerts raised from inspections posted through the
API, acknowledged and closed with a note, each district bureau seeing its own; standards
warnings; producers kept out of the regulators' pages. Then a real browser (system Chromium,
gunicorn) draws the dashboard's echarts charts at a phone's and a desktop's size."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.accounts.models import UserRow
from ledger.supervision.check_digits import gs1_check_digit
from ledger.supervision.recall_levels import CHINA
from tests.conftest import issue_token, make_app, run_cli
from tests.ledger.conftest import make_uscc
from tests.web.conftest import served
from tests.web.test_api import bearer
from tests.web.test_console import PASSWORD, add_user, csrf_token, pass_second_factor
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS
from web.db import get_session
from web.settings import NAMES

MILK = "0692733100102" + gs1_check_digit("0692733100102")
WATER = "0692733100103" + gs1_check_digit("0692733100103")


def _last_months(count: int) -> list[str]:
    """The ``count`` months up to this one (China time), oldest first: the dashboard and the
    scan read the ledger's clock, which is the real one here."""
    today = datetime.now(CHINA)
    year, month = today.year, today.month
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


MONTHS = _last_months(13)


def _enterprise(app: Flask, serial: int, district: str, role: str = "producer") -> tuple[str,
                                                                                        str]:
    uscc = make_uscc(serial)
    result = run_cli(app, "enterprise", "add", "--uscc", uscc, "--name", f"企业{serial}",
                     "--district", district, "--role", role)
    assert result.exit_code == 0, result.output
    return uscc, result.output.split("shown once): ")[1].strip()


def _post(client: FlaskClient, token: str, events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", headers=bearer(token), json=events)
    assert response.status_code == 201, response.get_json()


def _inspection(gtin: str, lot: str, when: str, verdict: str, standard: str) -> dict[str, Any]:
    return {"type": "inspection", "event_time": when, "payload": {
        "gtin": gtin, "lot": lot, "kind": "self", "lab": "化验室", "standard": standard,
        "verdict": verdict, "report_no": f"R-{when[:10]}-{verdict}", "inspected_at": when,
        "items": [{"name": "菌落总数", "value": "10", "limit": "≤100", "unit": "CFU/mL",
                   "pass": verdict == "pass"}]}}


def _network(app: Flask) -> dict[str, str]:
    client = app.test_client()
    maker, maker_token = _enterprise(app, 301, "福州市鼓楼区")
    other, other_token = _enterprise(app, 302, "厦门市湖里区")
    bureau, _ = _enterprise(app, 309, "福州市", "regulator")
    add_user(app, maker, "maker")
    add_user(app, bureau, "city", "regulator")
    add_user(app, bureau, "xiamen", "regulator")
    with app.app_context():
        session = get_session()
        user = session.get(UserRow, "xiamen")
        assert user is not None
        user.district = "厦门市"
        session.commit()
    at = f"{MONTHS[0]}-01T07:00:00+08:00"
    recent = f"{MONTHS[-1]}-01T07:00:00+08:00"
    _post(client, maker_token, [
        {"type": "product_registered", "event_time": at, "payload": {
            "gtin": MILK, "name": "鲜牛奶", "category": "07", "standard": "GB 19645-2010",
            "spec": "950mL"}},
        {"type": "production", "event_time": at, "payload": {
            "gtin": MILK, "lot": "A1", "quantity": "100000", "unit": "kg", "produced_at": at,
            "inputs": [], "additives_used": []}},
        {"type": "production", "event_time": recent, "payload": {  # a lot a draw may choose
            "gtin": MILK, "lot": "A2", "quantity": "1000", "unit": "kg", "produced_at": recent,
            "inputs": [], "additives_used": []}}])
    _post(client, other_token, [
        {"type": "product_registered", "event_time": at, "payload": {
            "gtin": WATER, "name": "饮用水", "category": "08", "standard": "GB 5749-2006",
            "spec": "550mL"}},
        {"type": "production", "event_time": recent, "payload": {
            "gtin": WATER, "lot": "W1", "quantity": "1000", "unit": "kg",
            "produced_at": recent, "inputs": [], "additives_used": []}},
        _inspection(WATER, "W1", f"{MONTHS[-1]}-01T09:00:00+08:00", "pass", "GB 5749-2006")])
    # a year of about one failure in 25, then 7 failures in 20 this month
    events = []
    for index, month in enumerate(MONTHS[:-1]):
        for day in range(1, 26):
            verdict = "fail" if day == 5 and index % 2 == 0 else "pass"
            events.append(_inspection(MILK, "A1", f"{month}-{day:02d}T10:00:00+08:00",
                                      verdict, "GB 19645-2010"))
    for day in range(1, 21):
        events.append(_inspection(MILK, "A1", f"{MONTHS[-1]}-{day:02d}T10:00:00+08:00",
                                  "fail" if day <= 7 else "pass", "GB 19645-2010"))
    _post(client, maker_token, events)
    return {"maker": maker, "other": other, "bureau": bureau}


@pytest.fixture(scope="module")
def risk_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("risk")
    app = make_app(f"sqlite:///{folder / 'tracenet.db'}", folder)
    parties = _network(app)
    yield app, parties
    app.extensions["tracenet.runtime"].close()


def _signed_in(app: Flask, username: str, lang: str = "zh_CN") -> FlaskClient:
    client = app.test_client()
    client.get(f"/console/lang/{lang}")
    response = client.post("/console/login", data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.text
    pass_second_factor(client, response)
    return client


def _form(client: FlaskClient, path: str, page: str, **data: str) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def test_a_plan_is_published_then_drawn_and_disclosed(
        risk_app: tuple[Flask, dict[str, str]]) -> None:
    app, parties = risk_app
    city = _signed_in(app, "city")
    page = "/console/spot-checks"
    response = _form(city, page, page, title="饮料乳品抽查", enterprises="1",
                     lots_per_enterprise="1")
    assert response.status_code == 302
    listing = city.get(page).text
    seq = int(re.search(r'id="plan-(\d+)"', listing)[1])  # type: ignore[index]
    assert "待抽取" in listing
    public = app.test_client().get("/spot-checks.json").get_json()
    (plan,) = [p for p in public["draws"] if p["seq"] == seq]
    assert plan["seed"] is None and plan["frame_size"] == 2  # the seed is not shown yet
    assert _form(city, f"{page}/{seq}/draw", page).status_code == 302
    assert _form(city, f"{page}/{seq}/draw", page).status_code == 302  # refused, shown
    assert "已于 seq" in city.get(page).text
    public = app.test_client().get("/spot-checks.json").get_json()
    (plan,) = [p for p in public["draws"] if p["seq"] == seq]
    assert plan["commitment"] == "sha256:" + hashlib.sha256(
        bytes.fromhex(plan["seed"])).hexdigest()
    (chosen,) = plan["selected"]
    assert chosen["uscc"] in (parties["maker"], parties["other"])
    assert len(chosen["lots"]) == 1
    html = app.test_client().get("/spot-checks").text
    assert plan["seed"] in html and "监督抽查信息公开" in html

    # the Xiamen bureau draws within Xiamen only, and does not see the city's plan
    xiamen = _signed_in(app, "xiamen")
    assert f'id="plan-{seq}"' not in xiamen.get(page).text
    assert _form(xiamen, page, page, title="厦门抽查", enterprises="5").status_code == 302
    mine = xiamen.get(page).text
    assert "名录 1 家" in mine

    bad = _form(city, page, page, title="", enterprises="2")
    assert bad.status_code == 302
    assert "title" in city.get(page).text or "计划" in city.get(page).text


def test_alerts_are_scanned_acknowledged_and_closed_with_a_note(
        risk_app: tuple[Flask, dict[str, str]]) -> None:
    app, _ = risk_app
    city = _signed_in(app, "city")
    assert _form(city, "/console/risk/scan", "/console/risk").status_code == 302
    alerts = city.get("/console/risk/alerts").text
    ids = [int(i) for i in re.findall(r'data-alert="(\d+)"', alerts)]
    assert ids and "福州市鼓楼区" in alerts and MONTHS[-1] in alerts
    figures = city.get("/console/risk/data.json").get_json()
    assert figures["category"][0]["key"] == "07"
    assert figures["months"][-1]["failures"] == 7
    assert figures["rule"]["alpha"] == 0.001

    xiamen = _signed_in(app, "xiamen")
    assert 'data-alert="' not in xiamen.get("/console/risk/alerts").text
    assert _form(xiamen, f"/console/risk/alerts/{ids[0]}/close", "/console/risk",
                 note="不是我的").status_code == 404

    path = f"/console/risk/alerts/{ids[0]}/acknowledge"
    _form(city, path, "/console/risk", note="  ")
    assert "note is required" in city.get("/console/risk/alerts").text or \
        f'data-alert="{ids[0]}" data-status="open"' in city.get("/console/risk/alerts").text
    _form(city, path, "/console/risk", note="已派员核查")
    listing = city.get("/console/risk/alerts?status=acknowledged").text
    assert f'data-alert="{ids[0]}" data-status="acknowledged"' in listing
    assert "已派员核查" in listing
    _form(city, f"/console/risk/alerts/{ids[0]}/close", "/console/risk",
          note="牧场更换原料，已整改")
    closed = city.get("/console/risk/alerts?status=closed").text
    assert f'data-alert="{ids[0]}" data-status="closed"' in closed
    assert "牧场更换原料，已整改" in closed
    found = city.get("/console/risk/alerts?q=鼓楼&dimension=category_district").text
    assert len(re.findall(r'data-alert="(\d+)"', found)) == 1  # dairy in Gulou alone
    assert "类别×区县" in found and "福州市鼓楼区" in found
    csv = city.get("/console/risk/alerts?download=csv&status=closed")
    assert csv.status_code == 200 and "text/csv" in csv.headers["Content-Type"]
    assert "牧场更换原料，已整改" in csv.get_data(as_text=True)
    english = _signed_in(app, "city", "en").get("/console/risk").text
    assert "Quality early warning" in english and "vendor/echarts/dist/echarts.min.js" in english


def test_standards_warnings_and_who_may_see_the_risk_pages(
        risk_app: tuple[Flask, dict[str, str]]) -> None:
    app, parties = risk_app
    city = _signed_in(app, "city")
    page = city.get("/console/standards").text
    assert "GB 5749-2006" in page and "GB 5749-2022" in page and parties["other"] in page
    maker = _signed_in(app, "maker")
    assert "GB 5749-2006" not in maker.get("/console/standards").text  # not its product
    for path in ("/console/risk", "/console/risk/alerts", "/console/risk/data.json",
                 "/console/spot-checks"):
        assert maker.get(path).status_code == 403, path
    assert app.test_client().get("/console/risk").status_code == 302  # sign in first


def test_the_dashboard_draws_its_charts_in_a_browser(
        risk_app: tuple[Flask, dict[str, str]], tmp_path: Path) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    from playwright.sync_api import expect, sync_playwright

    from tests.web.test_console_browser import no_sideways_scroll, sign_in

    app, parties = risk_app
    add_user(app, parties["bureau"], "watcher", "regulator")  # enrols its factor in the browser
    env = {**os.environ, **{f"TRACENET_{name}": str(app.config[name]) for name in NAMES
                            if app.config.get(name) is not None},
           "TRACENET_INSTANCE": str(app.instance_path)}
    shots = Path("/tmp/shots")
    shots.mkdir(exist_ok=True)
    with served(env, tmp_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" and
                    not m.text.startswith("Failed to load resource") else None)
            # Chromium asks for /favicon.ico by itself; nothing else may fail
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            sign_in(page, url, "watcher", PASSWORD)
            page.goto(f"{url}/console/risk")
            expect(page.locator("#risk-dashboard")).to_have_attribute("data-ready", "true")
            for chart in ("months", "category", "class", "district"):
                expect(page.locator(f"#chart-{chart} canvas")).to_have_count(1)
            no_sideways_scroll(page)
            page.screenshot(path=str(shots / "risk-dashboard-phone.png"), full_page=True)
            page.set_viewport_size({"width": 1366, "height": 900})
            page.click("#switch-language")
            expect(page.locator("h1")).to_have_text("Quality early warning")
            expect(page.locator("#risk-dashboard")).to_have_attribute("data-ready", "true")
            page.screenshot(path=str(shots / "risk-dashboard-desktop.png"), full_page=True)
            page.goto(f"{url}/spot-checks")
            expect(page.locator("h1")).to_have_text("Supervisory spot checks")
            assert problems == []
        finally:
            browser.close()


def test_the_command_line_plans_draws_checks_and_scans(
        risk_app: tuple[Flask, dict[str, str]]) -> None:
    app, parties = risk_app
    planned = run_cli(app, "risk", "plan", "--regulator", parties["bureau"], "--title", "抽查",
                      "--enterprises", "1", "--lots", "0", "--seed", "ab" * 32)
    assert planned.exit_code == 0, planned.output
    seq = int(re.search(r"plan (\d+) published", planned.output)[1])  # type: ignore[index]
    drawn = run_cli(app, "risk", "draw", str(seq))
    assert drawn.exit_code == 0, drawn.output
    assert "ab" * 32 in drawn.output and "on site" in drawn.output
    checked = run_cli(app, "risk", "check-draw", str(seq))
    assert checked.exit_code == 0 and "is what seed" in checked.output
    assert run_cli(app, "risk", "draw", str(seq)).exit_code != 0  # drawn once only
    assert run_cli(app, "risk", "plan", "--regulator", parties["bureau"], "--title", "x",
                   "--enterprises", "1", "--seed", "xyz").exit_code == 2
    scanned = run_cli(app, "risk", "scan", "--month", "2026-13")
    assert scanned.exit_code == 2
    assert run_cli(app, "risk", "scan").exit_code == 0
    standards = run_cli(app, "risk", "standards")
    assert standards.exit_code == 0 and "GB 5749-2022" in standards.output


def test_the_api_lists_acknowledges_and_closes_alerts_and_draws_plans(
        risk_app: tuple[Flask, dict[str, str]]) -> None:
    app, parties = risk_app
    client = app.test_client()
    bureau = bearer(issue_token(app, parties["bureau"], "regulator"))
    maker = bearer(issue_token(app, parties["maker"]))
    for path in ("/api/v1/risk/alerts", "/api/v1/risk/rates", "/api/v1/spot-checks"):
        assert client.get(path, headers=maker).status_code == 403, path
        assert client.get(path).status_code == 401, path
    run_cli(app, "risk", "scan")
    listed = client.get("/api/v1/risk/alerts", headers=bureau)
    assert listed.status_code == 200
    open_ = [a for a in listed.get_json()["items"] if a["status"] == "open"]
    assert open_, listed.get_json()
    target = open_[0]["id"]
    path = f"/api/v1/risk/alerts/{target}"
    assert client.post(f"{path}/acknowledge", headers=bureau, json={"note": " "}
                       ).status_code == 422
    acked = client.post(f"{path}/acknowledge", headers=bureau, json={"note": "核查中"})
    assert acked.status_code == 200 and acked.get_json()["status"] == "acknowledged"
    again = client.post(f"{path}/acknowledge", headers=bureau, json={"note": "again"})
    assert again.status_code == 422 and again.get_json()["error"]["field"] == "status"
    closed = client.post(f"{path}/close", headers=bureau, json={"note": "已整改"})
    assert closed.get_json()["close_note"] == "已整改"
    assert client.post("/api/v1/risk/alerts/999999/close", headers=bureau,
                       json={"note": "x"}).status_code == 404
    assert client.get("/api/v1/risk/alerts?status=nonsense", headers=bureau).status_code in (
        400, 422)
    rates = client.get("/api/v1/risk/rates", headers=bureau).get_json()
    assert rates["rule"]["alpha"] == 0.001 and rates["category"][0]["key"] == "07"

    published = client.post("/api/v1/spot-checks", headers=bureau, json={
        "title": "接口抽查", "enterprises": 2, "lots_per_enterprise": 1})
    assert published.status_code == 201, published.get_json()
    plan = published.get_json()
    assert plan["seed"] is None and plan["frame_size"] == 2
    drawn = client.post(f"/api/v1/spot-checks/{plan['seq']}/draw", headers=bureau)
    assert drawn.status_code == 200
    assert hashlib.sha256(bytes.fromhex(drawn.get_json()["seed"])).hexdigest() == \
        plan["commitment"].removeprefix("sha256:")
    assert len(drawn.get_json()["selected"]) == 2
    twice = client.post(f"/api/v1/spot-checks/{plan['seq']}/draw", headers=bureau)
    assert twice.status_code == 422
    assert twice.get_json()["error"]["code"] == "rule.spot_check.already_drawn"
    assert client.post("/api/v1/spot-checks", headers=maker, json={
        "title": "x", "enterprises": 1}).status_code == 403
    assert client.post("/api/v1/spot-checks", headers=bureau, json={
        "title": "x", "enterprises": 0}).status_code == 422

    mine = client.get("/api/v1/standards/warnings", headers=maker).get_json()["items"]
    assert mine == []
    every = client.get("/api/v1/standards/warnings", headers=bureau).get_json()["items"]
    assert [item["replaced_by"] for item in every] == ["GB 5749-2022"]
