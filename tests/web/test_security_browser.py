"""The Content-Security-Policy in a real browser: the console (a regulator enrolling its second
factor, then every console page), the public pages and the shopper's page load with no policy
violation, and the record form's script (a static file now) still adds rows. The system
Chromium, driven by Playwright, against the app served by gunicorn."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import served
from tests.web.test_console_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    GTIN,
    LOT,
    PASSWORD,
    PRODUCER,
    tracenet,
)
from web.console.forms import FORM_TYPES

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/shots")

#: what a page records of the policy's refusals (an init script runs outside the policy)
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" +
                    e.lineNumber);
});
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """gunicorn serving a ledger with a producer's lot and a regulator's console account."""
    from tests.ledger.conftest import make_uscc
    regulator = make_uscc(204)
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{tmp_path / 'tracenet.db'}",
           "TRACENET_SECRET_KEY": "browser-test-secret", "TRACENET_CODE_SECRET": "code-secret",
           "TRACENET_LEDGER_KEY": str(tmp_path / "ledger_key.pem")}
    tracenet(env, "init")
    tracenet(env, "enterprise", "add", "--uscc", PRODUCER, "--name", "福州乳业",
             "--district", "福州市")
    tracenet(env, "enterprise", "add", "--uscc", regulator, "--name", "福州市市场监督管理局",
             "--district", "福州市", "--role", "regulator")
    out = tracenet(env, "user", "add", "--enterprise", regulator, "--username", "inspector",
                   "--password", PASSWORD, "--role", "regulator")
    assert "second factor" in out
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


def _visit(page: Any, url: str, problems: list[str]) -> Any:
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    assert response is not None and response.status < 500, url
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"], url
    problems.extend(f"{url}: {v}" for v in page.evaluate("window.__csp || []"))
    return response


def test_pages_load_under_the_policy(server: str) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    import pyotp
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    problems: list[str] = []
    secret = ""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            for width, height in ((390, 844), (1366, 900)):
                page = browser.new_page(viewport={"width": width, "height": height},
                                        locale="zh-CN")
                page.add_init_script(LISTEN)
                page.on("console", lambda message: problems.append(message.text)
                        if "Content Security Policy" in message.text else None)
                page.on("pageerror", lambda error: problems.append(str(error)))

                # Public pages, no sign-in.
                for path in ("/", "/scan", f"/01/{GTIN}/10/{LOT}", "/recalls"):
                    _visit(page, server + path, problems)

                # A regulator's first sign-in: the password, then enrolment by QR.
                _visit(page, f"{server}/console/login", problems)
                page.fill("#username", "inspector")
                page.fill("#password", PASSWORD)
                page.click("button[type=submit].primary")
                if width == 390:
                    expect(page.locator("#totp-qr svg")).to_be_visible()
                    page.screenshot(path=str(SHOTS / "totp-enrol-390.png"), full_page=True)
                    secret = page.inner_text("#totp-secret").strip()
                    page.fill("#code", pyotp.TOTP(secret).now())
                else:  # enrolled on the phone-sized pass: the code step
                    expect(page.locator("#code")).to_be_visible()
                    page.screenshot(path=str(SHOTS / "totp-code-1366.png"), full_page=True)
                    # the next step's code: the one used at enrolment is spent
                    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
                page.click("button[type=submit].primary")
                expect(page.locator("h1")).to_have_text("批次总览")
                for path in ("/console/", "/console/trace", "/console/recalls",
                             "/console/import", "/api/docs"):
                    _visit(page, server + path, problems)
                for record_type in FORM_TYPES:
                    _visit(page, f"{server}/console/records/{record_type}", problems)
                    add = page.locator("fieldset.rows .add-row").first
                    if add.count():
                        rows = page.locator("fieldset.rows").first.locator("tbody tr")
                        before = rows.count()
                        add.click()
                        assert rows.count() == before + 1  # the static script ran
                page.close()
        finally:
            browser.close()
    assert not problems, problems

