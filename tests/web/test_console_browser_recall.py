"""Trace and recall in a real browser: a regulator signs in, traces the raw-milk lot that failed
its melamine test, orders a recall from the trace page, and a supermarket that holds milk made
from it signs in and finds the notice. The system Chromium, driven by Playwright, against the
app served by gunicorn (as in test_console_browser.py), at a phone's size and a desktop's."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.supervision.check_digits import gs1_check_digit
from tests.conftest import make_app, run_cli
from tests.ledger.conftest import make_uscc
from tests.web.conftest import served
from tests.web.test_console import PASSWORD, add_user
from tests.web.test_console_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    no_sideways_scroll,
    sign_in,
)
from tests.web.test_rules import Producer
from web.settings import NAMES

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/shots")
RAW_MILK = "0694120300001" + gs1_check_digit("0694120300001")
MILK = "0692733100102" + gs1_check_digit("0692733100102")
RAW_LOT, MILK_LOT = "SR20261102", "20261102F1"
MORNING = "2026-11-02T{}:00+08:00"


def _chain(app: Any) -> None:
    """ranch -> dairy -> supermarket, and the regulator's spot check that fails the raw milk."""
    client = app.test_client()
    parties: dict[str, Producer] = {}
    for serial, name, username, role in [
            (201, "汀江源奶牛养殖合作社", "ranch", "producer"),
            (202, "闽榕乳业", "dairy", "producer"),
            (203, "三坊七巷惠民超市", "market", "producer"),
            (204, "福建省市场监督管理局", "regulator", "regulator")]:
        uscc, token = enterprise(app, serial, name, role)
        add_user(app, uscc, username, role)
        parties[username] = Producer(client, uscc, token)
    ranch, dairy, market = parties["ranch"], parties["dairy"], parties["market"]
    ranch.ok("product_registered", gtin=RAW_MILK, name="生乳（荷斯坦牛）", category="07",
             standard="GB 19301-2010", spec="散装")
    dairy.ok("product_registered", gtin=MILK, name="闽榕鲜牛奶 950mL", category="07",
             standard="GB 19645-2010", spec="950mL")
    ranch.ok("production", gtin=RAW_MILK, lot=RAW_LOT, quantity="6000", unit="kg",
             produced_at=MORNING.format("04:40"), inputs=[], additives_used=[])
    passed = {"kind": "self", "lab": "化验室", "verdict": "pass",
              "items": [{"name": "蛋白质", "value": "3.1", "limit": "≥2.8", "unit": "g/100g",
                         "pass": True}]}
    ranch.ok("inspection", gtin=RAW_MILK, lot=RAW_LOT, standard="GB 19301-2010",
             report_no="R-1", inspected_at=MORNING.format("05:20"), **passed)
    ship(ranch, dairy, RAW_MILK, RAW_LOT, "6000", "kg", "06:10", "08:20")
    dairy.ok("production", gtin=MILK, lot=MILK_LOT, quantity="5000", unit="pcs",
             produced_at=MORNING.format("13:00"), additives_used=[],
             inputs=[{"gtin": RAW_MILK, "lot": RAW_LOT, "quantity": "5000", "unit": "kg"}])
    dairy.ok("inspection", gtin=MILK, lot=MILK_LOT, standard="GB 19645-2010",
             report_no="R-2", inspected_at=MORNING.format("15:00"), **passed)
    # 乳制品 carry unit codes before they ship
    dairy.ok("serialization", gtin=MILK, lot=MILK_LOT, serials=["M0001", "M0002"])
    ship(dairy, market, MILK, MILK_LOT, "1200", "pcs", "16:00", "18:10")
    parties["regulator"].ok(
        "inspection", gtin=RAW_MILK, lot=RAW_LOT, kind="spot_check", lab="福建省产品质量检验研究院",
        standard="GB 19301-2010", verdict="fail", report_no="FJSC-CJ-1",
        inspected_at="2026-11-06T16:00:00+08:00",
        items=[{"name": "三聚氰胺", "value": "3.8", "limit": "≤2.5", "unit": "mg/kg",
                "pass": False}])


def enterprise(app: Any, serial: int, name: str, role: str) -> tuple[str, str]:
    """Register an enterprise by name (as an operator would); its USCC and an API token."""
    uscc = make_uscc(serial)
    result = run_cli(app, "enterprise", "add", "--uscc", uscc, "--name", name,
                     "--district", "福州市", "--role", role)
    assert result.exit_code == 0, result.output
    return uscc, result.output.split("shown once): ")[1].strip()


