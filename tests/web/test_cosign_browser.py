"""A shopper's page whose server requires a witness's cosignature
(``TRACENET_CONSUMER_MIN_COSIGNATURES=1`` of ``TRACENET_WITNESSES``), in the system Chromium.

Until a witness cosigned a checkpoint the evidence is not served (404, field
min_cosignatures) and the page reads as awaiting the signed checkpoint; once one did (cosigned
here with Tracenet's witness code and stored as the log's cosigner stores it), the page reads
verified and names the witness, and with the cosignature tampered with or stripped from the
served evidence it reads as failed, never verified. ``tracenet check-lot`` with the same policy
agrees.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session

from ledger.log import latest_checkpoint
from ledger.log.checkpoint import parse_note
from ledger.log.cosignature import CosignerKey, cosign
from ledger.log.keys import generate_private_key
from ledger.log.storage import CosignatureRow
from tests.conftest import REPO
from tests.ledger.conftest import make_uscc
from tests.web.conftest import served
from tests.web.test_shopper_browser import CHROMIUM, CHROMIUM_ARGS, PHONE, screenshot, tracenet
from web.runtime import Runtime
from web.settings import Settings

pytestmark = pytest.mark.slow

PRODUCER = make_uscc(1)
GTIN = "06901234567892"
LOT = "P20261126-01"
PAGE = f"/p/01/{GTIN}/10/{LOT}"
WITNESS = "witness.test/w1"


@dataclass
class Shop:
    url: str
    env: dict[str, str]
    witness: CosignerKey


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    tmp = tmp_path_factory.mktemp("cosigned")
    witness_key = generate_private_key()
    witness = CosignerKey.of(WITNESS, witness_key)
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{tmp / 'tracenet.db'}",
           "TRACENET_SECRET_KEY": "browser-test-secret",
           "TRACENET_LEDGER_KEY": str(tmp / "ledger_key.pem"),
           "TRACENET_CODE_SECRET": "browser-test-code-secret",
           "TRACENET_RATELIMIT_ENABLED": "false",
           # no worker runs: the test cosigns as the witness would, and stores it as the log does
           "TRACENET_WITNESSES": f"{witness.vkey} http://127.0.0.1:9",
           "TRACENET_CONSUMER_MIN_COSIGNATURES": "1"}
    sheets = {
        "product_registered": "gtin,name,category,standard,spec\n"
                              f"{GTIN},全脂纯牛奶 250mL,07,GB 25190-2010,250mL×24\n",
        "production": "gtin,lot,quantity,unit,produced_at,expiry\n"
                      f"{GTIN},{LOT},4000,pcs,2026-11-26T10:00:00+08:00,2027-05-26\n",
    }
    commands = [["init"], ["enterprise", "add", "--uscc", PRODUCER, "--name", "福州乳业",
                           "--district", "福州市"]]
    for record_type, text in sheets.items():
        (tmp / f"{record_type}.csv").write_text(text, encoding="utf-8")
        commands.append(["import", str(tmp / f"{record_type}.csv"), "--enterprise", PRODUCER])
    tracenet(env, *commands)
    with served(env, tmp) as url:
        # No checkpoint is cosigned yet: no evidence, and the reason says so.
        answer = requests.get(f"{url}/api/v1/public/evidence",
                              params={"gtin": GTIN, "lot": LOT}, timeout=30)
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["field"] == "min_cosignatures"
        runtime = Runtime(Settings.from_environment(env))
        try:
            with Session(runtime.engine) as session:
                note = latest_checkpoint(session, runtime.ledger)
                size = int(note.split("\n")[1])
                line = cosign(parse_note(note).text, name=WITNESS, private_key=witness_key,
                              timestamp=1_795_000_000)
                session.merge(CosignatureRow(size=size, witness=str(witness),
                                             timestamp=1_795_000_000, line=line))
                session.commit()
        finally:
            runtime.close()
        yield Shop(url, env, witness)


@pytest.fixture(scope="module")
def browser(shop: Shop) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def _state(page: Any, state: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#verification")).to_have_attribute("data-state", state, timeout=15_000)


def test_the_page_is_verified_with_the_witness_named(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    page.goto(f"{shop.url}{PAGE}")
    section = page.locator("#verification")
    expect(section).to_have_attribute("data-witnesses", shop.witness.vkey)
    expect(section).to_have_attribute("data-min-cosignatures", "1")
    expect(page.locator("[data-witness-key]")).to_have_text(shop.witness.vkey)
    _state(page, "verified")
    expect(page.locator("[data-verification-status]")).to_contain_text("verified in the ledger")
    expect(page.locator("[data-verification-summary]")).to_contain_text(
        f"已由 1 个见证方联署（至少需 1 个）：{WITNESS}")
    page.locator("[data-verification-details] summary").click()
    expect(page.locator("[data-verification-details]")).to_contain_text(shop.witness.vkey)
    screenshot(page, "cosigned-390")
    page.goto(f"{shop.url}{PAGE}?lang=en")
    _state(page, "verified")
    expect(page.locator("[data-verification-summary]")).to_contain_text(
        f"cosigned by 1 witnesses (1 required): {WITNESS}")


def _serve_changed(page: Any, change: Any) -> None:
    def handle(route: Any) -> None:
        response = route.fetch()
        evidence = response.json()
        evidence["checkpoint"] = change(evidence["checkpoint"])
        route.fulfill(response=response, body=json.dumps(evidence),
                      content_type="application/json")

    page.route("**/api/v1/public/evidence*", handle)


def _forge(note: str) -> str:
    lines = note.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"— {WITNESS} "))
    prefix, blob = lines[at].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    lines[at] = f"{prefix} {base64.b64encode(bytes(raw)).decode()}"
    return "\n".join(lines)


def _strip(note: str) -> str:
    return "".join(line for line in note.splitlines(keepends=True)
                   if not line.startswith(f"— {WITNESS} "))


@pytest.mark.parametrize(("change", "reason"), [
    (_forge, "检查点的见证方联署无效"),
    (_strip, "only 0 of 1 witnesses cosigned"),
])
def test_a_tampered_cosignature_fails(page: Any, shop: Shop, change: Any, reason: str) -> None:
    from playwright.sync_api import expect

    _serve_changed(page, change)
    page.goto(f"{shop.url}{PAGE}")
    _state(page, "failed")
    status = page.locator("[data-verification-status]")
    expect(status).to_contain_text("✗ 验证失败 / verification failed")
    expect(status).to_contain_text(reason)
    expect(status).not_to_contain_text("verified in the ledger")


def test_check_lot_agrees(shop: Shop) -> None:
    vkey = requests.get(f"{shop.url}/api/v1/ledger/key", timeout=30).text.strip()
    base = [sys.executable, "-c", "from web.cli import main; main()", "check-lot",
            "--url", shop.url, "--gtin", GTIN, "--lot", LOT, "--key", vkey]
    run = subprocess.run([*base, "--witness", shop.witness.vkey, "--min-cosignatures", "1"],
                         env=shop.env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(rf"cosigned by 1 of 1 witnesses \({re.escape(str(shop.witness))}\)",
                     run.stdout), run.stdout
    other = CosignerKey.of("witness.test/w2", generate_private_key()).vkey
    run = subprocess.run([*base, "--witness", other, "--min-cosignatures", "1"],
                         env=shop.env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "only 0 of 1 witnesses cosigned" in run.stdout + run.stderr


def test_records_newer_than_the_cosigned_checkpoint_await_it(page: Any, shop: Shop,
                                                              tmp_path: Any) -> None:
    from playwright.sync_api import expect

    # A lot made after the witness cosigned: its production entry is past that checkpoint,
    # which the evidence still uses (no newer one is cosigned), so the page waits for one.
    sheet = tmp_path / "production.csv"
    sheet.write_text("gtin,lot,quantity,unit,produced_at,expiry\n"
                     f"{GTIN},P20261127-02,1000,pcs,2026-11-27T10:00:00+08:00,2027-05-27\n",
                     encoding="utf-8")
    tracenet(shop.env, ["import", str(sheet), "--enterprise", PRODUCER])
    page.goto(f"{shop.url}/p/01/{GTIN}/10/P20261127-02")
    _state(page, "pending")
    expect(page.locator("[data-verification-status]")).to_contain_text(
        "awaiting the signed checkpoint")
    # The first lot, older than the cosigned checkpoint, still verifies against it.
    page.goto(f"{shop.url}{PAGE}")
    _state(page, "verified")


def test_no_cosigned_checkpoint_yet_reads_as_awaiting(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    body = {"error": {"code": "not_found", "field": "min_cosignatures",
                      "message": "no checkpoint has 1 witness cosignatures yet"}}
    page.route("**/api/v1/public/evidence*", lambda route: route.fulfill(
        status=404, body=json.dumps(body), content_type="application/json"))
    page.goto(f"{shop.url}{PAGE}")
    _state(page, "pending")
    expect(page.locator("[data-verification-status]")).not_to_contain_text("verified in")
