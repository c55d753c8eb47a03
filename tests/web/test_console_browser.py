"""The console in a real browser: the system Chromium, driven by Playwright, against the real
app served by gunicorn on a database prepared with the ``tracenet`` CLI.

Playwright is told to launch /usr/bin/chromium (the Debian package that ``make system``
installs); it never downloads a browser of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.ledger.conftest import make_uscc
from tests.web.conftest import served

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path("/tmp/console.png")
PRODUCER = make_uscc(1)
USERNAME, PASSWORD = "zhang.san", "browser-pass-1"
GTIN, LOT = "06901234567892", "P20261126-01"


def sign_in(page: Any, url: str, username: str, password: str) -> None:
    """Sign in to the console in the browser; a regulator's first sign-in enrols its TOTP."""
    page.goto(f"{url}/console/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    if "/console/login/enrol" in page.url:
        import pyotp

        page.fill("#code", pyotp.TOTP(page.inner_text("#totp-secret").strip()).now())
        page.click("button[type=submit].primary")


def no_sideways_scroll(page: Any) -> None:
    """The page itself never scrolls sideways (wide tables scroll inside their own box)."""
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def tracenet(env: dict[str, str], *args: str) -> str:
    """Run the ``tracenet`` CLI as an operator would."""
    result = subprocess.run([sys.executable, "-c", "from web.cli import main; main()", *args],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """gunicorn serving a ledger with a producer, its console user, a product and a lot."""
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{tmp_path / 'tracenet.db'}",
           "TRACENET_SECRET_KEY": "browser-test-secret",
           "TRACENET_LEDGER_KEY": str(tmp_path / "ledger_key.pem")}
    tracenet(env, "init")
    tracenet(env, "enterprise", "add", "--uscc", PRODUCER, "--name", "福州乳业",
             "--district", "福州市")
    tracenet(env, "user", "add", "--enterprise", PRODUCER, "--username", USERNAME,
             "--password", PASSWORD, "--role", "producer")
    products = tmp_path / "product_registered.csv"
    products.write_text("gtin,name,category,standard,spec\n"
                        f"{GTIN},全脂纯牛奶 250mL,07,GB 25190-2010,250mL×24\n")
    tracenet(env, "import", str(products), "--enterprise", PRODUCER)
    production = tmp_path / "production.csv"
    production.write_text("gtin,lot,quantity,unit,produced_at,expiry\n"
                          f"{GTIN},{LOT},4000,pcs,2026-11-26T10:00:00+08:00,2027-05-26\n")
    tracenet(env, "import", str(production), "--enterprise", PRODUCER)

    with served(env, tmp_path) as url:
        yield url


def test_producer_records_imports_and_switches_language(server: str, tmp_path: Path) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    from playwright.sync_api import expect, sync_playwright

    bad_sheet = tmp_path / "material_intake.csv"
    bad_sheet.write_text(
        "gtin,lot,material,supplier,quantity,unit,received_at,accepted\n"
        f"{GTIN},RM001,生乳,{make_uscc(7)},1000,kg,2026-11-26T07:00:00+08:00,是\n"
        f"06901234567893,RM002,生乳,{make_uscc(7)},500,kg,2026-11-26T07:10:00+08:00,是\n",
        encoding="utf-8")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page.goto(f"{server}/console/")
            expect(page.locator("h1")).to_have_text("登录企业控制台")
            page.fill("#username", USERNAME)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit].primary")
            expect(page.locator("h1")).to_have_text("批次总览")
            lot_row = page.locator("table.lots tr", has_text=LOT)
            expect(lot_row.locator(".status")).to_have_text("未检验")
            expect(lot_row).to_contain_text("4,000 件")
            expect(lot_row).to_contain_text("2026年11月26日 10:00")

            # An inspection through the form, items as rows.
            page.click("nav.mainnav >> text=检验记录")
            page.fill("#gtin", GTIN)
            page.fill("#lot", LOT)
            page.select_option("#kind", "self")
            page.fill("#lab", "福州乳业化验室")
            page.fill("#standard", "GB 25190-2010")
            page.fill("#items-0-name", "蛋白质")
            page.fill("#items-0-value", "3.1")
            page.fill("#items-0-limit", "≥2.9")
            page.fill("#items-0-unit", "g/100g")
            page.click("fieldset.rows .add-row")  # the fourth row comes from the script
            page.fill("#items-3-name", "菌落总数")
            page.fill("#items-3-value", "5000")
            page.select_option("#verdict", "pass")
            page.fill("#report_no", "FZRY-2026-1126")
            page.fill("#inspected_at", "2026-11-26T11:30")
            page.screenshot(path=str(SCREENSHOT.with_name("console-form.png")), full_page=True)
            page.click("#submit")
            success = page.locator(".flash-success")
            expect(success).to_have_text(re.compile(r"已写入账本，序号 seq \d+"))
            page.click("nav.mainnav >> text=批次总览")
            expect(page.locator("table.lots tr", has_text=LOT).locator(".status")).to_have_text(
                "合格")

            # A sheet with a bad GTIN in row 3: a row report, nothing imported.
            page.click("nav.mainnav >> text=批量导入")
            page.select_option("#type", "material_intake")
            page.set_input_files("#file", str(bad_sheet))
            page.click("#import-submit")
            problem = page.locator("#report table.problems tbody tr")
            expect(problem).to_have_count(1)
            expect(problem.locator("td").nth(0)).to_have_text("3")
            expect(problem.locator("td").nth(1)).to_contain_text("gtin")
            expect(problem.locator("td").nth(2)).to_have_text(
                "GTIN check digit should be 2, got 3")
            expect(page.locator(".flash-error")).to_contain_text("未导入任何记录")
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # English, and back.
            page.click("#switch-language")
            expect(page.locator("h1").first).to_have_text("Import a spreadsheet")
            expect(page.locator("nav.mainnav")).to_contain_text("Inspection")
            page.click("nav.mainnav >> text=Lots")
            lot_row = page.locator("table.lots tr", has_text=LOT)
            expect(lot_row.locator(".status")).to_have_text("Pass")
            expect(lot_row).to_contain_text("26 Nov 2026 10:00")
            expect(lot_row).to_contain_text("4,000 pcs")
            page.screenshot(path=str(SCREENSHOT.with_name("console-en.png")), full_page=True)
            page.click("#switch-language")
            expect(page.locator("h1")).to_have_text("批次总览")
        finally:
            browser.close()