def ship(sender: Producer, receiver: Producer, gtin: str, lot: str, quantity: str, unit: str,
         shipped: str, received: str) -> None:
    movement = {"gtin": gtin, "lot": lot, "quantity": quantity, "unit": unit,
                "document_no": f"FH-{lot}"}
    sender.ok("shipment", **movement, counterparty=receiver.uscc,
              shipped_at=MORNING.format(shipped))
    receiver.ok("receipt", **movement, counterparty=sender.uscc,
                received_at=MORNING.format(received))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """gunicorn serving a ledger with the chain above, prepared in this process."""
    app = make_app(f"sqlite:///{tmp_path / 'tracenet.db'}", tmp_path)
    _chain(app)
    env = {**os.environ, **{f"TRACENET_{name}": str(app.config[name]) for name in NAMES
                            if app.config.get(name) is not None},
           "TRACENET_INSTANCE": str(tmp_path)}
    app.extensions["tracenet.runtime"].close()
    with served(env, tmp_path) as url:
        yield url


def test_a_regulator_traces_the_failed_lot_orders_a_recall_and_a_holder_is_notified(
        server: str) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            # The regulator, on a desktop: trace the raw-milk lot from the nav.
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            sign_in(page, server, "regulator", PASSWORD)
            expect(page.locator("h1").first).to_have_text("批次总览")
            page.click("#nav-trace")
            page.fill("#gtin", RAW_MILK)
            page.fill("#lot", RAW_LOT)
            page.click("#trace-submit")
            down = page.locator("#tree-downstream tbody tr")
            expect(down).to_have_count(4)  # ranch -> dairy -> the milk made of it -> market
            expect(down.nth(0)).to_contain_text("汀江源奶牛养殖合作社")
            expect(down.nth(0).locator(".status")).to_have_text("不合格")
            expect(down.nth(3)).to_contain_text("三坊七巷惠民超市")
            expect(down.nth(3)).to_contain_text("1,200 件")
            expect(down.nth(3)).to_contain_text("终端商品")
            expect(down.nth(2).locator(".kind")).to_have_text("生产投料")
            expect(page.locator("#upstream")).to_contain_text("源头")
            page.screenshot(path=str(SHOTS / "browser-trace-desktop.png"), full_page=True)
            no_sideways_scroll(page)

            # The order form under the trace: a mistake first, then the recall.
            page.fill("#recall-reason", "监督抽检生乳三聚氰胺 3.8 mg/kg，超过限量 2.5 mg/kg")
            page.click("#recall-submit")
            expect(page.locator("fieldset.levels .error")).to_have_text("此项必填")
            hazard = page.locator("label.invalid:has(#recall-hazard) .error")
            expect(hazard).to_have_text("此项必填")
            expect(page.locator(".flash-error")).to_have_text("未发起召回，请更正标出的项目。")
            expect(page.locator("#recall-reason")).to_have_value(re.compile("三聚氰胺"))
            page.check("#level-1")
            page.fill("#recall-hazard", "可导致泌尿系统结石")
            page.click("#recall-submit")
            expect(page.locator(".flash-success")).to_have_text(
                re.compile(r"已发起召回 seq \d+，已通知 3 家企业"))
            expect(page.locator("h1 .level-badge")).to_have_text("一级召回")
            expect(page.locator("#holders tbody tr")).to_have_count(3)
            expect(page.locator("#progress-total")).to_contain_text("0/3 家企业已完成")
            page.screenshot(path=str(SHOTS / "browser-recall-desktop.png"), full_page=True)
            page.click("button.link")  # sign out
            expect(page.locator(".flash-success")).to_have_text("已退出登录")
            page.close()

            # The supermarket, on a phone: the notice heads its dashboard.
            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            sign_in(phone, server, "market", PASSWORD)
            banner = phone.locator(".recall-banner")
            expect(banner).to_have_count(1)
            expect(banner).to_contain_text("一级召回")
            expect(banner).to_contain_text("召回通知：闽榕鲜牛奶 950mL")
            expect(banner).to_contain_text("三聚氰胺")
            no_sideways_scroll(phone)
            phone.screenshot(path=str(SHOTS / "browser-notice-phone.png"), full_page=True)
            banner.locator("a.button").click()
            expect(phone.locator("#holders h2")).to_have_text("本企业的召回任务")
            expect(phone.locator("#report")).to_contain_text(MILK_LOT)
            no_sideways_scroll(phone)
            phone.screenshot(path=str(SHOTS / "browser-holder-phone.png"), full_page=True)
            # ... and in English
            phone.click("#switch-language")
            expect(phone.locator("#report h2")).to_have_text("Report progress")
            expect(phone.locator("h1 .level-badge")).to_have_text("Class I recall")
        finally:
            browser.close()
