"""The OpenAPI document holds: schemathesis (every check) against the app, as a producer, a
regulator and anonymously; and its promises besides each success shape: one error envelope,
declared once and referenced by every operation for every error status, list pages and proofs
with their own schemas, and a 405 that carries ``Allow``."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import make_app
from tests.web.test_api import add_enterprise
from web import create_app
from web.api.contract import ERROR_STATUSES

#: Operations whose parameters are checked beyond what OpenAPI 3.0 can state, so that a
#: schema-valid request may rightly be refused 400/422: check digits (GTIN, USCC), cursors
#: only the API issues, parameters that exclude each other or must be ordered, codes and
#: photos that must hold a readable code, webhook URLs without credentials or fragment, a
#: spot-check plan whose scope holds no enterprise to draw.
#: Every other check still runs on them.
SEMANTIC = {
    ("GET", "/api/v1/enterprises"), ("GET", "/api/v1/products"), ("GET", "/api/v1/events"),
    ("GET", "/api/v1/lots"), ("GET", "/api/v1/shipments/unreceived"),
    ("GET", "/api/v1/recalls"), ("GET", "/api/v1/webhooks/deliveries"),  # cursors
    ("GET", "/api/v1/codes/parse"), ("POST", "/api/v1/codes/parse"), ("POST", "/api/v1/scan"),
    ("GET", "/api/v1/public/lookup"), ("GET", "/api/v1/public/evidence"),
    ("GET", "/api/v1/trace/downstream"), ("GET", "/api/v1/trace/upstream"),
    ("GET", "/api/v1/ledger/checkpoint"), ("GET", "/api/v1/exports/fsma204"),
    ("POST", "/api/v1/events"), ("POST", "/api/v1/recalls"),
    ("POST", "/api/v1/recalls/{seq}/progress"), ("PUT", "/api/v1/webhooks"),
    ("GET", "/api/v1/lots/{gtin}/{lot}/status"), ("GET", "/api/v1/lots/{gtin}/{lot}/serials"),
    ("POST", "/api/v1/lots/{gtin}/{lot}/serials"),
    ("GET", "/api/v1/lots/{gtin}/{lot}/labels.pdf"),
    ("GET", "/api/v1/lots/{gtin}/{lot}/labels/{serial}.png"),
    ("GET", "/epcis/events"), ("GET", "/epcis/epcs/{epc}/events"),  # nextPageToken
    ("POST", "/api/v1/enterprises"), ("GET", "/api/v1/audit"),  # USCC check char; cursor
    # EPCIS documents and events: checked against GS1's EPCIS 2.0 JSON Schema, which GS1's
    # licence keeps us from copying into our own document
    ("POST", "/epcis/capture"), ("POST", "/epcis/events"),
    ("POST", "/api/v1/spot-checks"),  # the rules refuse a plan with nobody to draw (422)
}

# The document, read from an app that needs no database (the requests go to contract_app).
_SPEC_DIR = Path(tempfile.mkdtemp(prefix="tracenet-contract-"))
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", create_app({
    "TESTING": True, "DATABASE_URL": f"sqlite:///{_SPEC_DIR / 'spec.db'}",
    "SECRET_KEY": "spec", "CODE_SECRET": "spec", "LEDGER_KEY": str(_SPEC_DIR / "k.pem")}))


@pytest.fixture(scope="module")
def contract_app(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[Flask, dict[str, str]]]:
    """One app for every generated case, rate limits off (no 429 to chance on)."""
    tmp = tmp_path_factory.mktemp("contract")
    app = make_app(f"sqlite:///{tmp / 'tracenet.db'}", tmp, RATELIMIT_ENABLED=False)
    _, producer = add_enterprise(app, 301)
    _, regulator = add_enterprise(app, 302, role="regulator")
    yield app, {"producer": producer, "regulator": regulator}
    app.extensions["tracenet.runtime"].close()


def _validate(case: Any, app: Flask, token: str | None) -> None:
    excluded = ([positive_data_acceptance]
                if (case.method.upper(), case.path) in SEMANTIC else [])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    case.call_and_validate(app=app, headers=headers, checks=CHECKS.get_all(),
                           excluded_checks=excluded)


#: deterministic and bounded: a few examples per operation and caller
CONTRACT = settings(max_examples=8, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck))


@schema.parametrize()
@CONTRACT
def test_contract_as_producer(case: Any, contract_app: tuple[Flask, dict[str, str]]) -> None:
    _validate(case, contract_app[0], contract_app[1]["producer"])


@schema.parametrize()
@CONTRACT
def test_contract_as_regulator(case: Any, contract_app: tuple[Flask, dict[str, str]]) -> None:
    _validate(case, contract_app[0], contract_app[1]["regulator"])


@schema.parametrize()
@CONTRACT
def test_contract_anonymous(case: Any, contract_app: tuple[Flask, dict[str, str]]) -> None:
    _validate(case, contract_app[0], None)

METHODS = ("get", "put", "post", "delete", "patch")


def _document(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api/openapi.json").get_json()
    return document


def test_every_operation_declares_every_error_status_with_the_envelope(
        client: FlaskClient) -> None:
    document = _document(client)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "field"}
    assert document["components"]["responses"]["Error405"]["headers"]["Allow"]["required"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation["responses"]
            assert "default" not in responses, (method, path)
            assert any(s.startswith("2") for s in responses), (method, path)
            for status in ERROR_STATUSES:
                assert str(status) in responses, (method, path, status)


def test_lists_and_proofs_are_described(client: FlaskClient) -> None:
    document = _document(client)
    for path in ("/api/v1/enterprises", "/api/v1/products", "/api/v1/events", "/api/v1/lots",
                 "/api/v1/shipments/unreceived", "/api/v1/ledger/proof/inclusion",
                 "/api/v1/ledger/proof/consistency"):
        assert "200" in document["paths"][path]["get"]["responses"], path
    page = client.get("/api/v1/enterprises").get_json()
    assert set(page) == {"items", "next_cursor"}
    proof = client.get("/api/v1/ledger/proof/inclusion?seq=0").get_json()
    assert set(proof) == {"seq", "size", "leaf_hash", "root", "proof"}


def test_a_405_carries_allow_and_the_envelope(client: FlaskClient) -> None:
    response = client.open("/api/v1/ledger/key", method="TRACE")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    response = client.delete("/api/v1/events")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_each_event_type_is_a_variant_of_event(client: FlaskClient) -> None:
    from schemas.events import PAYLOAD_SCHEMAS

    schemas = _document(client)["components"]["schemas"]
    event = schemas["Event"]
    assert event["discriminator"]["propertyName"] == "type"
    assert set(event["discriminator"]["mapping"]) == set(PAYLOAD_SCHEMAS)
    assert len(event["oneOf"]) == len(PAYLOAD_SCHEMAS)
    shipment = schemas["ShipmentEvent"]
    assert shipment["properties"]["type"]["enum"] == ["shipment"]
    assert shipment["properties"]["payload"] == {"$ref": "#/components/schemas/Shipment"}


def test_found_by_schemathesis_stay_fixed(client: FlaskClient) -> None:
    # A seq beyond a BIGINT overflowed the driver (a 500): no route takes it.
    for url in ("/api/v1/events/9223372036854775808", "/api/v1/recalls/99999999999999999999"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.get_json()["error"]["code"] == "not_found"
    # An operation that needs a token says so before it looks at the body.
    response = client.post("/api/v1/recalls", json={"lots": "not a list"})
    assert response.status_code == 401
    assert response.get_json()["error"]["field"] == "Authorization"


def test_a_non_ascii_base64_field_is_a_validation_error(sqlite_app: Flask,
                                                        client: FlaskClient) -> None:
    # base64 of a non-ASCII string raised ValueError, not binascii.Error: a 500.
    _, token = add_enterprise(sqlite_app, 212)
    response = client.post("/api/v1/events", headers={"Authorization": f"Bearer {token}"},
                           json={"type": "key_registered", "event_time": "2026-11-26T08:00:00Z",
                                 "payload": {"enterprise": "operator", "key_id": "0" * 16,
                                             "public_key": "\x80"}})
    assert response.status_code == 422  # the validation error of every bad payload
    assert "base64" in json.dumps(response.get_json())


def test_rotate_secret_is_a_json_boolean(sqlite_app: Flask, client: FlaskClient) -> None:
    """The document says boolean: the string "true" is refused, not taken as true."""
    _, token = add_enterprise(sqlite_app, 211)
    response = client.put("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"},
                          json={"url": "https://erp.example.com/hook", "rotate_secret": "true"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "rotate_secret"
