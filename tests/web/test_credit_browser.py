"""An enterprise sees its quality credit grade and the reasons, in a real browser (system
Chromium through Playwright, the app under gunicorn): the records reach the ledger through
the served API, the grading follows them, the producer signs in on a phone and on a desktop,
opens its credit page from the menu, reads its grade, what it means, its history with the
reasons naming their seqs, in Chinese and in English; the public /credit page lists it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ledger.conftest import make_uscc
from tests.web.conftest import served
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, sign_in, tracenet
from tests.web.test_rules import DRINK, SUPPLIER, SYRUP

pytestmark = pytest.mark.slow

MAKER, REGULATOR = make_uscc(501), make_uscc(502)
USERNAME, PASSWORD = "li.si", "browser-pass-2"
SCREENSHOTS = Path("/tmp")


def post(url: str, token: str, type_: str, payload: dict[str, Any]) -> int:
    response = requests.post(f"{url}/api/v1/events", timeout=30, json={
        "type": type_, "event_time": "2026-11-26T08:00:00+08:00", "payload": payload},
        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    seq: int = response.json()[0]["seq"]
    return seq


def inspection(kind: str, report: str) -> dict[str, Any]:
    return {"gtin": DRINK, "lot": "P1", "kind": kind, "lab": "福建省产品质量检验研究院",
            "standard": "GB 7101-2022", "verdict": "fail", "report_no": report,
            "inspected_at": "2026-11-26T11:00:00+08:00",
            "items": [{"name": "菌落总数", "value": "5000", "limit": "≤100", "unit": "CFU/mL",
                       "pass": False}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """gunicorn over a ledger where a maker's lot failed a third-party inspection and then
    the regulator's spot check; yields the URL and the spot check's seq."""
    tmp_path = tmp_path_factory.mktemp("credit-browser")
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{tmp_path / 'tracenet.db'}",
           "TRACENET_SECRET_KEY": "browser-test-secret",
           "TRACENET_LEDGER_KEY": str(tmp_path / "ledger_key.pem")}
    tracenet(env, "init")
    tokens = {}
    for uscc, name, role in ((MAKER, "闽侯乳品厂", "producer"),
                             (REGULATOR, "市场监管局", "regulator")):
        output = tracenet(env, "enterprise", "add", "--uscc", uscc, "--name", name,
                          "--district", "福州市闽侯县", "--role", role)
        tokens[uscc] = output.split("shown once): ")[1].strip()
    tracenet(env, "user", "add", "--enterprise", MAKER, "--username", USERNAME,
             "--password", PASSWORD, "--role", "producer")
    with served(env, tmp_path) as url:
        maker = tokens[MAKER]
        post(url, maker, "product_registered", {"gtin": DRINK, "name": "橙汁饮料",
                                                "category": "08", "standard": "GB 7101-2022",
                                                "spec": "500mL"})
        post(url, maker, "material_intake", {
            "gtin": SYRUP, "lot": "RM1", "material": "浓缩橙汁", "supplier": SUPPLIER,
            "quantity": "1000", "unit": "kg", "received_at": "2026-11-26T07:00:00+08:00",
            "accepted": True})
        post(url, maker, "production", {
            "gtin": DRINK, "lot": "P1", "quantity": "2000", "unit": "pcs",
            "produced_at": "2026-11-26T10:00:00+08:00",
            "inputs": [{"gtin": SYRUP, "lot": "RM1", "quantity": "400", "unit": "kg"}]})
        post(url, maker, "inspection", inspection("third_party", "TP-1"))
        spot_check = post(url, tokens[REGULATOR], "inspection",
                          inspection("spot_check", "FJQI-1"))
        yield url, spot_check


def test_an_enterprise_sees_its_grade_and_the_reasons(server: tuple[str, int]) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    from playwright.sync_api import expect, sync_playwright

    url, spot_check = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            for name, viewport in (("phone", {"width": 390, "height": 844}),
                                   ("desktop", {"width": 1366, "height": 900})):
                context = browser.new_context(viewport=viewport, locale="zh-CN")
                page = context.new_page()
                sign_in(page, url, USERNAME, PASSWORD)
                page.click("#nav-credit")
                standing = page.locator("#credit-standing")
                expect(standing.locator("h1")).to_have_text("本企业质量信用")
                expect(standing.locator(".grade.big")).to_have_text("D")
                expect(standing.locator(".consequence")).to_contain_text("信用惩戒")
                history = page.locator("#credit-history tbody tr")
                expect(history).to_have_count(2)  # B -> C, then C -> D
                newest = history.first
                expect(newest).to_contain_text(f"seq {spot_check} 监督抽检不合格")
                expect(page.locator("#credit-factors")).to_contain_text("许可证缺失")
                assert page.evaluate("document.documentElement.scrollWidth") \
                    <= viewport["width"]
                page.screenshot(path=str(SCREENSHOTS / f"credit-{name}.png"), full_page=True)
                page.click("#switch-language")
                expect(page.locator("#credit-standing h1")).to_have_text(
                    "Your quality credit")
                expect(page.locator("#credit-history tbody tr").first).to_contain_text(
                    f"seq {spot_check} failed spot check")
                page.screenshot(path=str(SCREENSHOTS / f"credit-{name}-en.png"),
                                full_page=True)
                page.goto(f"{url}/credit")
                expect(page.locator("#credit-sanctioned")).to_contain_text("闽侯乳品厂")
                page.screenshot(path=str(SCREENSHOTS / f"credit-public-{name}.png"),
                                full_page=True)
                context.close()
        finally:
            browser.close()
