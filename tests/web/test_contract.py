"""The OpenAPI document's promises besides each success shape: one error envelope, declared
once and referenced by every operation for every error status, list pages and proofs with
their own schemas, and a 405 that carries ``Allow``."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from web.api.contract import ERROR_STATUSES

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
