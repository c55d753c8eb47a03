"""Authorization matrix: every endpoint x {anonymous, producer A, producer B, regulator,
admin} x {own, other's}. No cross-enterprise read or write may succeed."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.ledger.conftest import make_uscc
from tests.web.test_api import add_enterprise, bearer
from tests.web.test_rules import DRINK, Producer

CALLERS = ("anonymous", "producer_a", "producer_b", "regulator", "admin")



@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The rules and permissions are checked on SQLite and on PostgreSQL alike."""
    return app.test_client()

@pytest.fixture
def world(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """A ships to C; C receives. B is an unrelated producer."""
    tokens: dict[str, str | None] = {"anonymous": None}
    a_uscc, tokens["producer_a"] = add_enterprise(app, 201)
    b_uscc, tokens["producer_b"] = add_enterprise(app, 202)
    c_uscc, c_token = add_enterprise(app, 203)
    _, tokens["regulator"] = add_enterprise(app, 204, role="regulator")
    _, tokens["admin"] = add_enterprise(app, 205, role="admin")
    a = Producer(client, a_uscc, tokens["producer_a"] or "")
    c = Producer(client, c_uscc, c_token)
    seqs = {"product": a.ok("product_registered", **a.product())["seq"]}
    a.ok("material_intake", **a.intake())
    a.ok("production", **a.production())
    a.ok("inspection", **a.inspection())
    seqs["shipment"] = a.ok("shipment", **a.movement(c_uscc) | {
        "shipped_at": "2026-11-26T14:00:00+08:00"})["seq"]
    seqs["receipt"] = c.ok("receipt", **a.movement(a_uscc, quantity="100") | {
        "received_at": "2026-11-26T18:00:00+08:00"})["seq"]
    return {"tokens": tokens, "seqs": seqs, "a": a_uscc, "b": b_uscc, "c": c_uscc}


def call(client: FlaskClient, world: dict[str, Any], caller: str, method: str, url: str,
         **kwargs: Any) -> Any:
    token = world["tokens"][caller]
    headers = bearer(token) if token else {}
    return client.open(url, method=method, headers=headers, **kwargs)


def _status(client: FlaskClient, world: dict[str, Any], caller: str, method: str,
            url: str, **kwargs: Any) -> int:
    return int(call(client, world, caller, method, url, **kwargs).status_code)


@pytest.mark.parametrize(("record", "expected"), [
    # A's shipment to C: A made it, C is named in it, B is a stranger.
    ("shipment", {"anonymous": 401, "producer_a": 200, "producer_b": 403, "regulator": 200,
                  "admin": 200}),
    # C's receipt names A as the shipper, so A may read it too.
    ("receipt", {"anonymous": 401, "producer_a": 200, "producer_b": 403, "regulator": 200,
                 "admin": 200}),
    ("product", dict.fromkeys(CALLERS, 200)),
])
def test_reading_one_record(client: FlaskClient, world: dict[str, Any], record: str,
                            expected: dict[str, int]) -> None:
    url = f"/api/v1/events/{world['seqs'][record]}"
    got = {caller: _status(client, world, caller, "GET", url) for caller in CALLERS}
    assert got == expected


@pytest.mark.parametrize("url", ["/api/v1/enterprises", "/api/v1/products", "/api/v1/ledger/key",
                                 "/api/v1/ledger/checkpoint",
                                 "/api/v1/ledger/proof/inclusion?seq=1",
                                 "/api/v1/ledger/proof/consistency?first=1", "/healthz",
                                 "/api/openapi.json"])
def test_public_endpoints(client: FlaskClient, world: dict[str, Any], url: str) -> None:
    assert {caller: _status(client, world, caller, "GET", url) for caller in CALLERS} == \
        dict.fromkeys(CALLERS, 200)


def _seqs(response: Any) -> set[int]:
    return {item["seq"] for item in response.get_json()["items"]}


def test_listing_events_shows_only_what_the_caller_may_read(client: FlaskClient,
                                                            world: dict[str, Any]) -> None:
    url = "/api/v1/events?limit=500"
    assert _status(client, world, "anonymous", "GET", url) == 401
    shipment, receipt = world["seqs"]["shipment"], world["seqs"]["receipt"]
    seen = {caller: _seqs(call(client, world, caller, "GET", url))
            for caller in CALLERS[1:]}
    assert {shipment, receipt} <= seen["producer_a"]
    assert {shipment, receipt} <= seen["regulator"] and {shipment, receipt} <= seen["admin"]
    assert not {shipment, receipt} & seen["producer_b"]
    assert world["seqs"]["product"] in seen["producer_b"]  # public


def _lots(response: Any) -> set[tuple[str, str]]:
    return {(item["gtin"], item["lot"]) for item in response.get_json()["items"]}


@pytest.mark.parametrize("url", ["/api/v1/lots", "/api/v1/shipments/unreceived?days=0"])
def test_lots_and_shipment_follow_up(client: FlaskClient, world: dict[str, Any],
                                     url: str) -> None:
    assert _status(client, world, "anonymous", "GET", url) == 401
    got = {caller: call(client, world, caller, "GET", url).get_json()["items"]
           for caller in CALLERS[1:]}
    assert got["producer_a"] and got["regulator"] and got["admin"]
    assert got["producer_b"] == []


def test_lot_listing_scopes_stock_to_the_viewer(client: FlaskClient,
                                                world: dict[str, Any]) -> None:
    lots = call(client, world, "producer_a", "GET", f"/api/v1/lots?gtin={DRINK}").get_json()
    (lot,) = lots["items"]
    assert lot["stock"] == {world["a"]: "1500"}
    everyone = call(client, world, "regulator", "GET", f"/api/v1/lots?gtin={DRINK}").get_json()
    assert everyone["items"][0]["stock"] == {world["a"]: "1500", world["c"]: "100"}


def _post(client: FlaskClient, world: dict[str, Any], caller: str,
          enterprise: str | None) -> int:
    event: dict[str, Any] = {"type": "key_revoked", "event_time": "2026-11-26T08:00:00+08:00",
                             "payload": {"key_id": "0" * 16, "reason": "probe"}}
    if enterprise is not None:
        event["enterprise"] = enterprise
    return _status(client, world, caller, "POST", "/api/v1/events", json=event)


def test_writing_only_as_oneself(client: FlaskClient, world: dict[str, Any]) -> None:
    # Writing as oneself reaches the rules (422: no such key) — authorization passed.
    own = {caller: _post(client, world, caller, None) for caller in CALLERS}
    assert own == {"anonymous": 401, "producer_a": 422, "producer_b": 422, "regulator": 422,
                   "admin": 422}
    as_a = {caller: _post(client, world, caller, world["a"]) for caller in CALLERS}
    assert as_a == {"anonymous": 401, "producer_a": 422, "producer_b": 403, "regulator": 403,
                    "admin": 403}
    as_operator = {caller: _post(client, world, caller, "operator") for caller in CALLERS}
    assert as_operator == {"anonymous": 401, "producer_a": 403, "producer_b": 403,
                           "regulator": 403, "admin": 422}


def test_pagination_walks_every_item_once(app: Flask, client: FlaskClient) -> None:
    for serial in range(300, 307):
        add_enterprise(app, serial)
    seen: list[str] = []
    url = "/api/v1/enterprises?limit=3"
    while url:
        body = client.get(url).get_json()
        seen += [item["uscc"] for item in body["items"]]
        url = f"/api/v1/enterprises?limit=3&cursor={body['next_cursor']}" \
            if body["next_cursor"] else ""
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 7
    assert make_uscc(303) in seen
    bad = client.get("/api/v1/enterprises?cursor=!!")
    assert bad.status_code == 422
    assert bad.get_json()["error"]["field"] == "cursor"
