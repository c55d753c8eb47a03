"""The shopper's journey in a real browser: the system Chromium, driven by Playwright, against
the app served by gunicorn on a ledger prepared with the ``tracenet`` CLI.

A resolver URL opens the product with the ledger check passing in the page (WebCrypto in
Chromium), the same page with a tampered proof, checkpoint or key served reads as a failure,
a photo of a unit's QR code or GS1 DataMatrix, or of the label the maker prints (read in the
browser by the npm polyfill, or without JavaScript by the server), leads to the unit, the camera
(Chromium's fake capture device playing a QR code) does too, a recalled lot shows its banner,
the second scan of a unit (by serial or by its 20-digit supervision code) shows the count, the
language switches, and ``tracenet check-lot`` agrees with the page. Pages are served under a
strict Content-Security-Policy and may load nothing from elsewhere. One server and one browser
serve every test: the module takes under a minute.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import REPO
from tests.ledger.conftest import make_uscc
from tests.web.conftest import served

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # the camera: a fake device playing a file, granted without a prompt
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
SCREENSHOTS = Path(os.environ.get("TRACENET_SCREENSHOTS", "/tmp/tracenet-shopper"))
PRODUCER = make_uscc(1)
GTIN = "06901234567892"
LOT, RECALLED_LOT = "P20261126-01", "P20261120-02"
SERIALS = ("A7K2M9Q4", "B3X8N5R1", "C6P1W7T3", "D9F4J2L8", "E2H6K9M5")
# The strict policy the pages are written for (no inline script or style, nothing from
# elsewhere); the scanner polyfill compiles WebAssembly, which needs 'wasm-unsafe-eval'.
STRICT_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
              "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
              "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
              "frame-ancestors 'none'")
PHONE = {"width": 390, "height": 844}
#: the shopper's page a resolver URL of the lot redirects to
LOT_PAGE = f"/p/01/{GTIN}/10/{LOT}"
DESKTOP = {"width": 1366, "height": 900}

# Runs the CLI commands given as JSON in one interpreter: starting Python and the app's
# imports once instead of once a command (4 s each here) keeps the set-up to a few seconds.
_CLI_SCRIPT = """
import json, sys
from web.cli import main
for args in json.loads(sys.argv[1]):
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
"""


def tracenet(env: dict[str, str], *commands: list[str]) -> str:
    """Run ``tracenet`` commands in order, as an operator would; fail on the first error."""
    result = subprocess.run([sys.executable, "-c", _CLI_SCRIPT, json.dumps(commands)],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def qr_png(text: str) -> bytes:
    import qrcode

    out = io.BytesIO()
    qrcode.make(text, border=4, box_size=8).save(out, format="PNG")
    return out.getvalue()


def gs1_datamatrix_png(element_string: str) -> bytes:
    """A GS1 DataMatrix (FNC1 first, ]d2) of a bracketed element string, as printed on labels."""
    import numpy
    import zxingcpp
    from PIL import Image

    symbol = zxingcpp.create_barcode(element_string, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    picture = Image.fromarray(numpy.array(zxingcpp.write_barcode_to_image(symbol, scale=8)))
    out = io.BytesIO()
    picture.convert("L").save(out, format="PNG")
    return out.getvalue()


def y4m(path: Path, png: bytes, size: tuple[int, int] = (640, 480), frames: int = 10) -> None:
    """A still video (YUV4MPEG2, 4:2:0) of the picture centred on white: Chromium's fake camera
    plays it in a loop."""
    from PIL import Image

    canvas = Image.new("RGB", size, "white")
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    picture.thumbnail((size[1] - 40, size[1] - 40))
    canvas.paste(picture, ((size[0] - picture.width) // 2, (size[1] - picture.height) // 2))
    y, cb, cr = canvas.convert("YCbCr").split()
    half = (size[0] // 2, size[1] // 2)
    frame = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + frame)


@dataclass
class Shop:
    url: str
    camera_video: Path
    supervision_codes: list[str]
    label_png: bytes  # a real label (Digital Link QR, GS1 DataMatrix, GS1-128) of a unit


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """gunicorn serving a maker, its product, an inspected lot with serialised units and a
    recalled lot."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    tmp = tmp_path_factory.mktemp("shop")
    env = {**os.environ, "TRACENET_DATABASE_URL": f"sqlite:///{tmp / 'tracenet.db'}",
           "TRACENET_SECRET_KEY": "browser-test-secret",
           "TRACENET_LEDGER_KEY": str(tmp / "ledger_key.pem"),
           "TRACENET_CODE_SECRET": "browser-test-code-secret",
           "TRACENET_RATELIMIT_ENABLED": "false"}
    sheets = {
        "product_registered": "gtin,name,category,standard,spec\n"
                              f"{GTIN},全脂纯牛奶 250mL,07,GB 25190-2010,250mL×24\n",
        "production": "gtin,lot,quantity,unit,produced_at,expiry\n"
                      f"{GTIN},{LOT},4000,pcs,2026-11-26T10:00:00+08:00,2027-05-26\n"
                      f"{GTIN},{RECALLED_LOT},2000,pcs,2026-11-20T10:00:00+08:00,2027-05-20\n",
        "inspection": "gtin,lot,kind,lab,standard,items,verdict,report_no,inspected_at\n"
                      f"{GTIN},{LOT},third_party,福建省产品质量检验研究院,GB 19301-2010,"
                      "三聚氰胺=0.05|≤2.5|mg/kg|true,pass,FJQI-2026-08812,"
                      "2026-11-26T15:00:00+08:00\n",
        "serialization": f"gtin,lot,serials\n{GTIN},{LOT},{';'.join(SERIALS)}\n",
    }
    commands = [["init"], ["enterprise", "add", "--uscc", PRODUCER, "--name", "福州乳业",
                           "--district", "福州市"]]
    for record_type, text in sheets.items():
        (tmp / f"{record_type}.csv").write_text(text, encoding="utf-8")
        commands.append(["import", str(tmp / f"{record_type}.csv"), "--enterprise", PRODUCER])
    commands.append(["recall", "start", "--enterprise", PRODUCER, "--level", "2", "--lot",
                     f"{GTIN}/{RECALLED_LOT}", "--reason", "菌落总数超标",
                     "--hazard", "可能引起肠胃不适"])
    output = tracenet(env, *commands)
    token = re.search(r"API token \(shown once\): (\S+)", output)
    assert token is not None, output
    with served(env, tmp) as url:
        video = tmp / "camera.y4m"
        y4m(video, qr_png(f"{url}/01/{GTIN}/10/{LOT}/21/{SERIALS[3]}"))
        # Units with supervision codes, and a label, as the maker makes them.
        auth = {"Authorization": f"Bearer {token.group(1)}"}
        minted = requests.post(f"{url}/api/v1/lots/{GTIN}/{LOT}/serials", json={"count": 2},
                               headers=auth, timeout=30)
        assert minted.status_code == 201, minted.text
        units = minted.json()["units"]
        label = requests.get(f"{url}/api/v1/lots/{GTIN}/{LOT}/labels/{units[1]['serial']}.png",
                             headers=auth, timeout=30)
        assert label.status_code == 200, label.text
        yield Shop(url, video, [unit["supervision_code"] for unit in units], label.content)


