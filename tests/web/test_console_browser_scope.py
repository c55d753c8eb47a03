"""A district bureau in a real browser (system Chromium through Playwright, the app served by
gunicorn): the Xiamen bureau sees Xiamen's enterprises and their lots, never Fuzhou's, on a
phone and on a desktop, while the city bureau sees both."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.accounts.users import create_user
from tests.conftest import make_app, run_cli
from tests.ledger.conftest import make_uscc
from tests.web.conftest import served
from tests.web.test_console import PASSWORD
from tests.web.test_console_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    no_sideways_scroll,
    sign_in,
)
from web.db import get_session
from web.settings import NAMES

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/shots")
ENTERPRISES = {  # serial: (name, district)
    301: ("厦门湖里鹭岛乳品有限公司", "厦门市湖里区"),
    302: ("厦门思明鼓浪屿超市有限公司", "厦门市思明区"),
    303: ("福州鼓楼三坊七巷超市有限公司", "福州市鼓楼区"),
    304: ("福建省市场监督管理局", "福州市鼓楼区"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("scope-browser")
    app = make_app(f"sqlite:///{tmp_path / 'tracenet.db'}", tmp_path)
    for serial, (name, district) in ENTERPRISES.items():
        role = "regulator" if serial == 304 else "producer"
        result = run_cli(app, "enterprise", "add", "--uscc", make_uscc(serial), "--name", name,
                         "--district", district, "--role", role)
        assert result.exit_code == 0, result.output
    with app.app_context():
        bureau = make_uscc(304)
        create_user(get_session(), username="xiamen", password=PASSWORD, enterprise=bureau,
                    role="regulator", district="厦门市")
        create_user(get_session(), username="city", password=PASSWORD, enterprise=bureau,
                    role="regulator")
        get_session().commit()
    env = {**os.environ, **{f"TRACENET_{name}": str(app.config[name]) for name in NAMES
                            if app.config.get(name) is not None},
           "TRACENET_INSTANCE": str(tmp_path)}
    app.extensions["tracenet.runtime"].close()
    with served(env, tmp_path) as url:
        yield url


def names_listed(page: Any) -> set[str]:
    return set(page.locator("table.enterprises td.enterprise-name").all_inner_texts())


def test_a_district_bureau_cannot_see_another_districts_enterprises(server: str) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    xiamen = {name for name, district in ENTERPRISES.values() if district.startswith("厦门")}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            sign_in(phone, server, "xiamen", PASSWORD)
            phone.click("#nav-enterprises")
            expect(phone.locator("h1")).to_have_text("企业名录")
            expect(phone.locator(".scope-note")).to_have_text("辖区：厦门市")
            expect(phone.locator("table.enterprises tbody tr")).to_have_count(2)
            assert names_listed(phone) == xiamen
            expect(phone.locator(".listing-count")).to_contain_text("共 2 条")
            no_sideways_scroll(phone)
            phone.screenshot(path=str(SHOTS / "scope-enterprises-phone.png"), full_page=True)
            # searching for a Fuzhou enterprise finds nothing; its page is not found
            phone.fill("input[name=q]", "福州")
            phone.click(".listing-bar button[type=submit]")
            expect(phone.locator("p.empty")).to_be_visible()
            expect(phone.locator(".listing-count")).to_contain_text("共 0 条")
            response = phone.goto(f"{server}/console/enterprises/{make_uscc(303)}")
            assert response is not None and response.status == 404
            phone.goto(f"{server}/console/enterprises")
            phone.click("#switch-language")  # and in English
            expect(phone.locator("h1")).to_have_text("Enterprises")
            expect(phone.locator(".scope-note")).to_have_text("District: 厦门市")
            expect(phone.locator(".listing-count")).to_contain_text("2 in all")
            assert names_listed(phone) == xiamen
            phone.close()

            desktop = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            sign_in(desktop, server, "city", PASSWORD)
            desktop.click("#nav-enterprises")
            expect(desktop.locator("table.enterprises tbody tr")).to_have_count(4)
            assert names_listed(desktop) == {name for name, _d in ENTERPRISES.values()}
            # sorting by district (code point order: 厦 before 福), then the filter narrows
            desktop.click("th a[data-sort=district]")
            expect(desktop.locator("table.enterprises tbody tr").first).to_contain_text("厦门市")
            desktop.click("th a[data-sort=district]")  # and descending
            expect(desktop.locator("table.enterprises tbody tr").first).to_contain_text("福州市")
            desktop.fill("input[name=district]", "厦门市")
            desktop.click(".listing-bar button[type=submit]")
            expect(desktop.locator("table.enterprises tbody tr")).to_have_count(2)
            desktop.screenshot(path=str(SHOTS / "scope-enterprises-desktop.png"), full_page=True)
            desktop.click("#nav-audit")
            expect(desktop.locator("table.audit tbody tr").first).to_contain_text("city")
            assert re.search(r"/console/enterprises", desktop.inner_text("table.audit"))
            desktop.close()
        finally:
            browser.close()
