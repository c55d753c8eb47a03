"""Serialising a lot through the API (POST /api/v1/lots/{gtin}/{lot}/serials) and the CLI
(tracenet serialize), and the rule that required categories ship only serialised lots."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from scanners import supervision_code
from tests.conftest import run_cli
from tests.ledger.conftest import make_uscc
from tests.web.test_api import add_enterprise, bearer, error, size
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