@pytest.fixture(scope="module")
def browser(shop: Shop) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={shop.camera_video}"])
        yield browser
        browser.close()


def _with_strict_csp(route: Any) -> None:
    """Serve pages with STRICT_CSP, as a deployment's proxy (or the app) would.

    A redirect (the resolver's 307) goes to the browser as it is, so the address bar shows the
    page it leads to; Chromium does not route the request that follows a redirect, so a page
    reached through one is checked under the policy by loading it again (see the first test).
    """
    if route.request.resource_type != "document":
        route.continue_()
        return
    response = route.fetch(max_redirects=0)
    route.fulfill(response=response,
                  headers={**response.headers, "content-security-policy": STRICT_CSP})


@pytest.fixture
def page(browser: Any, shop: Shop) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    context.route(f"{shop.url}/**", _with_strict_csp)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    # Nothing may come from anywhere but the app: no CDN, no fonts, no wasm from elsewhere.
    foreign: list[str] = []
    page.on("request", lambda request: None if request.url.startswith((shop.url, "data:"))
            else foreign.append(request.url))
    yield page
    context.close()
    assert errors == []
    assert foreign == []


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def expect_state(page: Any, state: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#verification")).to_have_attribute("data-state", state, timeout=15_000)


def test_a_resolver_url_shows_the_product_verified_in_both_languages(page: Any,
                                                                       shop: Shop) -> None:
    from playwright.sync_api import expect

    response = page.goto(f"{shop.url}/01/{GTIN}/10/{LOT}")
    assert response is not None and response.ok
    expect(page).to_have_url(f"{shop.url}{LOT_PAGE}")
    expect(page.locator("h1")).to_contain_text("全脂纯牛奶")
    expect_state(page, "verified")
    # The same page again, now served under the strict policy (no redirect on the way).
    response = page.reload()
    assert response is not None and response.headers["content-security-policy"] == STRICT_CSP
    expect_state(page, "verified")
    status = page.locator("#verification [data-verification-status]")
    expect(status).to_contain_text("✓ 已在账本中验证")
    expect(status).to_contain_text("verified in the ledger")
    summary = page.locator("[data-verification-summary]")
    expect(summary).to_contain_text("签名检查点")
    # the checkpoint's time: its last entry's signed timestamp, shown in local time
    expect(summary).to_contain_text(re.compile(r"检查点时间 \d{4}/\d{1,2}/\d{1,2}"))
    # The pinned key is shown, and the details list every entry with its proof.
    vkey = page.locator("#verification").get_attribute("data-key")
    expect(page.locator("[data-operator-key]")).to_have_text(vkey)
    details = page.locator("[data-verification-details]")
    details.locator("summary").click()
    seqs = json.loads(page.evaluate("""async () => JSON.stringify((await (await fetch(
        document.getElementById('verification').dataset.evidence)).json()).entries.map(
        e => e.seq))"""))
    assert len(seqs) >= 3
    rows = details.locator("tr")
    expect(rows).to_have_count(len(seqs) + 1)
    for seq in seqs:
        expect(details).to_contain_text(str(seq))
    expect(details).to_contain_text("检验")
    screenshot(page, "lot-zh-390")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "lot-zh-1366")

    page.locator("#switch-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect_state(page, "verified")
    expect(page.locator("[data-verification-summary]")).to_contain_text("signed checkpoint")
    expect(page.locator("#inspections")).to_contain_text("Third-party")
    screenshot(page, "lot-en-1366")
    page.set_viewport_size(PHONE)
    screenshot(page, "lot-en-390")
    page.locator("#switch-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def _tamper(page: Any, change: Any) -> None:
    """Serve the page's evidence changed by ``change(evidence)``."""

    def handle(route: Any) -> None:
        response = route.fetch()
        evidence = response.json()
        change(evidence)
        route.fulfill(response=response, body=json.dumps(evidence),
                      content_type="application/json")

    page.route("**/api/v1/public/evidence*", handle)


def _flip(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[7] ^= 0x20
    return base64.b64encode(bytes(raw)).decode()


def _proof(evidence: dict[str, Any]) -> None:
    entry = next(e for e in evidence["entries"] if e["proof"])
    entry["proof"][-1] = _flip(entry["proof"][-1])


def _checkpoint(evidence: dict[str, Any]) -> None:
    origin, size, *rest = evidence["checkpoint"].split("\n")
    evidence["checkpoint"] = "\n".join([origin, str(int(size) - 1), *rest])


def _entry(evidence: dict[str, Any]) -> None:
    entry = next(e for e in evidence["entries"] if e["entry"])
    body = json.loads(base64.b64decode(entry["entry"]))
    body["payload"]["name"] = "假冒" + str(body["payload"].get("name", ""))
    entry["entry"] = base64.b64encode(json.dumps(body, ensure_ascii=False).encode()).decode()


def _drop(evidence: dict[str, Any]) -> None:
    """The server leaves out an entry the page rests on (an inspection it would hide)."""
    evidence["entries"] = [e for e in evidence["entries"] if e.get("type") != "inspection"]


def _key(evidence: dict[str, Any]) -> None:
    """A forger re-signs the checkpoint with its own key and names that key: the page pins the
    operator's."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.log.checkpoint import Checkpoint, sign_checkpoint, verifier_key

    origin, size, root = evidence["checkpoint"].split("\n")[:3]
    forger = Ed25519PrivateKey.generate()
    evidence["checkpoint"] = sign_checkpoint(
        Checkpoint(origin, int(size), base64.b64decode(root)), key_name=origin,
        private_key=forger)
    evidence["operator_key"] = {"verifier_key": verifier_key(origin, forger.public_key())}


@pytest.mark.parametrize(("change", "reason"), [
    (_proof, "proof"), (_checkpoint, "signature"), (_entry, "entry"), (_drop, "proof"),
    (_key, "key")])
def test_tampered_evidence_reads_as_a_failure(page: Any, shop: Shop, change: Any,
                                              reason: str) -> None:
    from playwright.sync_api import expect

    _tamper(page, change)
    page.goto(f"{shop.url}{LOT_PAGE}")
    expect_state(page, "failed")
    status = page.locator("#verification [data-verification-status]")
    expect(status).to_contain_text("✗ 验证失败 / verification failed")
    expect(status).not_to_contain_text("✓")
    expect(page.locator("[data-verification-reason]")).to_have_attribute(
        "data-verification-reason", reason)
    if change is _proof:
        screenshot(page, "tampered-zh-390")


def test_a_page_showing_what_the_ledger_does_not_say_fails(page: Any, shop: Shop) -> None:
    """A server (or a proxy) that changes the product's name on the page but serves honest
    evidence: the marked fact no longer matches the product's entry."""
    from playwright.sync_api import expect

    def forge(route: Any) -> None:
        response = route.fetch()
        body = response.text().replace("全脂纯牛奶 250mL</h1>", "有机全脂纯牛奶 250mL</h1>")
        route.fulfill(response=response, body=body,
                      headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route(f"**/01/{GTIN}/10/{LOT}", forge)
    page.goto(f"{shop.url}{LOT_PAGE}")
    expect(page.locator("h1")).to_have_text("有机全脂纯牛奶 250mL")
    expect_state(page, "failed")
    expect(page.locator("[data-verification-reason]")).to_have_attribute(
        "data-verification-reason", "fact")


def test_a_browser_without_ed25519_says_it_cannot_check(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    # As Chrome before 137 answers: WebCrypto without Ed25519.
    page.add_init_script("""{
        const importKey = crypto.subtle.importKey.bind(crypto.subtle);
        crypto.subtle.importKey = (format, data, algorithm, ...rest) =>
            (algorithm && algorithm.name === "Ed25519")
                ? Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"))
                : importKey(format, data, algorithm, ...rest);
    }""")
    page.goto(f"{shop.url}{LOT_PAGE}")
    expect_state(page, "unsupported")
    status = page.locator("#verification [data-verification-status]")
    expect(status).to_contain_text("本浏览器无法核验")
    expect(status).not_to_contain_text("✓")


def test_a_recalled_lot_shows_the_banner(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    page.goto(f"{shop.url}/01/{GTIN}/10/{RECALLED_LOT}")
    banner = page.locator("#recall-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("召回")
    assert banner.bounding_box()["y"] < PHONE["height"] / 2  # at the top, not below the fold
    expect_state(page, "verified")
    screenshot(page, "recalled-zh-390")


def test_the_second_scan_of_a_unit_shows_the_count(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    unit = f"{shop.url}/01/{GTIN}/10/{LOT}/21/{SERIALS[0]}"
    page.goto(unit)
    expect(page.locator("#query-count")).to_contain_text("第一次")
    expect_state(page, "verified")
    page.goto(unit)
    expect(page.locator("#query-count")).to_contain_text("已被查询 2 次")
    screenshot(page, "unit-second-zh-390")


def test_a_supervision_code_typed_twice_is_verified_and_counted(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    code = shop.supervision_codes[0]
    for count in ("第一次", "已被查询 2 次"):
        page.goto(f"{shop.url}/")
        page.locator("#code").fill(code)
        page.locator("form.code-form button[type=submit]").click()
        expect(page).to_have_url(re.compile(rf"/c/{code}"))
        expect(page.locator("#query-count")).to_contain_text(count)
        expect_state(page, "verified")
    screenshot(page, "code-second-zh-390")


def test_a_photo_of_a_printed_label_leads_to_its_unit(page: Any, shop: Shop,
                                                      tmp_path: Path) -> None:
    from playwright.sync_api import expect

    label = tmp_path / "label.png"
    label.write_bytes(shop.label_png)
    page.goto(f"{shop.url}/")
    with page.expect_navigation(url=re.compile(r"/(21|c)/")):
        page.locator("form[data-scanner] input[type=file]").set_input_files(str(label))
    expect(page.locator("#product h1")).to_contain_text("全脂纯牛奶")
    expect(page.locator("#query-count")).to_be_visible()
    expect_state(page, "verified")


def test_a_photo_leads_to_the_unit_with_and_without_javascript(
        browser: Any, page: Any, shop: Shop, tmp_path: Path) -> None:
    from PIL import Image
    from playwright.sync_api import expect

    # A 12-megapixel phone photo (the page reads it scaled down) of another domain's link.
    big = Image.new("RGB", (4000, 3000), (236, 230, 220))
    label = Image.open(io.BytesIO(qr_png(
        f"https://example.com/01/{GTIN}/10/{LOT}/21/{SERIALS[1]}"))).convert("RGB")
    big.paste(label.resize((900, 900)), (1700, 1100))
    camera_roll = tmp_path / "IMG_0001.jpg"
    big.save(camera_roll, format="JPEG", quality=90)
    photo = tmp_path / "label.png"
    page.goto(f"{shop.url}/?lang=en")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "home-en-1366")
    page.goto(f"{shop.url}/?lang=zh_CN")
    page.set_viewport_size(PHONE)
    screenshot(page, "home-zh-390")
    # With JavaScript the page reads the photo itself (the npm polyfill's wasm, from our app):
    # nothing is uploaded.
    uploads: list[str] = []
    page.on("request", lambda request: uploads.append(request.url)
            if request.method == "POST" else None)
    with page.expect_navigation(url=f"**/21/{SERIALS[1]}*"):
        page.locator("form[data-scanner] input[type=file]").set_input_files(str(camera_roll))
    expect(page.locator("#lot")).to_contain_text(SERIALS[1])
    expect_state(page, "verified")
    # A GS1 DataMatrix reads as an element string with GS separators: the parse API gives its
    # Digital Link path here.
    photo.write_bytes(gs1_datamatrix_png(f"(01){GTIN}(10){LOT}(21){SERIALS[4]}"))
    with page.expect_navigation(url=f"**/21/{SERIALS[4]}*"):
        page.locator("form[data-scanner] input[type=file]").set_input_files(str(photo))
    expect(page.locator("#lot")).to_contain_text(SERIALS[4])
    assert uploads == []

    # Without JavaScript the form posts the photo and the server decodes it.
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(f"{shop.url}/")
        photo.write_bytes(qr_png(f"{shop.url}/01/{GTIN}/10/{LOT}/21/{SERIALS[2]}"))
        plain.locator("form[data-scanner] input[type=file]").set_input_files(str(photo))
        plain.locator("form[data-scanner] button[type=submit]").click()
        expect(plain.locator("#lot")).to_contain_text(SERIALS[2])
        expect(plain.locator("#query-count")).to_be_visible()
    finally:
        context.close()


def test_the_camera_reads_a_code_and_opens_its_page(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    # From a result page, as a shopper checks one package after another.
    page.goto(f"{shop.url}/01/{GTIN}/10/{RECALLED_LOT}")
    with page.expect_navigation(url=f"**/21/{SERIALS[3]}*", timeout=20_000):
        page.locator("[data-scan-camera]").click()
    expect(page.locator("#lot")).to_contain_text(SERIALS[3])
    expect_state(page, "verified")


def test_check_lot_from_a_shell_agrees_with_the_page(page: Any, shop: Shop) -> None:
    page.goto(f"{shop.url}/01/{GTIN}/10/{LOT}")
    expect_state(page, "verified")
    vkey = page.locator("#verification").get_attribute("data-key")
    result = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "check-lot", "--url", shop.url,
         "--gtin", GTIN, "--lot", LOT, "--key", vkey], cwd=REPO, capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 4 entries in checkpoint")
    assert "inspection" in result.stdout and "(private)" in result.stdout
    other = vkey.split("+", 1)[0] + "+00000000+" + vkey.split("+", 2)[2]
    refused = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "check-lot", "--url", shop.url,
         "--gtin", GTIN, "--lot", LOT, "--key", other], cwd=REPO, capture_output=True,
        text=True, timeout=60)
    assert refused.returncode == 1
    assert "FAILED" in refused.stderr
