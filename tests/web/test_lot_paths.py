"""A lot number may hold '/' (GS1 character set 82 does): the endpoints under
/lots/{gtin}/{lot}/… (serials, labels, recall status) and the console's units page still reach
it, whether the client escapes it as %2F or not, and the links the app builds to them work."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask

from scanners import supervision_code
from tests.web.test_api import add_enterprise, bearer
from tests.web.test_console import PASSWORD, add_user, csrf_token
from tests.web.test_rules import SEAT, Producer

LOT = "S/2-B"


@pytest.fixture
def maker(sqlite_app: Flask) -> Producer:
    uscc, token = add_enterprise(sqlite_app, 101)
    maker = Producer(sqlite_app.test_client(), uscc, token)
    maker.ok("product_registered", **maker.product(gtin=SEAT, category="62",
                                                   standard="GB 27887-2024"))
    maker.ok("production", **maker.production(gtin=SEAT, lot=LOT, inputs=[], quantity="10"))
    return maker


@pytest.mark.parametrize("lot", [LOT, "S%2F2-B"])
def test_a_lot_holding_a_slash_is_serialised_and_labelled(maker: Producer, lot: str) -> None:
    client, headers = maker.client, bearer(maker.token)
    made = client.post(f"/api/v1/lots/{SEAT}/{lot}/serials", json={"count": 2}, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["lot"] == LOT
    serial = made.get_json()["units"][0]["serial"]
    listed = client.get(f"/api/v1/lots/{SEAT}/{lot}/serials", headers=headers)
    assert [unit["serial"] for unit in listed.get_json()["units"]][0] == serial
    sheet = client.get(f"/api/v1/lots/{SEAT}/{lot}/labels.pdf", headers=headers)
    assert sheet.status_code == 200 and sheet.data.startswith(b"%PDF")
    png = client.get(f"/api/v1/lots/{SEAT}/{lot}/labels/{serial}.png", headers=headers)
    assert png.status_code == 200
    status = client.get(f"/api/v1/lots/{SEAT}/{lot}/status")
    assert status.status_code == 200 and status.get_json()["lot"] == LOT


def test_the_resolvers_recall_status_link_reaches_the_lot(maker: Producer) -> None:
    links = maker.client.get(f"/01/{SEAT}/10/S%2F2-B?linkType=linkset").get_json()
    (status,) = links["linkset"][0]["https://gs1.org/voc/recallStatus"]
    answered = maker.client.get(status["href"].removeprefix("http://localhost"))
    assert answered.status_code == 200 and answered.get_json()["lot"] == LOT


def test_the_console_units_page_of_such_a_lot(sqlite_app: Flask, maker: Producer) -> None:
    add_user(sqlite_app, maker.uscc, "seats")
    console = sqlite_app.test_client()
    console.post("/console/login", data={"username": "seats", "password": PASSWORD,
                                         "csrf_token": csrf_token(console)})
    page = f"/console/lots/{SEAT}/{LOT}/units"
    assert f'href="{page}"' in console.get("/console/").text  # the dashboard's link works
    done = console.post(page, data={"count": "1", "csrf_token": csrf_token(console, page)})
    assert done.status_code in (200, 302, 303), done.text[:300]
    assert console.get(page).status_code == 200
    sheet = console.get(f"/console/lots/{SEAT}/{LOT}/labels.pdf")
    assert sheet.status_code == 200
    serial = maker.client.get(f"/api/v1/lots/{SEAT}/{LOT}/serials",
                              headers=bearer(maker.token)).get_json()["units"][0]["serial"]
    png = console.get(f"/console/lots/{SEAT}/{LOT}/labels/{serial}.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")


def test_serialisations_of_one_product_at_once_all_succeed(app: Flask) -> None:
    # Two makers' clerks (or two gunicorn workers) serialising lots of one product at the same
    # moment: each must get its own unit numbers, not the same ones and a 422.
    uscc, token = add_enterprise(app, 102)
    maker = Producer(app.test_client(), uscc, token)
    maker.ok("product_registered", **maker.product(gtin=SEAT, category="62",
                                                   standard="GB 27887-2024"))
    maker.ok("production", **maker.production(gtin=SEAT, lot="C1", inputs=[], quantity="500"))

    def serialise(_: int) -> tuple[int, Any]:
        answered = app.test_client().post(f"/api/v1/lots/{SEAT}/C1/serials",
                                          json={"count": 20}, headers=bearer(token))
        return answered.status_code, answered.get_json()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(serialise, range(12)))
    assert [status for status, _ in results] == [201] * 12, [
        body for status, body in results if status != 201][:2]
    codes = [unit["supervision_code"] for _, body in results for unit in body["units"]]
    assert len(set(codes)) == 240
    units = {supervision_code.parse(code).unit for code in codes}
    assert units == set(range(1, 241))
