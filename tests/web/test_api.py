"""The HTTP API through the Flask test client: ledger endpoints, events and error bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger import log
from ledger.accounts.models import AuditRow
from ledger.log import merkle
from ledger.log.checkpoint import open_checkpoint, parse_verifier_key
from ledger.log.entry import Statement
from ledger.log.keys import generate_private_key, key_id_for, public_key_bytes
from tests.conftest import run_cli
from tests.ledger.conftest import make_uscc
from web.db import get_session

UTC_TIME = "2026-11-26T08:00:00+08:00"


def add_enterprise(app: Flask, serial: int, role: str = "producer",
                   public_key: str | None = None) -> tuple[str, str]:
    uscc = make_uscc(serial)
    args = ["enterprise", "add", "--uscc", uscc, "--name", f"企业{serial}",
            "--district", "福州市", "--role", role]
    if public_key:
        args += ["--public-key", public_key]
    result = run_cli(app, *args)
    assert result.exit_code == 0, result.output
    return uscc, result.output.split("shown once): ")[1].strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def size(client: FlaskClient) -> int:
    """The ledger's size (the head's; the newest checkpoint may lag it by the cadence)."""
    with client.application.app_context():
        return log.ledger_size(get_session())


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json()["error"]
    return body


def new_key_event(uscc: str) -> dict[str, Any]:
    key = generate_private_key()
    return {"type": "key_registered", "event_time": UTC_TIME,
            "payload": {"enterprise": uscc, "key_id": key_id_for(key),
                        "public_key": base64.b64encode(public_key_bytes(key)).decode()}}


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_checkpoint_is_a_signed_note(sqlite_app: Flask, client: FlaskClient) -> None:
    response = client.get("/api/v1/ledger/checkpoint")
    assert response.mimetype == "text/plain"
    with sqlite_app.app_context():
        from web.db import get_ledger

        ledger = get_ledger()
        checkpoint = open_checkpoint(response.text, key_name=ledger.origin,
                                     public_key=ledger.signing_key.public_key())
    assert checkpoint.size == 1


def test_the_verifier_key_opens_the_checkpoint(client: FlaskClient) -> None:
    name, public_key = parse_verifier_key(client.get("/api/v1/ledger/key").text.strip())
    note = client.get("/api/v1/ledger/checkpoint").text
    assert open_checkpoint(note, key_name=name, public_key=public_key).size == 1


def test_post_custodial_events_then_prove_them(sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, token = add_enterprise(sqlite_app, 1)
    response = client.post("/api/v1/events", json=[new_key_event(uscc), new_key_event(uscc)],
                           headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    entries = response.get_json()
    assert [e["seq"] for e in entries] == [3, 4]
    assert entries[1]["prev"] == entries[0]["leaf_hash"]
    fetched = client.get("/api/v1/events/4").get_json()
    assert fetched == entries[1]

    proof = client.get("/api/v1/ledger/proof/inclusion?seq=4&size=5").get_json()
    merkle.verify_inclusion(leaf_hash=bytes.fromhex(entries[1]["leaf_hash"]), index=4, size=5,
                            proof=[base64.b64decode(h) for h in proof["proof"]],
                            root=base64.b64decode(proof["root"]))
    consistency = client.get("/api/v1/ledger/proof/consistency?first=2&second=5").get_json()
    merkle.verify_consistency(old_size=2, new_size=5,
                              old_root=base64.b64decode(consistency["first_root"]),
                              new_root=base64.b64decode(consistency["second_root"]),
                              proof=[base64.b64decode(h) for h in consistency["proof"]])


def test_post_client_signed_event(sqlite_app: Flask, client: FlaskClient) -> None:
    key = generate_private_key()
    raw = base64.b64encode(public_key_bytes(key)).decode()
    uscc, token = add_enterprise(sqlite_app, 2, public_key=raw)
    event = new_key_event(uscc)
    statement = Statement(event["type"], uscc, key_id_for(key), UTC_TIME, event["payload"])
    signed = statement.sign(key)
    event.update(key_id=key_id_for(key), signature=base64.b64encode(signed.signature).decode())
    response = client.post("/api/v1/events", json=event, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[0]["signature"] == event["signature"]

    forged = {**event, "signature": base64.b64encode(bytes(64)).decode()}
    before = size(client)
    response = client.post("/api/v1/events", json=forged, headers=bearer(token))
    assert response.status_code == 422
    assert error(response) == {"code": "invalid_signature", "field": "signature",
                               "message": "signature does not verify", "item": 0}
    assert size(client) == before


def test_admin_registers_an_enterprise_as_the_operator(sqlite_app: Flask,
                                                       client: FlaskClient) -> None:
    _, admin = add_enterprise(sqlite_app, 3, role="admin")
    registration: dict[str, Any] = {"type": "enterprise_registered", "enterprise": "operator",
                    "event_time": UTC_TIME,
                    "payload": {"uscc": make_uscc(30), "name": "新企业", "roles": ["producer"],
                                "district": "厦门市"}}
    response = client.post("/api/v1/events", json=registration, headers=bearer(admin))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[0]["enterprise"] == "operator"

    _, producer = add_enterprise(sqlite_app, 4)
    registration["payload"]["uscc"] = make_uscc(31)
    response = client.post("/api/v1/events", json=registration, headers=bearer(producer))
    assert response.status_code == 403
    assert error(response)["field"] == "enterprise"


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"type": "key_registered", "event_time": UTC_TIME}, 422, "validation_error", "payload"),
    ({"type": "teleport", "event_time": UTC_TIME, "payload": {}}, 422, "validation_error",
     "type"),
    ({"type": "key_revoked", "event_time": "yesterday", "payload": {"key_id": "0" * 16,
                                                                    "reason": "x"}},
     422, "validation_error", "event_time"),
    ({"type": "key_revoked", "event_time": UTC_TIME, "payload": {"key_id": "nothex",
                                                                 "reason": "x"}},
     422, "validation_error", "payload.key_id"),
    ({"type": "key_revoked", "event_time": UTC_TIME, "payload": {"key_id": "0" * 16,
                                                                 "reason": "x"}},
     422, "identity_rejected", "payload.key_id"),
    ([], 400, "bad_request", None),
])
def test_bad_events_get_clear_errors_and_append_nothing(
        sqlite_app: Flask, client: FlaskClient, body: Any, status: int, code: str,
        field: str | None) -> None:
    _, token = add_enterprise(sqlite_app, 5)
    before = size(client)
    response = client.post("/api/v1/events", json=body, headers=bearer(token))
    assert response.status_code == status, response.get_json()
    assert error(response)["code"] == code
    assert error(response)["field"] == field
    assert size(client) == before


def test_batch_error_names_the_item(sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, token = add_enterprise(sqlite_app, 6)
    events = [new_key_event(uscc) for _ in range(3)]
    events[2]["payload"]["public_key"] = "not base64!"
    before = size(client)
    response = client.post("/api/v1/events", json=events, headers=bearer(token))
    assert response.status_code == 422
    assert error(response)["field"] == "[2].payload.public_key"
    assert size(client) == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer tn_nope"},
                                     {"Authorization": "Basic abc"}])
def test_posting_needs_a_valid_token(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post("/api/v1/events", json={}, headers=headers)
    assert response.status_code == 401
    assert error(response)["code"] == "unauthorized"
    assert error(response)["field"] == "Authorization"


@pytest.mark.parametrize(("url", "status", "field"), [
    ("/api/v1/events/99", 404, "seq"),
    ("/api/v1/ledger/proof/inclusion?seq=5", 404, "seq"),
    ("/api/v1/ledger/proof/inclusion", 422, "seq"),
    ("/api/v1/ledger/proof/inclusion?seq=x", 422, "seq"),
    ("/api/v1/ledger/proof/consistency?first=0", 422, "first"),
    ("/api/v1/ledger/proof/consistency?first=1&second=7", 404, "second"),
])
def test_read_errors(client: FlaskClient, url: str, status: int, field: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert error(response)["field"] == field
    assert error(response)["message"]


def test_unknown_route_is_json(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_openapi_documents_the_endpoints(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/events", "/api/v1/events/{seq}", "/api/v1/ledger/checkpoint",
                 "/api/v1/ledger/proof/inclusion", "/api/v1/ledger/proof/consistency"):
        assert path in spec["paths"]
    assert "Event" in spec["components"]["schemas"]


def test_idempotency_key_replays_the_first_response(sqlite_app: Flask,
                                                    client: FlaskClient) -> None:
    uscc, token = add_enterprise(sqlite_app, 7)
    event = new_key_event(uscc)
    headers = {**bearer(token), "Idempotency-Key": "batch-2026-11-26-001"}
    first = client.post("/api/v1/events", json=event, headers=headers)
    assert first.status_code == 201
    after_first = size(client)
    retry = client.post("/api/v1/events", json=event, headers=headers)
    assert retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert size(client) == after_first
    other = client.post("/api/v1/events", json=new_key_event(uscc), headers=headers)
    assert other.status_code == 422
    assert error(other) == {"code": "idempotency_key_reused", "field": "Idempotency-Key",
                            "message": "this Idempotency-Key was used for a different request"}
    assert size(client) == after_first


def test_a_rejected_request_is_not_remembered(sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, token = add_enterprise(sqlite_app, 8)
    headers = {**bearer(token), "Idempotency-Key": "k1"}
    bad = client.post("/api/v1/events", json={"type": "key_revoked", "event_time": UTC_TIME,
                                              "payload": {"key_id": "0" * 16, "reason": "x"}},
                      headers=headers)
    assert bad.status_code == 422
    assert client.post("/api/v1/events", json=new_key_event(uscc),
                       headers=headers).status_code == 201


def test_each_append_is_audited_once_whether_it_lands_or_not(sqlite_app: Flask,
                                                             client: FlaskClient) -> None:
    """A landed append's row is committed with it (web.audit.with_work); a refused one's is
    written after the response, as for any other request."""
    uscc, token = add_enterprise(sqlite_app, 10)
    headers = {**bearer(token), "Idempotency-Key": "audited-1"}
    assert client.post("/api/v1/events", json=new_key_event(uscc),
                       headers=headers).status_code == 201
    assert client.post("/api/v1/events", json={"type": "key_revoked", "event_time": UTC_TIME,
                                               "payload": {"key_id": "0" * 16, "reason": "x"}},
                       headers=bearer(token)).status_code == 422
    with sqlite_app.app_context():
        rows = get_session().execute(
            select(AuditRow.method, AuditRow.path, AuditRow.status, AuditRow.action)
            .where(AuditRow.enterprise == uscc).order_by(AuditRow.id)).all()
    assert [tuple(row) for row in rows] == [("POST", "/api/v1/events", 201, "change"),
                                            ("POST", "/api/v1/events", 422, "change")]


def test_revoked_token_is_refused(sqlite_app: Flask, client: FlaskClient) -> None:
    uscc, token = add_enterprise(sqlite_app, 9)
    extra = run_cli(sqlite_app, "token", "add", "--enterprise", uscc).output
    second = extra.split("shown once): ")[1].strip()
    assert run_cli(sqlite_app, "token", "revoke", token).exit_code == 0
    refused = client.post("/api/v1/events", json=new_key_event(uscc), headers=bearer(token))
    assert refused.status_code == 401
    assert error(refused)["message"] == "unknown or revoked API token"
    assert client.post("/api/v1/events", json=new_key_event(uscc),
                       headers=bearer(second)).status_code == 201
    unknown = run_cli(sqlite_app, "token", "add", "--enterprise", make_uscc(999))
    assert unknown.exit_code == 1
    assert "is not registered" in unknown.output


def test_cli_keygen_and_sign_produce_an_accepted_event(sqlite_app: Flask, client: FlaskClient,
                                                        tmp_path: Any) -> None:
    key_file = tmp_path / "producer.pem"
    made = run_cli(sqlite_app, "keygen", "--out", str(key_file))
    assert made.exit_code == 0, made.output
    public_key = made.output.split("--public-key): ")[1].strip()
    uscc, token = add_enterprise(sqlite_app, 10, public_key=public_key)
    payload = tmp_path / "intake.json"
    # A 13-digit GTIN: `sign` normalises it to GTIN-14 before signing.
    payload.write_text(json.dumps({
        "gtin": "6901234567892", "lot": "RM-7", "material": "生乳",
        "supplier": make_uscc(11), "quantity": "500", "unit": "kg",
        "received_at": UTC_TIME, "accepted": True}, ensure_ascii=False))
    signed = run_cli(sqlite_app, "sign", "--key", str(key_file), "--enterprise", uscc,
                     "--type", "material_intake", "--event-time", UTC_TIME, str(payload))
    assert signed.exit_code == 0, signed.output
    body = json.loads(signed.output)
    assert body["payload"]["gtin"] == "06901234567892"
    response = client.post("/api/v1/events", json=body, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[0]["signature"] == body["signature"]

    body["payload"]["gtin"] = "6901234567892"  # not what was signed, and not normal form
    refused = client.post("/api/v1/events", json=body, headers=bearer(token))
    assert refused.status_code == 422
    assert error(refused)["field"] == "payload.gtin"
    assert "normal form" in error(refused)["message"]
    again = run_cli(sqlite_app, "keygen", "--out", str(key_file))
    assert again.exit_code == 1 and "refusing to overwrite" in again.output


def test_root_is_the_public_scan_page_with_a_link_to_the_console(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'action="/scan"' in page and 'name="image"' in page
    assert 'href="/console/"' in page
