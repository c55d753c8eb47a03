"""EPCIS 2.0 capture over HTTP: ``POST /epcis/capture`` and ``/epcis/events``, capture jobs,
rollback and proceed, GS1 headers, duplicates by event hash ID, ownership by token, every
shared valid / GS1 example captured and every invalid one refused with nothing stored, the
hash-ID vectors stored as given, and a network captured only through EPCIS tracing exactly
like the same network recorded natively."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger.supervision.check_digits import gs1_check_digit
from ledger.supervision.models import EnterpriseGs1KeyRow, EpcisCapturedRow
from tests.conftest import SHARED, issue_token, make_app, run_cli
from tests.ledger.conftest import make_uscc
from tests.web.test_api import bearer, error, size
from web.db import get_session

EXAMPLES = SHARED / "epcis"
VECTORS = SHARED / "vectors" / "epcis-hash"
VALID = sorted([*(EXAMPLES / "openepcis" / "valid").glob("*.json"),
                *(EXAMPLES / "gs1").glob("*.jsonld")])
INVALID = sorted((EXAMPLES / "openepcis" / "invalid").glob("*.json"))
VECTOR_DOCUMENTS = sorted(VECTORS.glob("*.jsonld"))
#: every company prefix the shared documents' locations and parties are under
EXAMPLE_PREFIXES = ("4012345", "0614141", "0012345", "9529999", "952005385", "4000001",
                    "0037000", "9520001", "9520999", "9524567", "5200001", "4054739",
                    "4047023", "4023333")
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
           {"tracenet": "https://tracenet.dev/epcis/"}]

DAIRY, SHOP, MARKET, HUB = make_uscc(701), make_uscc(702), make_uscc(703), make_uscc(704)
PREFIX = {DAIRY: "6901234", SHOP: "6905678", MARKET: "6909876"}


def gtin(prefix: str, item: str) -> str:
    body = "0" + prefix + item
    return body + gs1_check_digit(body)


def gln(prefix: str, location: str = "00000") -> str:
    body = prefix + location
    return body + gs1_check_digit(body)


RAW, MILK = gtin(PREFIX[DAIRY], "00017"), gtin(PREFIX[DAIRY], "00024")


def sgln(enterprise: str) -> str:
    return f"https://id.gs1.org/414/{gln(PREFIX[enterprise])}"


def lgtin(product: str, lot: str) -> str:
    return f"https://id.gs1.org/01/{product}/10/{lot}"


def document(*events: dict[str, Any], master: list[dict[str, Any]] | None = None
             ) -> dict[str, Any]:
    body: dict[str, Any] = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                            "creationDate": "2026-11-26T00:00:00Z",
                            "epcisBody": {"eventList": list(events)}}
    if master:
        body["epcisHeader"] = {"epcisMasterData": {"vocabularyList": [{
            "type": "urn:epcglobal:epcis:vtype:EPCClass", "vocabularyElementList": master}]}}
    return body


def product_master(product: str, name: str, category: str = "08",
                   standard: str = "GB 7101-2022") -> dict[str, Any]:
    return {"id": f"https://id.gs1.org/01/{product}", "attributes": [
        {"id": "tracenet:name", "attribute": name},
        {"id": "tracenet:category", "attribute": category},
        {"id": "tracenet:standard", "attribute": standard}]}


def event(kind: str, at: str, time: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "eventTime": time, "eventTimeZoneOffset": "+08:00",
                            "bizLocation": {"id": sgln(at)}, "readPoint": {"id": sgln(at)}}
    if kind == "ObjectEvent":
        body["action"] = "OBSERVE"
    return {**body, **fields}


def commissioning(at: str, product: str, lot: str, quantity: float, uom: str | None,
                  time: str, expiry: str = "2027-05-26") -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": lgtin(product, lot), "quantity": quantity}
    if uom:
        element["uom"] = uom
    return event("ObjectEvent", at, time, action="ADD", bizStep="commissioning",
                 quantityList=[element], ilmd={"cbvmda:lotNumber": lot,
                                               "cbvmda:itemExpirationDate": expiry})


def movement(step: str, at: str, other: str, product: str, lot: str, quantity: float,
             time: str, document_no: str) -> dict[str, Any]:
    side = "destination" if step == "shipping" else "source"
    me = "source" if step == "shipping" else "destination"
    return event("ObjectEvent", at, time, bizStep=step,
                 disposition="in_transit" if step == "shipping" else "in_progress",
                 quantityList=[{"epcClass": lgtin(product, lot), "quantity": quantity}],
                 bizTransactionList=[{"type": "desadv", "bizTransaction":
                                      f"https://erp.example.com/desadv/{document_no}"}],
                 **{f"{me}List": [{"type": "owning_party", me: sgln(at)}],
                    f"{side}List": [{"type": "owning_party", side: sgln(other)}]})


def inspecting(at: str, product: str, lot: str, conformant: bool, time: str,
               report: str = "FJQI-2026-0001") -> dict[str, Any]:
    return event("ObjectEvent", at, time, bizStep="inspecting",
                 disposition="conformant" if conformant else "non_conformant",
                 quantityList=[{"epcClass": lgtin(product, lot), "quantity": 1}],
                 bizTransactionList=[{"type": "testres", "bizTransaction":
                                      f"urn:epcglobal:cbv:bt:6901234000009:{report}"}],
                 sensorElementList=[{"sensorReport": [
                     {"type": "gs1:Temperature", "value": 4.5, "uom": "CEL"}]}],
                 **{"tracenet:lab": "福建省产品质量检验研究院", "tracenet:kind": "third_party"})


def transformation(at: str, inputs: list[tuple[str, str, float, str]],
                   output: tuple[str, str, float], time: str) -> dict[str, Any]:
    product, lot, quantity = output
    return event("TransformationEvent", at, time, bizStep="commissioning",
                 inputQuantityList=[{"epcClass": lgtin(p, lt), "quantity": q, "uom": u}
                                    for p, lt, q, u in inputs],
                 outputQuantityList=[{"epcClass": lgtin(product, lot), "quantity": quantity}],
                 ilmd={"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": "2027-05-26"})


def network_events() -> list[dict[str, Any]]:
    """A small chain: the dairy makes raw milk, turns it into bottled milk, inspects and ships
    it to a shop, which receives it and ships part on to a market, which receives it."""
    return [
        commissioning(DAIRY, RAW, "R1", 500, "KGM", "2026-11-26T06:00:00+08:00"),
        transformation(DAIRY, [(RAW, "R1", 200, "KGM")], (MILK, "M1", 1000),
                       "2026-11-26T08:00:00+08:00"),
        inspecting(DAIRY, MILK, "M1", True, "2026-11-26T09:00:00+08:00"),
        movement("shipping", DAIRY, SHOP, MILK, "M1", 400, "2026-11-26T10:00:00+08:00",
                 "DN-1"),
        movement("receiving", SHOP, DAIRY, MILK, "M1", 400, "2026-11-26T12:00:00+08:00",
                 "DN-1"),
        movement("shipping", SHOP, MARKET, MILK, "M1", 100, "2026-11-26T14:00:00+08:00",
                 "DN-2"),
        movement("receiving", MARKET, SHOP, MILK, "M1", 100, "2026-11-26T16:00:00+08:00",
                 "DN-2"),
    ]


def native_events() -> list[tuple[str, dict[str, Any]]]:
    """The same network as native records: (enterprise, event)."""
    def record(enterprise: str, type_: str, time: str, **payload: Any) -> tuple[str, Any]:
        return enterprise, {"type": type_, "event_time": time, "payload": payload}

    return [
        record(DAIRY, "product_registered", "2026-11-26T00:00:00Z", gtin=RAW, name="生乳",
               category="08", standard="GB 7101-2022"),
        record(DAIRY, "product_registered", "2026-11-26T00:00:00Z", gtin=MILK, name="纯牛奶",
               category="08", standard="GB 7101-2022"),
        record(DAIRY, "production", "2026-11-26T06:00:00+08:00", gtin=RAW, lot="R1",
               quantity="500", unit="kg", produced_at="2026-11-26T06:00:00+08:00",
               expiry="2027-05-26"),
        record(DAIRY, "production", "2026-11-26T08:00:00+08:00", gtin=MILK, lot="M1",
               quantity="1000", unit="pcs", produced_at="2026-11-26T08:00:00+08:00",
               expiry="2027-05-26",
               inputs=[{"gtin": RAW, "lot": "R1", "quantity": "200", "unit": "kg"}]),
        record(DAIRY, "inspection", "2026-11-26T09:00:00+08:00", gtin=MILK, lot="M1",
               kind="third_party", lab="福建省产品质量检验研究院",
               items=[{"name": "Temperature", "value": "4.5", "unit": "CEL", "pass": True}],
               verdict="pass", report_no="FJQI-2026-0001",
               inspected_at="2026-11-26T09:00:00+08:00"),
        record(DAIRY, "shipment", "2026-11-26T10:00:00+08:00", gtin=MILK, lot="M1",
               quantity="400", unit="pcs", counterparty=SHOP, document_no="DN-1",
               shipped_at="2026-11-26T10:00:00+08:00"),
        record(SHOP, "receipt", "2026-11-26T12:00:00+08:00", gtin=MILK, lot="M1",
               quantity="400", unit="pcs", counterparty=DAIRY, document_no="DN-1",
               received_at="2026-11-26T12:00:00+08:00"),
        record(SHOP, "shipment", "2026-11-26T14:00:00+08:00", gtin=MILK, lot="M1",
               quantity="100", unit="pcs", counterparty=MARKET, document_no="DN-2",
               shipped_at="2026-11-26T14:00:00+08:00"),
        record(MARKET, "receipt", "2026-11-26T16:00:00+08:00", gtin=MILK, lot="M1",
               quantity="100", unit="pcs", counterparty=SHOP, document_no="DN-2",
               received_at="2026-11-26T16:00:00+08:00"),
    ]


def masters() -> list[dict[str, Any]]:
    return [product_master(RAW, "生乳"), product_master(MILK, "纯牛奶")]


def enrol(app: Flask, uscc: str, name: str, *gs1: str) -> str:
    result = run_cli(app, "enterprise", "add", "--uscc", uscc, "--name", name,
                     "--district", "福州市", *gs1)
    assert result.exit_code == 0, result.output
    return result.output.split("shown once): ")[1].strip()


def network_app(tmp: Path, gs1_keys: bool = True) -> tuple[Flask, dict[str, str]]:
    app = make_app(f"sqlite:///{tmp / 'tracenet.db'}", tmp)
    tokens = {}
    for uscc, name in ((DAIRY, "乳业"), (SHOP, "商行"), (MARKET, "超市")):
        keys = ["--gs1-prefix", PREFIX[uscc], "--gln", gln(PREFIX[uscc])] if gs1_keys else []
        tokens[uscc] = enrol(app, uscc, name, *keys)
    tokens["admin"] = issue_token(app, "operator", "admin")
    tokens["regulator"] = issue_token(app, "operator", "regulator")
    return app, tokens


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, dict[str, str]]]:
    app, tokens = network_app(tmp_path_factory.mktemp("epcis-capture"))
    yield app, tokens
    app.extensions["tracenet.runtime"].close()


def post(client: FlaskClient, body: Any, token: str | None, url: str = "/epcis/capture",
         **headers: str) -> Any:
    sent = {"Content-Type": "application/ld+json", **headers}
    if token:
        sent |= bearer(token)
    return client.post(url, data=json.dumps(body), headers=sent)


def job_of(client: FlaskClient, response: Any, token: str) -> dict[str, Any]:
    assert response.status_code == 202, response.get_json()
    location = response.headers["Location"]
    assert location.startswith("/epcis/capture/")
    job = client.get(location, headers=bearer(token))
    assert job.status_code == 200
    body: dict[str, Any] = job.get_json()
    assert body == response.get_json()
    assert body["running"] is False
    return body


def trace(client: FlaskClient, token: str, product: str, lot: str) -> Any:
    answer = client.get("/api/v1/trace/downstream", query_string={"gtin": product, "lot": lot},
                        headers=bearer(token))
    assert answer.status_code == 200, answer.get_json()
    return _without_seqs(answer.get_json())


def _without_seqs(value: Any) -> Any:
    """A trace answer without what differs between two ledgers holding the same facts: seqs,
    ledger sizes and the times entries were recorded."""
    if isinstance(value, dict):
        return {key: _without_seqs(item) for key, item in value.items()
                if "seq" not in key and key not in ("as_of", "size", "recorded_at")}
    if isinstance(value, list):
        return [_without_seqs(item) for item in value]
    return value


# -- the trace-equivalence test ------------------------------------------------------------------

def test_a_network_captured_through_epcis_traces_like_the_native_one(
        tmp_path: Path) -> None:
    native, native_tokens = network_app(tmp_path / "native", gs1_keys=False)
    client = native.test_client()
    for enterprise, record in native_events():
        answer = client.post("/api/v1/events", json=record,
                             headers=bearer(native_tokens[enterprise]))
        assert answer.status_code == 201, answer.get_json()
    captured, tokens = network_app(tmp_path / "epcis")
    client_e = captured.test_client()
    job = job_of(client_e, post(client_e, document(*network_events(), master=masters()),
                                tokens["admin"]), tokens["admin"])
    assert job["success"] is True, job["errors"]
    assert job["captured"] == 7
    for product, lot in ((RAW, "R1"), (MILK, "M1")):
        assert trace(client_e, tokens["regulator"], product, lot) == \
            trace(client, native_tokens["regulator"], product, lot)
    down = trace(client_e, tokens["regulator"], RAW, "R1")
    assert MARKET in json.dumps(down, ensure_ascii=False)
    for app in (native, captured):
        app.extensions["tracenet.runtime"].close()


# -- shared examples -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """An app where one hub enterprise holds every company prefix the examples use."""
    tmp = tmp_path_factory.mktemp("epcis-examples")
    app = make_app(f"sqlite:///{tmp / 'tracenet.db'}", tmp)
    keys = [arg for prefix in EXAMPLE_PREFIXES for arg in ("--gs1-prefix", prefix)]
    token = enrol(app, HUB, "数据枢纽", *keys)
    yield app, token
    app.extensions["tracenet.runtime"].close()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_valid_example_is_captured(examples: tuple[Flask, str], path: Path) -> None:
    app, token = examples
    client = app.test_client()
    body = json.loads(path.read_text())
    job = job_of(client, post(client, body, token, **{
        "GS1-Capture-Error-Behaviour": "proceed"}), token)
    # an event already captured from another example is refused as a duplicate, by name
    assert all(e["code"] == "rule.epcis.duplicate" for e in job["errors"]), job["errors"]
    with app.app_context():
        session = get_session()
        for result in job["results"]:
            row = session.get(EpcisCapturedRow, result["hashID"])
            assert row is not None and row.enterprise == HUB


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_every_invalid_example_is_refused_storing_nothing(examples: tuple[Flask, str],
                                                          path: Path) -> None:
    app, token = examples
    client = app.test_client()
    before = size(client)
    answer = post(client, json.loads(path.read_text()), token)
    assert answer.status_code == 400
    assert error(answer)["code"].startswith("epcis_")
    assert error(answer)["message"]
    assert size(client) == before


@pytest.mark.parametrize("path", VECTOR_DOCUMENTS, ids=lambda p: p.name)
def test_stored_hash_ids_equal_the_vectors(tmp_path: Path, path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'tracenet.db'}", tmp_path)
    keys = [arg for prefix in EXAMPLE_PREFIXES for arg in ("--gs1-prefix", prefix)]
    token = enrol(app, HUB, "数据枢纽", *keys)
    client = app.test_client()
    expected = path.with_suffix(".hashes").read_text().split()
    job = job_of(client, post(client, json.loads(path.read_text()), token, **{
        "GS1-Capture-Error-Behaviour": "proceed"}), token)
    assert [result["hashID"] for result in job["results"]] == expected
    with app.app_context():
        stored = set(get_session().scalars(select(EpcisCapturedRow.hash_id)))
    assert stored == set(expected)
    # an event given twice (only its ignored fields differ) is stored once
    assert len(job["errors"]) == len(expected) - len(set(expected))
    app.extensions["tracenet.runtime"].close()


# -- behaviour -------------------------------------------------------------------------------------

def test_rollback_stores_nothing_and_proceed_stores_what_passes(
        tmp_path: Path) -> None:
    app, tokens = network_app(tmp_path)
    client = app.test_client()
    events = network_events()
    failing = [*events[:2], inspecting(DAIRY, MILK, "M1", False, "2026-11-26T09:00:00+08:00"),
               *events[3:4]]  # the failed lot may not ship
    before = size(client)
    job = job_of(client, post(client, document(*failing, master=masters()), tokens[DAIRY]),
                 tokens[DAIRY])
    assert job["success"] is False and job["captured"] == 0
    [refusal] = job["errors"]
    assert refusal["code"] == "rule.shipment.failed_inspection"
    assert refusal["eventIndex"] == 3 and refusal["record"] == "shipment"
    assert refusal["hashID"].startswith("ni:///sha-256;")
    assert size(client) == before
    job = job_of(client, post(client, document(*failing, master=masters()), tokens[DAIRY],
                              **{"GS1-Capture-Error-Behaviour": "proceed"}), tokens[DAIRY])
    assert job["success"] is False and job["captured"] == 3
    assert [e["eventIndex"] for e in job["errors"]] == [3]
    assert [bool(r["seqs"]) for r in job["results"]] == [True, True, True, False]
    assert size(client) == before + 2 + 3  # the two products, three events
    # the same document again: every stored event is a duplicate, refused by hash ID
    job = job_of(client, post(client, document(*failing[:3]), tokens[DAIRY]), tokens[DAIRY])
    assert [e["code"] for e in job["errors"]] == ["rule.epcis.duplicate"]
    job = job_of(client, post(client, document(*failing[:3]), tokens[DAIRY],
                              **{"GS1-Capture-Error-Behaviour": "proceed"}), tokens[DAIRY])
    assert [e["code"] for e in job["errors"]] == ["rule.epcis.duplicate"] * 3
    app.extensions["tracenet.runtime"].close()


def test_who_may_capture_what(network: tuple[Flask, dict[str, str]]) -> None:
    app, tokens = network
    client = app.test_client()
    shop_event = commissioning(SHOP, MILK, "X1", 10, None, "2026-11-26T06:00:00+08:00")
    before = size(client)
    # a producer captures its own enterprise's events only
    job = job_of(client, post(client, document(shop_event), tokens[DAIRY]), tokens[DAIRY])
    assert [e["code"] for e in job["errors"]] == ["epcis.not_owner"]
    assert SHOP in job["errors"][0]["message"]
    # a location no enterprise holds is refused by name
    stray = copy.deepcopy(shop_event)
    stray["bizLocation"]["id"] = stray["readPoint"]["id"] = "urn:epc:id:sgln:6999999.00001.0"
    job = job_of(client, post(client, document(stray), tokens["admin"]), tokens["admin"])
    assert job["errors"][0]["code"] == "epcis.unknown_location"
    assert "urn:epc:id:sgln:6999999.00001.0" in job["errors"][0]["message"]
    # the job is its capturer's (and the admins')
    assert client.get(f"/epcis/capture/{job['captureID']}",
                      headers=bearer(tokens[SHOP])).status_code == 404
    # regulators don't capture; anonymous callers don't either
    assert post(client, document(shop_event), tokens["regulator"]).status_code == 403
    assert post(client, document(shop_event), None).status_code == 401
    assert size(client) == before
    # unknown products are kept as captured, signed by the owner of the location
    job = job_of(client, post(client, document(shop_event), tokens[SHOP]), tokens[SHOP])
    assert job["success"] is True
    with app.app_context():
        entry = get_session().get(EpcisCapturedRow, job["results"][0]["hashID"])
        assert entry is not None and entry.enterprise == SHOP
    answer = client.get(f"/api/v1/events/{job['results'][0]['seqs'][0]}",
                        headers=bearer(tokens[SHOP])).get_json()
    assert answer["type"] == "epcis_event" and answer["enterprise"] == SHOP
    # kept as sent, with its document's @context (what its prefixes mean)
    assert answer["payload"]["epcis"]["event"] == {
        **shop_event, "@context": document(shop_event)["@context"]}


def test_headers_and_one_event(network: tuple[Flask, dict[str, str]]) -> None:
    app, tokens = network
    client = app.test_client()
    answer = post(client, {"type": "EPCISDocument"}, tokens[DAIRY])
    assert answer.status_code == 400
    for name in ("GS1-EPCIS-Version", "GS1-CBV-Version", "GS1-EPCIS-Capture-Limit",
                 "GS1-EPCIS-Capture-File-Size-Limit"):
        assert answer.headers[name]
    assert answer.headers["GS1-EPCIS-Capture-Limit"] == "10000"
    bad = post(client, document(), tokens[DAIRY], **{"GS1-Capture-Error-Behaviour": "maybe"})
    assert bad.status_code == 400 and error(bad)["field"] == "GS1-Capture-Error-Behaviour"
    old = post(client, document(), tokens[DAIRY], **{"GS1-EPCIS-Version": "1.2"})
    assert old.status_code == 400 and error(old)["code"] == "unsupported_version"
    one = {**event("TransactionEvent", DAIRY, "2026-11-27T08:00:00+08:00", action="ADD",
                   bizTransactionList=[{"type": "po", "bizTransaction": "urn:x:po:1"}],
                   epcList=[]), "eventID": "urn:uuid:2f8a3c1e-7d4b-4a8e-9f61-0b5c2d3e4f5a",
           "@context": CONTEXT}
    created = post(client, one, tokens[DAIRY], url="/epcis/events")
    assert created.status_code == 201, created.get_json()
    assert unquote(created.headers["Location"]) == f"/epcis/events/{one['eventID']}"
    again = post(client, one, tokens[DAIRY], url="/epcis/events")
    assert again.status_code == 409 and error(again)["code"] == "rule.epcis.duplicate"
    invalid = post(client, {**one, "eventTime": "yesterday"}, tokens[DAIRY], url="/epcis/events")
    assert invalid.status_code == 400


def test_gs1_keys_through_the_cli(network: tuple[Flask, dict[str, str]]) -> None:
    app, _tokens = network
    added = run_cli(app, "enterprise", "gs1", "--uscc", MARKET, "--gln", gln("6909876", "00017"))
    assert added.exit_code == 0, added.output
    assert "6909876" in added.output
    taken = run_cli(app, "enterprise", "gs1", "--uscc", MARKET, "--gs1-prefix", "6901234")
    assert taken.exit_code != 0 and "already belongs" in taken.output
    with app.app_context():
        rows = get_session().scalars(select(EnterpriseGs1KeyRow).where(
            EnterpriseGs1KeyRow.enterprise == MARKET)).all()
    assert {(r.kind, r.value) for r in rows} == {
        ("prefix", "6909876"), ("gln", gln("6909876")), ("gln", gln("6909876", "00017"))}


def test_tracenet_import_captures_an_epcis_document(network: tuple[Flask, dict[str, str]],
                                                    tmp_path: Path) -> None:
    app, tokens = network
    client = app.test_client()
    path = tmp_path / "network.jsonld"
    path.write_text(json.dumps(document(*network_events(), master=masters())))
    before = size(client)
    refused = run_cli(app, "import", str(path), "--enterprise", SHOP)  # the shop's own only
    assert refused.exit_code == 1 and "epcis.not_owner" in refused.output
    assert size(client) == before
    done = run_cli(app, "import", str(path), "--enterprise", "operator")
    assert done.exit_code == 0, done.output
    assert "captured 7 of 7 EPCIS events" in done.output
    assert size(client) == before + 2 + 1 + 1 + 1 + 4  # products, lots, inspection, moves
    again = run_cli(app, "import", str(path), "--enterprise", "operator", "--proceed")
    assert again.exit_code == 1 and again.output.count("rule.epcis.duplicate") == 7
    assert trace(client, tokens["regulator"], RAW, "R1")


def test_gs1_keys_through_the_api(network: tuple[Flask, dict[str, str]]) -> None:
    app, tokens = network
    client = app.test_client()
    body = {"type": "gs1_keys_registered", "enterprise": "operator",
            "event_time": "2026-11-28T08:00:00+08:00",
            "payload": {"enterprise": SHOP, "glns": [gln(PREFIX[SHOP], "00024")]}}
    refused = client.post("/api/v1/events", json=body, headers=bearer(tokens[SHOP]))
    assert refused.status_code == 403  # a producer writes as itself only
    mine = client.post("/api/v1/events", json={**body, "enterprise": None},
                       headers=bearer(tokens[SHOP]))
    assert mine.status_code == 422 and error(mine)["code"] == "rule.gs1.operator_only"
    done = client.post("/api/v1/events", json=body, headers=bearer(tokens["admin"]))
    assert done.status_code == 201, done.get_json()
    with app.app_context():
        row = get_session().get(EnterpriseGs1KeyRow, ("gln", gln(PREFIX[SHOP], "00024")))
        assert row is not None and row.enterprise == SHOP


def test_an_enterprise_onboarded_with_gs1_keys_owns_its_events(
        network: tuple[Flask, dict[str, str]]) -> None:
    app, tokens = network
    client = app.test_client()
    farm = make_uscc(705)
    body = {"uscc": farm, "name": "牧场", "district": "福州市", "roles": ["producer"],
            "gs1_prefixes": ["6907777"], "glns": [gln("6907777", "00011")]}
    taken = client.post("/api/v1/enterprises", json={**body, "gs1_prefixes": [PREFIX[DAIRY]]},
                        headers=bearer(tokens["admin"]))
    assert taken.status_code == 422 and error(taken)["code"] == "rule.gs1.taken"
    added = client.post("/api/v1/enterprises", json=body, headers=bearer(tokens["admin"]))
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["gs1_prefixes"] == ["6907777"]
    milking = {**event("ObjectEvent", DAIRY, "2026-11-28T05:00:00+08:00", bizStep="storing",
                       epcList=[]),
               "bizLocation": {"id": "urn:epc:id:sgln:6907777.00011.0"}}
    job = job_of(client, post(client, document(milking), tokens["admin"]), tokens["admin"])
    assert job["success"] is True and job["results"][0]["enterprise"] == farm


def test_additives_used_need_their_filing(tmp_path: Path) -> None:
    app, tokens = network_app(tmp_path)
    client = app.test_client()
    made = {**commissioning(DAIRY, MILK, "A1", 10, None, "2026-11-26T06:00:00+08:00"),
            "tracenet:additivesUsed": ["山梨酸钾"]}
    job = job_of(client, post(client, document(made, master=masters()), tokens[DAIRY]),
                 tokens[DAIRY])
    assert [e["code"] for e in job["errors"]] == ["rule.additive.not_filed"]
    filed = client.post("/api/v1/events", headers=bearer(tokens[DAIRY]), json={
        "type": "product_registered", "event_time": "2026-11-26T00:00:00Z", "payload": {
            "gtin": MILK, "name": "纯牛奶", "category": "08", "standard": "GB 7101-2022"}})
    assert filed.status_code == 201
    filing = client.post("/api/v1/events", headers=bearer(tokens[DAIRY]), json={
        "type": "additive_filing", "event_time": "2026-11-26T00:00:00Z", "payload": {
            "gtin": MILK, "additive": "山梨酸钾", "ins": "202", "function": "防腐剂",
            "level": "0.5", "unit": "g/kg"}})
    assert filing.status_code == 201, filing.get_json()
    job = job_of(client, post(client, document(made), tokens[DAIRY]), tokens[DAIRY])
    assert job["success"] is True, job["errors"]
    app.extensions["tracenet.runtime"].close()
