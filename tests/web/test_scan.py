"""POST /api/v1/scan: a photo in, the codes on it parsed and looked up; every bad upload a 4xx.

The photos are real ones from the shared set and pictures the corpus renders; the lookups run
against the demo network (loaded once for the module).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile
from sqlalchemy import select

from ledger.supervision.models import LotRow
from tests.conftest import SHARED, demo_app_in
from tests.scanners import corpus
from web import reports as web_reports

SCAN = "/api/v1/scan"


@pytest.fixture(scope="module")
def demo_app() -> Iterator[Flask]:
    """An app over the demo network, loaded once, with rate limits off (tests/web/test_limits.py
    checks them)."""
    for app in demo_app_in("tracenet-scan-"):
        app.extensions["tracenet.limiter"].enabled = False
        yield app


@pytest.fixture
def client(demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()


@pytest.fixture(scope="module")
def demo_lot(demo_app: Flask) -> tuple[str, str]:
    """A lot of the demo network that passed inspection: (GTIN-14, lot)."""
    runtime = demo_app.extensions["tracenet.runtime"]
    with runtime.sessions() as session:
        row = session.scalars(select(LotRow).where(LotRow.inspection == "pass")
                              .order_by(LotRow.gtin, LotRow.lot)).first()
        assert row is not None
        return row.gtin, row.lot


def post(client: FlaskClient, data: bytes, *, filename: str = "photo.jpg") -> Any:
    return client.post(SCAN, data={"image": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.get_json()
    body = response.get_json()["error"]
    assert (body["code"], body["field"]) == (code, "image")
    message: str = body["message"]
    return message


def _render(content: str, format_: str, *, gs1: bool = False) -> bytes:
    import zxingcpp  # the corpus's writer, for a code of our choosing
    barcode = zxingcpp.create_barcode(content, getattr(zxingcpp.BarcodeFormat, format_),
                                      **({"gs1": True} if gs1 else {}))
    picture = Image.fromarray(__import__("numpy").asarray(
        zxingcpp.write_barcode_to_image(barcode, scale=5)))
    out = io.BytesIO()
    picture.convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


# --- what is read ---------------------------------------------------------------------------

def test_a_gs1_data_matrix_of_a_demo_lot_is_read_parsed_and_looked_up(
        client: FlaskClient, demo_lot: tuple[str, str]) -> None:
    gtin, lot = demo_lot
    response = post(client, _render(f"(01){gtin}(10){lot}(21)SN-0001", "DataMatrix", gs1=True))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    (code,) = body["codes"]
    assert (code["format"], code["symbology"], code["kind"]) == ("DataMatrix", "]d2",
                                                                 "scan_data")
    assert code["text"] == f"01{gtin}10{lot}\x1d21SN-0001"
    assert code["ais"] == [["01", gtin], ["10", lot], ["21", "SN-0001"]]
    assert code["element_string"] == f"(01){gtin}(10){lot}(21)SN-0001"
    assert code["error"] is None
    lookup = body["lookup"]
    assert (lookup["gtin"], lookup["lot"], lookup["level"]) == (gtin, lot, "unit")
    assert lookup["product"]["found"] and lookup["lot_info"]["found"]


def test_a_digital_link_qr_code_is_looked_up_at_its_lot(client: FlaskClient,
                                                        demo_lot: tuple[str, str]) -> None:
    gtin, lot = demo_lot
    link = f"https://id.example.com/01/{gtin}/10/{lot}"
    response = post(client, _render(link, "QRCode"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(c["format"], c["text"], c["kind"]) for c in body["codes"]] == [
        ("QRCode", link, "digital_link")]
    assert (body["lookup"]["level"], body["lookup"]["lot"]) == ("lot", lot)


def test_an_ean13_of_an_unknown_product_answers_not_found(client: FlaskClient) -> None:
    response = post(client, _render("5901234123457", "EAN13"))
    assert response.status_code == 200
    body = response.get_json()
    assert [(c["format"], c["text"], c["kind"]) for c in body["codes"]] == [
        ("EAN13", "5901234123457", "gtin")]
    assert body["codes"][0]["ais"] == [["01", "05901234123457"]]
    assert body["lookup"]["level"] == "product" and not body["lookup"]["product"]["found"]


def test_a_code_that_is_no_gs1_code_is_reported_without_a_lookup(client: FlaskClient) -> None:
    response = post(client, _render("hello, shopper", "QRCode"))
    assert response.status_code == 200
    body = response.get_json()
    (code,) = body["codes"]
    assert (code["text"], code["kind"], code["ais"]) == ("hello, shopper", None, [])
    assert code["error"]["code"].startswith("code.")
    assert body["lookup"] is None


def test_real_photographs_through_the_endpoint(client: FlaskClient) -> None:
    photos = SHARED / "scan-photos"
    for name in ("datamatrix-5__issue794-13-4.jpg", "ean13-2__01.jpg", "rssexpanded-1__15.png"):
        expected = (photos / name).with_suffix(".txt").read_bytes().decode()
        response = post(client, (photos / name).read_bytes(), filename=name)
        assert response.status_code == 200, (name, response.get_json())
        assert expected in [c["text"] for c in response.get_json()["codes"]], name


def test_the_openapi_description_documents_the_upload(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/scan"]["post"]
    upload = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["properties"]["image"]["format"] == "binary"
    assert {"200", "400", "413", "415", "422"} <= set(operation["responses"])


# --- what is refused ------------------------------------------------------------------------

def _png(width: int, height: int, idat: bytes, *, depth: int = 1, colour: int = 0) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def _zero_rows(row_bytes: int, count: int) -> bytes:
    compressor = zlib.compressobj(9)
    row = bytes(1 + row_bytes)
    return b"".join(compressor.compress(row) for _ in range(count)) + compressor.flush()


def test_no_image_field(client: FlaskClient) -> None:
    assert "field 'image'" in error(client.post(SCAN, data={"photo": "x"}), 400, "image.missing")
    assert "field 'image'" in error(client.post(SCAN, json={"image": "x"}), 400, "image.missing")


def test_zero_bytes(client: FlaskClient) -> None:
    assert "empty" in error(post(client, b""), 400, "image.empty")


def test_a_truncated_png(client: FlaskClient) -> None:
    data = corpus.sample("QRCode", "rotate 0-360°", 4).data
    assert "truncated or corrupt" in error(post(client, data[: len(data) * 2 // 3],
                                                filename="t.png"), 422, "image.unreadable")


def test_a_truncated_png_is_refused_after_a_report_was_rendered(client: FlaskClient) -> None:
    # WeasyPrint's import tells Pillow, process-wide, to load truncated images; the worker
    # that printed a white paper must still refuse a truncated photo.
    web_reports._weasyprint()
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    data = corpus.sample("QRCode", "rotate 0-360°", 4).data
    error(post(client, data[: len(data) * 2 // 3], filename="t.png"), 422, "image.unreadable")


def test_a_pdf(client: FlaskClient) -> None:
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n"
    assert "not a PNG, JPEG, WebP or HEIC" in error(post(client, pdf, filename="label.pdf"),
                                                     415, "image.unsupported")


def test_a_20000_by_20000_png(client: FlaskClient) -> None:
    data = _png(20_000, 20_000, _zero_rows(2_500, 20_000))
    assert len(data) < 100_000
    assert "too many pixels" in error(post(client, data, filename="big.png"), 413,
                                      "image.too_large")


def test_a_png_decompression_bomb(client: FlaskClient) -> None:
    # a few hundred bytes declaring 100,000 x 100,000 RGBA: 40 GB if it were inflated
    data = _png(100_000, 100_000, _zero_rows(16, 4), depth=8, colour=6)
    assert len(data) < 1_000
    assert "too many pixels" in error(post(client, data, filename="bomb.png"), 413,
                                      "image.too_large")


def test_a_photo_with_no_code(client: FlaskClient) -> None:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (120, 160, 90)).save(out, format="JPEG")
    assert "no barcode or QR code" in error(post(client, out.getvalue()), 422,
                                            "image.no_code")


def test_random_bytes(client: FlaskClient) -> None:
    rng = random.Random(8)  # noqa: S311 - test data, not a secret
    for size in (1, 7, 100, 5_000, 200_000):
        data = bytes(rng.getrandbits(8) for _ in range(size))
        response = post(client, data)
        assert response.status_code in {400, 415, 422}, response.get_json()
        assert response.get_json()["error"]["field"] == "image"


def test_more_bytes_than_the_limit(client: FlaskClient) -> None:
    # the multipart body written out here: the test client would spool a file this large to a
    # temporary file of its own and leave it open
    boundary = "scan-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + \
        b"\xff\xd8\xff" + bytes(21 * 1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()
    response = client.post(SCAN, data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert "at most 20,971,520" in error(response, 413, "image.too_large")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_any_bytes_get_a_json_4xx_or_codes(client: FlaskClient, data: bytes) -> None:
    response = post(client, data)
    assert response.status_code in {200, 400, 413, 415, 422}
    assert response.is_json
