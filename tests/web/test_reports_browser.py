"""The report pages in a real browser (system Chromium through Playwright, the app under
gunicorn with the demo loaded): /transparency and the console's reports page and report
preview, on a phone and a desktop, with no sideways scrolling, the charts loaded under the
site's Content Security Policy, and the PDF downloaded through the page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.demo.network import DEMO_PASSWORD
from tests.web.conftest import served
from tests.web.test_console_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    no_sideways_scroll,
    sign_in,
    tracenet,
)

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/report-shots")
VIEWPORTS = (("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1366, "height": 900}))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("reports-browser")
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{tmp_path / 'tracenet.db'}",
           "TRACENET_SECRET_KEY": "browser-test-secret",
           "TRACENET_LEDGER_KEY": str(tmp_path / "ledger_key.pem"),
           "TRACENET_INSTANCE": str(tmp_path)}
    tracenet(env, "init")
    tracenet(env, "demo")
    with served(env, tmp_path) as url:
        yield url


def test_transparency_and_the_reports_pages_on_phone_and_desktop(server: str) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            context = browser.new_context(viewport=dict(VIEWPORTS[1][1]), locale="zh-CN",
                                          accept_downloads=True)
            page = context.new_page()
            violations: list[str] = []
            page.on("console", lambda message: violations.append(message.text)
                    if "Content Security Policy" in message.text else None)
            sign_in(page, server, "regulator", DEMO_PASSWORD)
            for name, viewport in VIEWPORTS:
                page.set_viewport_size(viewport)
                page.goto(f"{server}/transparency")
                expect(page.locator("#checkpoint-status")).to_have_text(
                    "运营方签名：已用下方公钥验证通过")
                no_sideways_scroll(page)
                page.screenshot(path=str(SHOTS / f"transparency-{name}.png"), full_page=True)

                page.goto(f"{server}/console/")
                page.click("#nav-reports")
                page.fill("input[name=year]", "2026")
                page.click("#report-form button[type=submit]")
                expect(page.locator("#report-ready h2")).to_have_text("2026年质量状况白皮书")
                no_sideways_scroll(page)
                page.screenshot(path=str(SHOTS / f"reports-{name}.png"), full_page=True)

                page.click("#report-preview")
                expect(page.locator("h1")).to_have_text("2026年质量状况白皮书")
                # every chart loaded (a data: image the CSP allows) and drawn at its size
                widths = page.eval_on_selector_all(
                    "figure.chart img", "images => images.map(i => i.naturalWidth)")
                assert len(widths) == 7 and min(widths) > 500
                no_sideways_scroll(page)
                page.screenshot(path=str(SHOTS / f"report-preview-{name}.png"), full_page=True)
                page.go_back()

            with page.expect_download() as download:
                page.click("#report-pdf")
            saved = SHOTS / "whitepaper.pdf"
            download.value.save_as(saved)
            assert saved.read_bytes().startswith(b"%PDF-")
            assert download.value.suggested_filename.endswith(".pdf")
            assert not violations, violations
        finally:
            browser.close()
