"""Serialising a lot through the API (POST /api/v1/lots/{gtin}/{lot}/serials) and the CLI
(tracenet serialize), and the rule that required categories ship only serialised lots."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from scanners import supervision_code
from tests.conftest import run_cli
from tests.ledger.conftest import make_uscc
from tests.web.test_api import add_enterprise, bearer, error, size
from tests.web.test_console import PASSWORD, add_user, csrf_token
from tests.web.test_rules import SEAT, Producer

SECRET = b"test-code-secret"  # tests/conftest.py's CODE_SECRET
SHOP = make_uscc(900)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def maker(app: Flask, client: FlaskClient) -> Producer:
    """A car-seat maker (category 62: units must be serialised) with lot S1 of 10 seats made
    and inspected."""
    uscc, token = add_enterprise(app, 101)
    maker = Producer(client, uscc, token)
    maker.ok("product_registered", **maker.product(gtin=SEAT, category="62",
                                                   standard="GB 27887-2024"))
    maker.ok("production", **maker.production(gtin=SEAT, lot="S1", inputs=[], quantity="10"))
    maker.ok("inspection", **maker.inspection(gtin=SEAT, lot="S1", standard="GB 27887-2024"))
    return maker


def serialise(maker: Producer, count: Any, lot: str = "S1", gtin: str = SEAT,
              **headers: str) -> Any:
    return maker.client.post(f"/api/v1/lots/{gtin}/{lot}/serials", json={"count": count},
                             headers=bearer(maker.token) | headers)


def test_a_lot_ships_once_serialised_through_the_api(maker: Producer) -> None:
    shipment = maker.movement(SHOP, lot="S1", quantity="2", gtin=SEAT) | {
        "shipped_at": "2026-11-26T14:00:00+08:00"}
    refused = maker.rejected("unit.serialization_required", "payload.lot", "shipment",
                             **shipment)
    assert "儿童安全座椅" in refused["message_zh"] and "serialised" in refused["message"]
    response = serialise(maker, 4)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["gtin"], body["lot"], body["count"]) == (SEAT, "S1", 4)
    units = body["units"]
    assert len({unit["serial"] for unit in units}) == 4
    codes = [supervision_code.parse(unit["supervision_code"]) for unit in units]
    assert [code.unit for code in codes] == [1, 2, 3, 4]
    assert all(supervision_code.authentic(SECRET, code) for code in codes)
    entry = maker.client.get(f"/api/v1/events/{body['seq']}",
                             headers=bearer(maker.token)).get_json()
    assert entry["type"] == "serialization"
    assert entry["payload"]["serials"] == [unit["serial"] for unit in units]
    assert entry["payload"]["codes"] == [unit["supervision_code"] for unit in units]
    maker.ok("shipment", **shipment)
    # the next serialisation carries on from the product's last unit number
    more = serialise(maker, 2).get_json()["units"]
    assert [supervision_code.parse(u["supervision_code"]).unit for u in more] == [5, 6]
    listed = maker.client.get(f"/api/v1/lots/{SEAT}/S1/serials?first=2&count=4",
                              headers=bearer(maker.token)).get_json()
    assert (listed["total"], listed["first"], listed["next_first"]) == (6, 2, 6)
    assert listed["units"] == (units + more)[1:5]
    rest = maker.client.get(f"/api/v1/lots/{SEAT}/S1/serials?first=6",
                            headers=bearer(maker.token)).get_json()
    assert (rest["units"], rest["next_first"]) == (more[1:], None)


def test_a_retry_with_the_same_idempotency_key_serialises_nothing_more(
        maker: Producer) -> None:
    first = serialise(maker, 3, **{"Idempotency-Key": "labels-run-1"})
    before = size(maker.client)
    again = serialise(maker, 3, **{"Idempotency-Key": "labels-run-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert size(maker.client) == before
    other = serialise(maker, 4, **{"Idempotency-Key": "labels-run-1"})
    assert other.status_code == 422 and size(maker.client) == before


@pytest.mark.parametrize(("count", "status", "field"), [
    (0, 422, "count"), (100_001, 422, "count"), ("3", 422, "count"), (2.5, 422, "count"),
    (None, 422, "count"), (True, 422, "count")])
def test_a_bad_count_is_refused(maker: Producer, count: Any, status: int, field: str) -> None:
    before = size(maker.client)
    response = serialise(maker, count)
    assert response.status_code == status, response.get_json()
    assert error(response)["field"] == field
    assert size(maker.client) == before


def test_a_lot_gets_no_more_codes_than_it_has_pieces(maker: Producer) -> None:
    assert serialise(maker, 8).status_code == 201
    before = size(maker.client)
    response = serialise(maker, 3)  # the lot has 10 seats
    assert response.status_code == 422
    assert (error(response)["code"], error(response)["field"]) == ("rule.unit.exceeds_lot",
                                                                   "count")
    assert size(maker.client) == before
    assert serialise(maker, 2).status_code == 201


def test_who_may_serialise_which_lot(app: Flask, maker: Producer) -> None:
    uscc, token = add_enterprise(app, 102)
    stranger = Producer(maker.client, uscc, token)
    before = size(maker.client)
    missing = serialise(maker, 1, lot="NOPE")
    assert missing.status_code == 404 and error(missing)["field"] == "lot"
    bad_gtin = serialise(maker, 1, gtin="06901234567910")
    assert bad_gtin.status_code == 422 and error(bad_gtin)["field"] == "gtin"
    anonymous = maker.client.post(f"/api/v1/lots/{SEAT}/S1/serials", json={"count": 1})
    assert anonymous.status_code == 401
    forbidden = serialise(stranger, 1)
    assert forbidden.status_code == 403 and error(forbidden)["code"] == "forbidden"
    no_body = maker.client.post(f"/api/v1/lots/{SEAT}/S1/serials", data="[",
                                headers=bearer(maker.token) | {
                                    "Content-Type": "application/json"})
    assert 400 <= no_body.status_code < 500
    assert size(maker.client) == before


def test_the_cli_serialises_as_the_lots_maker(app: Flask, maker: Producer) -> None:
    result = run_cli(app, "serialize", "--gtin", SEAT[1:], "--lot", "S1", "--count", "3")
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    assert len(lines) == 3
    assert [supervision_code.parse(code).unit for _serial, code in lines] == [1, 2, 3]
    as_json = run_cli(app, "serialize", "--gtin", SEAT, "--lot", "S1", "--count", "1",
                      "--json", "--as", maker.uscc)
    assert as_json.exit_code == 0, as_json.output
    assert '"supervision_code"' in as_json.stdout
    other, _token = add_enterprise(app, 103)
    refused = run_cli(app, "serialize", "--gtin", SEAT, "--lot", "S1", "--count", "1",
                      "--as", other)
    assert refused.exit_code == 1 and "forbidden (lot)" in refused.output
    missing = run_cli(app, "serialize", "--gtin", SEAT, "--lot", "NOPE", "--count", "1")
    assert missing.exit_code == 1 and "not_found (lot)" in missing.output
    too_many = run_cli(app, "serialize", "--gtin", SEAT, "--lot", "S1", "--count", "100001")
    assert too_many.exit_code == 2


def test_the_openapi_document_describes_serialising(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/lots/{gtin}/{lot}/serials"]["post"]
    assert "201" in operation["responses"] and operation["security"]
    sheet = spec["paths"]["/api/v1/lots/{gtin}/{lot}/labels.pdf"]["get"]
    assert "application/pdf" in sheet["responses"]["200"]["content"]
    assert {p["name"] for p in sheet["parameters"]} >= {"columns", "rows", "first", "count"}
    image = spec["paths"]["/api/v1/lots/{gtin}/{lot}/labels/{serial}.png"]["get"]
    assert "image/png" in image["responses"]["200"]["content"]


def test_the_maker_downloads_the_label_sheet_and_each_label(app: Flask, maker: Producer,
                                                             tmp_path: Path) -> None:
    units = serialise(maker, 5).get_json()["units"]
    sheet = maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels.pdf?columns=1&rows=4",
                             headers=bearer(maker.token))
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    document = pypdfium2.PdfDocument(sheet.data)
    assert len(document) == 2  # five labels, four a page
    page = document[0].render(scale=300 / 72, grayscale=True).to_pil()
    found = {r.text for r in zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)}
    assert found == {f"http://localhost/01/{SEAT}/10/S1/21/{u['serial']}" for u in units[:4]}
    document.close()
    part = maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels.pdf?first=5&count=10",
                            headers=bearer(maker.token))
    assert part.status_code == 200 and len(pypdfium2.PdfDocument(part.data)) == 1
    png = maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels/{units[2]['serial']}.png",
                           headers=bearer(maker.token))
    assert png.status_code == 200 and png.mimetype == "image/png"
    read = {r.format: r.text for r in zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png.data)), text_mode=zxingcpp.TextMode.Plain)}
    assert read[zxingcpp.BarcodeFormat.DataMatrix] == f"01{SEAT}10S1\x1d21{units[2]['serial']}"
    # the CLI writes the same sheet, and a PNG per label
    out = tmp_path / "sheet.pdf"
    result = run_cli(app, "labels", "--gtin", SEAT, "--lot", "S1", "--out", str(out),
                     "--base", "https://tracenet.example/", "--png-dir",
                     str(out.parent / "png"), "--columns", "2", "--rows", "7")
    assert result.exit_code == 0, result.output
    assert "wrote 5 labels" in result.output and out.read_bytes().startswith(b"%PDF")
    assert sorted(p.stem for p in (out.parent / "png").iterdir()) == sorted(
        u["serial"] for u in units)


def test_labels_are_refused_clearly(app: Flask, maker: Producer, tmp_path: Path) -> None:
    never = maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels.pdf", headers=bearer(maker.token))
    assert never.status_code == 404 and "serialise it first" in error(never)["message"]
    serialise(maker, 2)
    for query, field in (("columns=5", "columns"), ("columns=4", "columns"),
                         ("rows=0", "rows"), ("count=1001", "count"), ("first=0", "first"),
                         ("margin=abc", "margin")):
        response = maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels.pdf?{query}",
                                    headers=bearer(maker.token))
        assert response.status_code == 422, (query, response.get_json())
        assert error(response)["field"] == field, query
    beyond = maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels.pdf?first=3",
                              headers=bearer(maker.token))
    assert beyond.status_code == 404 and error(beyond)["field"] == "first"
    unknown = maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels/NOPE.png",
                               headers=bearer(maker.token))
    assert unknown.status_code == 404 and error(unknown)["field"] == "serial"
    assert maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels.pdf").status_code == 401
    uscc, token = add_enterprise(app, 104)
    stranger = maker.client.get(f"/api/v1/lots/{SEAT}/S1/labels.pdf", headers=bearer(token))
    assert stranger.status_code == 403
    missing = run_cli(app, "labels", "--gtin", SEAT, "--lot", "NOPE", "--out",
                      str(tmp_path / "x.pdf"), "--base", "https://x.example")
    assert missing.exit_code == 1 and "not_found (lot)" in missing.output


def test_the_console_serialises_a_lot_and_links_its_labels(app: Flask, maker: Producer) -> None:
    add_user(app, maker.uscc, "seats")
    console = app.test_client()
    console.get("/console/lang/en")
    signed_in = console.post("/console/login", data={
        "username": "seats", "password": PASSWORD, "csrf_token": csrf_token(console)})
    assert signed_in.status_code == 302
    page = f"/console/lots/{SEAT}/S1/units"
    assert f'href="{page}"' in console.get("/console/").text  # from the dashboard
    empty = console.get(page)
    assert empty.status_code == 200 and 'id="unit-count">0<' in empty.text
    refused = console.post(page, data={"count": "0", "csrf_token": csrf_token(console, page)})
    assert refused.status_code == 422 and "whole number from 1 to 100,000" in refused.text
    done = console.post(page, data={"count": "3", "csrf_token": csrf_token(console, page)})
    assert done.status_code == 302
    shown = console.get(page).text
    assert 'id="unit-count">3<' in shown and "Serialised 3 units" in shown
    sheet = console.get(f"/console/lots/{SEAT}/S1/labels.pdf")
    assert sheet.status_code == 200 and sheet.data.startswith(b"%PDF")
    serial = re.findall(r'<td class="code">([0-9A-Z]{12})</td>', shown)[0]
    png = console.get(f"/console/lots/{SEAT}/S1/labels/{serial}.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    console.get("/console/lang/zh_CN")
    assert "单品赋码" in console.get(page).text
    no_csrf = console.post(page, data={"count": "3"})
    assert no_csrf.status_code in (302, 400) and 'id="unit-count">3<' in console.get(page).text
