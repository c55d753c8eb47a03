"""The console's FSMA 204 button in a real browser (system Chromium through Playwright, the
app under gunicorn, the demo loaded by ``tracenet demo``): a phone and a desktop layout, the
language switch, and a download that opens in openpyxl with the template's columns."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from ledger.demo.network import DEMO_PASSWORD
from ledger.export.fsma204 import COLUMNS
from tests.web.conftest import served
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, sign_in, tracenet

pytestmark = pytest.mark.slow

SCREENSHOTS = Path("/tmp")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{tmp_path / 'tracenet.db'}",
           "TRACENET_SECRET_KEY": "browser-test-secret",
           "TRACENET_LEDGER_KEY": str(tmp_path / "ledger_key.pem")}
    tracenet(env, "init")
    tracenet(env, "demo")
    with served(env, tmp_path) as url:
        yield url


def test_export_button_on_phone_and_desktop(server: str) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            for name, viewport in (("phone", {"width": 390, "height": 844}),
                                   ("desktop", {"width": 1366, "height": 900})):
                context = browser.new_context(viewport=viewport, locale="zh-CN",
                                              accept_downloads=True)
                page = context.new_page()
                sign_in(page, server, "dairy", DEMO_PASSWORD)
                form = page.locator("section.export-fsma204")
                expect(form.locator("button")).to_have_text("导出 FSMA 204 表格")
                form.locator("input[name=from]").fill("2026-09-01")
                form.locator("input[name=to]").fill("2026-11-30")
                form.scroll_into_view_if_needed()
                page.screenshot(path=str(SCREENSHOTS / f"fsma204-{name}.png"))
                # the form fits the screen: no sideways scrolling on a phone
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                with page.expect_download() as download_info:
                    form.locator("button").click()
                download = download_info.value
                assert download.suggested_filename == "fsma204-2026-09-01-2026-11-30.xlsx"
                sheet = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()),
                                               read_only=True).worksheets[0]
                rows = list(sheet.iter_rows(values_only=True))
                assert rows[0] == COLUMNS and len(rows) > 10
                page.goto(f"{server}/console/lang/en")
                page.goto(f"{server}/console/")
                expect(page.locator("section.export-fsma204 button")).to_have_text(
                    "Export FSMA 204 spreadsheet")
                page.screenshot(path=str(SCREENSHOTS / f"fsma204-{name}-en.png"))
                context.close()
        finally:
            browser.close()
