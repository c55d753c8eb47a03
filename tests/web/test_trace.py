"""GET /api/v1/trace/downstream and /upstream over HTTP, on the demo network (loaded once for
the module): the melamine raw-milk lot traced to every supermarket, who may trace what, bad
input, as_of, unit codes, and a JSON shape that is exactly what the OpenAPI document says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, fields
from sqlalchemy import select

from ledger import log
from ledger.demo.network import demo_enterprises
from ledger.supervision.models import LotRow, UnitRow
from schemas.trace import TraceSchema
from tests.conftest import demo_app_in, issue_token, run_cli
from tests.web.test_api import bearer, error
from web.db import get_session

NETWORK = {enterprise.key: enterprise for enterprise in demo_enterprises()}
SUPERMARKETS = {e.uscc for e in NETWORK.values() if e.kind == "超市"}
DOWN, UP = "/api/v1/trace/downstream", "/api/v1/trace/upstream"


@pytest.fixture(scope="module")
def demo_app() -> Iterator[Flask]:
    """An app over the demo network, loaded once."""
    yield from demo_app_in("tracenet-trace-")


@pytest.fixture(scope="module")
def tokens(demo_app: Flask) -> dict[str, str]:
    def issue(key: str, role: str = "producer") -> str:
        return issue_token(demo_app, NETWORK[key].uscc, role)

    return {"regulator": issue("regulator", "regulator"), "dairy": issue("dairy"),
            "market": issue("market_gl"), "carseat": issue("carseat")}


@pytest.fixture
def client(demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()


@pytest.fixture(scope="module")
def melamine(demo_app: Flask) -> tuple[str, str]:
    with demo_app.app_context():
        gtin, lot = get_session().execute(select(LotRow.gtin, LotRow.lot)
                                          .where(LotRow.inspection == "fail")).one()
    return gtin, lot


def get(client: FlaskClient, url: str, token: str | None, **query: Any) -> Any:
    return client.get(url, query_string=query, headers=bearer(token) if token else {})


def assert_shape(value: Any, schema: Schema) -> None:
    """Every object has exactly the keys its schema declares, recursively."""
    assert set(value) == {field.data_key or name for name, field in schema.fields.items()}
    for name, field in schema.fields.items():
        item = value[field.data_key or name]
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and item is not None:
            for each in item if isinstance(field, fields.List) else [item]:
                assert isinstance(inner.schema, Schema)
                assert_shape(each, inner.schema)


def test_the_melamine_lot_downstream_reaches_every_supermarket(
        client: FlaskClient, tokens: dict[str, str], melamine: tuple[str, str]) -> None:
    gtin, lot = melamine
    response = get(client, DOWN, tokens["regulator"], gtin=gtin, lot=lot)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert_shape(body, TraceSchema())
    assert (body["direction"], body["viewer"], body["truncated"], body["truncation"]) == (
        "downstream", None, False, [])
    assert body["start"] == {"kind": "lot", "gtin": gtin, "lot": lot, "code": None,
                             "enterprise": None}
    assert (body["lots"][0]["gtin"], body["lots"][0]["lot"], body["lots"][0]["inspection"]) \
        == (gtin, lot, "fail")
    made = {(item["product"]) for item in body["lots"][1:]}
    assert made and None not in made  # registered products made from the raw milk
    ends = {end["holder"] for end in body["ends"]}
    assert ends == SUPERMARKETS
    shelves = [h for h in body["holdings"] if h["holder"] in SUPERMARKETS]
    assert all(h["end"] and h["name"].endswith("超市有限公司") and h["received"] != "0"
               for h in shelves)
    assert sum(float(h["held"]) for h in shelves) > 0
    for step in body["steps"]:
        assert step["seqs"] and step["kind"] in ("production", "shipment")
        if step["kind"] == "shipment":
            assert step["receipt_seqs"] and step["received"] == step["quantity"]
    with client.application.app_context():  # the head's size (checkpoints may lag it)
        assert body["size"] == log.ledger_size(get_session())


def test_upstream_of_a_shelf_lot_ends_at_the_ranches(client: FlaskClient,
                                                     tokens: dict[str, str],
                                                     melamine: tuple[str, str]) -> None:
    gtin, lot = melamine
    down = get(client, DOWN, tokens["regulator"], gtin=gtin, lot=lot).get_json()
    product = next(item for item in down["lots"] if item["depth"] == 1)
    up = get(client, UP, tokens["regulator"], gtin=product["gtin"], lot=product["lot"])
    assert up.status_code == 200
    body = up.get_json()
    assert (gtin, lot) in {(item["gtin"], item["lot"]) for item in body["lots"]}
    ranches = {e.uscc for e in NETWORK.values() if e.kind == "牧场"}
    assert NETWORK["ranch_c"].uscc in {end["holder"] for end in body["ends"]}
    assert {end["holder"] for end in body["ends"]} & ranches


def test_who_may_trace_what(client: FlaskClient, tokens: dict[str, str],
                            melamine: tuple[str, str]) -> None:
    gtin, lot = melamine
    for url in (DOWN, UP):
        refused = get(client, url, None, gtin=gtin, lot=lot)
        assert refused.status_code == 401 and error(refused)["code"] == "unauthorized"
    # the dairy holds the raw milk: downstream as far as its distributors, no one else's stock
    dairy = get(client, DOWN, tokens["dairy"], gtin=gtin, lot=lot).get_json()
    assert (dairy["viewer"], dairy["truncated"], dairy["truncation"]) == (
        NETWORK["dairy"].uscc, True, ["scope"])
    holders = {h["holder"] for h in dairy["holdings"]}
    assert holders == {NETWORK[key].uscc for key in ("dairy", "dist_fz", "dist_xm")}
    others = [h for h in dairy["holdings"] if h["holder"] != NETWORK["dairy"].uscc]
    assert all(h[q] is None for h in others
               for q in ("received", "in_transit", "produced", "passed_on", "used", "held"))
    # and upstream all the way to the ranch, but not the ranch's stock
    up = get(client, UP, tokens["dairy"], gtin=gtin, lot=lot).get_json()
    (ranch,) = [h for h in up["holdings"] if h["holder"] == NETWORK["ranch_c"].uscc]
    assert ranch["end"] and ranch["held"] is None
    # a supermarket never held the raw milk; a car-seat maker holds nothing of it
    for caller in ("market", "carseat"):
        refused = get(client, DOWN, tokens[caller], gtin=gtin, lot=lot)
        assert refused.status_code == 403, refused.get_json()
        assert error(refused) == {"code": "forbidden", "field": "lot",
                                  "message": "an enterprise may trace only lots it made or "
                                             "holds"}
    shelf = next(h for h in get(client, DOWN, tokens["regulator"], gtin=gtin,
                                lot=lot).get_json()["holdings"]
                 if h["holder"] == NETWORK["market_gl"].uscc)
    mine = get(client, UP, tokens["market"], gtin=shelf["gtin"], lot=shelf["lot"])
    assert mine.status_code == 200
    assert (gtin, lot) in {(item["gtin"], item["lot"]) for item in mine.get_json()["lots"]}


@pytest.mark.parametrize(("query", "status", "field"), [
    ({}, 422, "gtin"),
    ({"gtin": "06941203000012"}, 422, "lot"),
    ({"gtin": "06941203000013", "lot": "X"}, 422, "gtin"),  # a bad check digit
    ({"gtin": "06941203000012", "lot": "X", "serial": "1"}, 422, "serial"),
    ({"code": "(00)1", "lot": "X"}, 422, "code"),
    ({"gtin": "06941203000012", "lot": "NOPE"}, 404, "lot"),
    ({"gtin": "06941203000012", "lot": "SR20261102", "as_of": "yesterday"}, 422, "as_of"),
    ({"gtin": "06941203000012", "lot": "SR20261102", "as_of": "99999999"}, 404, "as_of"),
    ({"gtin": "06941203000012", "lot": "SR20261102", "as_of": "10"}, 404, "lot"),
    ({"gtin": "06941203000012", "lot": "SR20261102", "depth": "65"}, 422, "depth"),
    ({"gtin": "06941203000012", "lot": "SR20261102", "limit": "0"}, 422, "limit"),
    ({"code": "(00)1"}, 404, "code"),
])
def test_bad_queries_are_refused_with_the_field(client: FlaskClient, tokens: dict[str, str],
                                                query: dict[str, str], status: int,
                                                field: str) -> None:
    response = get(client, DOWN, tokens["regulator"], **query)
    assert response.status_code == status, response.get_json()
    assert error(response)["field"] == field


def test_as_of_a_time_and_a_size(client: FlaskClient, tokens: dict[str, str],
                                 melamine: tuple[str, str]) -> None:
    gtin, lot = melamine
    now = get(client, DOWN, tokens["regulator"], gtin=gtin, lot=lot).get_json()
    first_shipment = min(seq for step in now["steps"] if step["kind"] == "shipment"
                         for seq in step["seqs"])
    before = get(client, DOWN, tokens["regulator"], gtin=gtin, lot=lot,
                 as_of=str(first_shipment)).get_json()
    assert before["size"] == first_shipment
    assert len(before["holdings"]) < len(now["holdings"])
    assert not [s for s in before["steps"] if s["kind"] == "shipment" and s["depth"] == 1]
    never = get(client, DOWN, tokens["regulator"], gtin=gtin, lot=lot,
                as_of="2000-01-01T00:00:00+08:00")
    assert never.status_code == 404 and error(never)["field"] == "lot"
    later = get(client, DOWN, tokens["regulator"], gtin=gtin, lot=lot,
                as_of="2999-01-01T00:00:00Z").get_json()
    assert later == now


def test_a_serial_unit_and_its_pallet(demo_app: Flask, client: FlaskClient,
                                      tokens: dict[str, str]) -> None:
    with demo_app.app_context():
        unit = get_session().scalars(select(UnitRow).where(UnitRow.gtin.is_not(None),
                                                           UnitRow.parent.is_not(None))).first()
        assert unit is not None and unit.gtin is not None
        serial = unit.code.split("(21)")[1]
    body = get(client, DOWN, tokens["regulator"], gtin=unit.gtin, serial=serial).get_json()
    chain = body["start_unit"]
    assert chain[0] == {"code": unit.code, "gtin": unit.gtin, "lot": unit.lot,
                        "parent": unit.parent}
    assert chain[-1]["parent"] is None and len(chain) >= 2
    assert body["lots"][0]["lot"] == unit.lot
    assert unit.code in {u["code"] for u in body["units"]}
    pallet = chain[-1]["code"]
    assert pallet in {a["code"] for a in body["aggregates"]}
    by_pallet = get(client, UP, tokens["regulator"], code=pallet).get_json()
    assert by_pallet["start"]["kind"] == "unit" and by_pallet["lots"][0]["lot"] == unit.lot


def test_the_openapi_document_describes_the_trace(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for path in (DOWN, UP):
        operation = spec["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} == {
            "gtin", "lot", "serial", "code", "enterprise", "as_of", "depth", "limit"}
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Trace"}
        assert {"401", "403", "404", "422"} <= set(operation["responses"])
    trace = spec["components"]["schemas"]["Trace"]
    assert set(trace["properties"]) == set(TraceSchema().fields)


# -- tracenet trace ------------------------------------------------------------------------------


def test_the_trace_command(demo_app: Flask, client: FlaskClient, tokens: dict[str, str],
                           melamine: tuple[str, str]) -> None:
    gtin, lot = melamine
    tree = run_cli(demo_app, "trace", "--gtin", gtin, "--lot", lot)
    assert tree.exit_code == 0, tree.output
    lines = tree.output.splitlines()
    assert lines[0].startswith(f"下游 downstream of {gtin}/{lot}, ledger size ")
    assert f"{gtin}/{lot}" in lines[1] and "[fail]" in lines[1]
    shelves = [line for line in lines if line.endswith("◀ end")]
    assert {e.name for e in NETWORK.values() if e.kind == "超市"} == {
        name for name in (e.name for e in NETWORK.values()) if any(name in s for s in shelves)}
    assert all(line.lstrip().startswith("└─ shipment #") for line in shelves)
    assert lines[-1].endswith(f"{len(shelves)} consumer-facing, 0 unit codes")
    # --json prints what the API answers a regulator
    printed = run_cli(demo_app, "trace", "--gtin", gtin, "--lot", lot, "--json")
    assert printed.exit_code == 0, printed.output
    api = get(client, DOWN, tokens["regulator"], gtin=gtin, lot=lot).get_json()
    assert json.loads(printed.output) == api
    up = run_cli(demo_app, "trace", "--gtin", gtin, "--lot", lot, "--up", "--depth", "0")
    assert up.exit_code == 0, up.output
    assert up.output.splitlines()[0].startswith("上游 upstream of")
    assert "truncated (depth)" in up.output
    before = run_cli(demo_app, "trace", "--gtin", gtin, "--lot", lot, "--as-of",
                     str(api["steps"][0]["seqs"][0]), "--json")
    assert json.loads(before.output)["size"] == api["steps"][0]["seqs"][0]


@pytest.mark.parametrize(("args", "message"), [
    (["--gtin", "06941203000012"], "invalid input: {'lot': ['give gtin with either lot or "
                                   "serial']}"),
    (["--gtin", "06941203000012", "--lot", "NOPE"],
     "not_found (lot): lot 06941203000012/NOPE is not on the ledger"),
    (["--gtin", "06941203000012", "--lot", "X", "--as-of", "soon"], "invalid_entry (as_of)"),
])
def test_the_trace_command_refuses_bad_input(demo_app: Flask, args: list[str],
                                             message: str) -> None:
    result = run_cli(demo_app, "trace", *args)
    assert result.exit_code == 1
    assert message in result.output


def test_the_trace_command_from_a_serial_unit(demo_app: Flask) -> None:
    with demo_app.app_context():
        unit = get_session().scalars(select(UnitRow).where(UnitRow.gtin.is_not(None),
                                                           UnitRow.parent.is_not(None))).first()
        assert unit is not None and unit.gtin is not None
    result = run_cli(demo_app, "trace", "--gtin", unit.gtin, "--serial",
                     unit.code.split("(21)")[1])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].startswith(f"  packed: {unit.code} ⊂ {unit.parent}")
