"""Webhook endpoints and delivery status over HTTP, and the real ``tracenet worker`` process."""

from __future__ import annotations

import base64
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import sessionmaker

from ledger.outbox import RetrySchedule, deliver_due
from tests.ledger.outbox.conftest import FakeSender
from tests.processes import TRACENET, tracenet_env
from tests.web.test_api import add_enterprise, bearer, error
from tests.webhook_receiver import WebhookReceiver

URL = "https://erp.example.com/tracenet/hooks"


@pytest.fixture
def callers(sqlite_app: Flask) -> dict[str, Any]:
    """Two producers and a regulator, by name: (USCC, bearer headers)."""
    found = {}
    for name, serial, role in (("a", 301, "producer"), ("b", 302, "producer"),
                               ("regulator", 303, "regulator")):
        uscc, token = add_enterprise(sqlite_app, serial, role=role)
        found[name] = (uscc, bearer(token))
    return found


def test_an_enterprise_registers_moves_rotates_and_removes_its_endpoint(
        client: FlaskClient, callers: dict[str, Any]) -> None:
    uscc, headers = callers["a"]
    assert client.put("/api/v1/webhooks", json={"url": URL}).status_code == 401

    made = client.put("/api/v1/webhooks", json={"url": URL}, headers=headers)
    assert made.status_code == 200, made.json
    body = made.get_json()
    assert (body["enterprise"], body["url"], body["active"]) == (uscc, URL, True)
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32

    shown = client.get("/api/v1/webhooks", headers=headers).get_json()
    assert shown["url"] == URL and shown["secret"] is None  # shown once only

    moved = client.put("/api/v1/webhooks", json={"url": "http://10.0.0.5:8080/h"},
                       headers=headers).get_json()
    assert moved["url"] == "http://10.0.0.5:8080/h" and moved["secret"] is None

    rotated = client.put("/api/v1/webhooks", json={"url": URL, "rotate_secret": True},
                         headers=headers).get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != body["secret"]

    # B has its own (no) endpoint: A's is not B's.
    assert client.get("/api/v1/webhooks", headers=callers["b"][1]).status_code == 404

    assert client.delete("/api/v1/webhooks", headers=headers).status_code == 204
    gone = client.get("/api/v1/webhooks", headers=headers)
    assert gone.status_code == 404
    assert error(gone)["code"] == "not_found"
    assert client.delete("/api/v1/webhooks", headers=headers).status_code == 404


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://erp.example.com/h", "expected an http or https URL, got scheme 'ftp'"),
    ("erp.example.com/h", "expected an absolute http or https URL"),
    ("http:///h", "expected a host in the URL"),
    ("https://user:pw@erp.example.com/h", "a webhook URL cannot carry credentials"),
    ("https://erp.example.com/h#top", "a webhook URL cannot have a fragment"),
    ("https://erp.example.com:99999/h", "not a URL: Port out of range"),
    ("https://erp.example.com/a b", "a webhook URL cannot contain spaces"),
    ("https://erp.example.com/" + "a" * 2000, "expected a URL of at most 2000 characters"),
])
def test_a_url_that_cannot_be_delivered_to_is_refused(client: FlaskClient,
                                                      callers: dict[str, Any], url: str,
                                                      message: str) -> None:
    response = client.put("/api/v1/webhooks", json={"url": url}, headers=callers["a"][1])
    assert response.status_code == 422
    assert error(response)["code"] == "invalid_webhook"
    assert error(response)["field"] == "url"
    assert error(response)["message"].startswith(message)
    assert client.get("/api/v1/webhooks", headers=callers["a"][1]).status_code == 404


def test_a_body_without_url_is_refused(client: FlaskClient, callers: dict[str, Any]) -> None:
    response = client.put("/api/v1/webhooks", json={"rotate_secret": True},
                          headers=callers["a"][1])
    assert response.status_code == 422
    assert (error(response)["code"], error(response)["field"]) == ("validation_error", "url")


def test_delivery_status_regulators_see_all_enterprises_their_own(
        client: FlaskClient, callers: dict[str, Any]) -> None:
    a, a_headers = callers["a"]
    b, b_headers = callers["b"]
    regulator = callers["regulator"][1]
    assert client.post("/api/v1/webhooks/test", headers=a_headers).status_code == 404
    for headers in (a_headers, b_headers):
        client.put("/api/v1/webhooks", json={"url": URL}, headers=headers)
    for headers in (a_headers, a_headers, b_headers):
        queued = client.post("/api/v1/webhooks/test", headers=headers)
        assert queued.status_code == 202 and queued.get_json()["message_id"] >= 1

    def listed(headers: dict[str, str], query: str = "") -> list[Any]:
        response = client.get(f"/api/v1/webhooks/deliveries{query}", headers=headers)
        assert response.status_code == 200, response.json
        return [(d["enterprise"], d["status"]) for d in response.get_json()["items"]]

    assert listed(regulator) == [(b, "pending"), (a, "pending"), (a, "pending")]
    assert listed(regulator, f"?enterprise={a}") == [(a, "pending")] * 2
    assert listed(regulator, "?status=delivered") == []
    assert listed(a_headers) == [(a, "pending")] * 2
    assert listed(a_headers, f"?enterprise={b}") == []
    assert listed(b_headers) == [(b, "pending")]

    first = client.get("/api/v1/webhooks/deliveries?limit=2", headers=regulator).get_json()
    rest = client.get(f"/api/v1/webhooks/deliveries?limit=2&cursor={first['next_cursor']}",
                      headers=regulator).get_json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    item = rest["items"][0]
    assert (item["event_type"], item["url"], item["attempts"]) == ("webhook.test", URL, 0)

    assert client.get("/api/v1/webhooks/deliveries").status_code == 401
    bad = client.get("/api/v1/webhooks/deliveries?status=lost", headers=regulator)
    assert (bad.status_code, error(bad)["field"]) == (422, "status")


def test_the_api_description_names_the_webhook_endpoints(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"put", "get", "delete"} <= set(paths["/api/v1/webhooks"])
    assert "get" in paths["/api/v1/webhooks/deliveries"]
    assert "post" in paths["/api/v1/webhooks/test"]


@pytest.mark.slow
def test_the_worker_process_delivers_and_stops_cleanly_on_sigterm(
        client: FlaskClient, callers: dict[str, Any], sqlite_url: str,
        tmp_path: Path) -> None:
    _, headers = callers["a"]
    with WebhookReceiver() as receiver:
        secret = client.put("/api/v1/webhooks", json={"url": receiver.url("/hook")},
                            headers=headers).get_json()["secret"]
        receiver.secrets["/hook"] = secret
        client.post("/api/v1/webhooks/test", headers=headers)
        worker = subprocess.Popen([TRACENET, "worker", "--poll", "0.1", "--retries", "100ms"],
                                  env=tracenet_env(sqlite_url, tmp_path), text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while not receiver.accepted("/hook") and time.monotonic() < deadline:
                assert worker.poll() is None, worker.communicate()
                time.sleep(0.05)
            worker.send_signal(signal.SIGTERM)
            _out, err = worker.communicate(timeout=15)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert worker.returncode == 0, err
    [accepted] = receiver.accepted("/hook")
    assert accepted.verified
    assert "webhook.test" in err and "delivered (attempt 1, HTTP 200" in err
    assert "SIGTERM" in err and "stopped after 1 delivery attempts" in err
    [delivery] = client.get("/api/v1/webhooks/deliveries", headers=headers).get_json()["items"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)


def test_an_enterprise_sends_its_dead_letters_again(sqlite_app: Flask, client: FlaskClient,
                                                    callers: dict[str, Any]) -> None:
    a_headers, b_headers = callers["a"][1], callers["b"][1]
    missing = client.post("/api/v1/webhooks/redeliver", headers=a_headers)
    assert (missing.status_code, error(missing)["code"]) == (404, "not_found")
    assert client.post("/api/v1/webhooks/redeliver").status_code == 401
    for headers in (a_headers, b_headers):
        client.put("/api/v1/webhooks", json={"url": URL}, headers=headers)
        client.post("/api/v1/webhooks/test", headers=headers)
    sessions = sessionmaker(bind=sqlite_app.extensions["tracenet.runtime"].engine)
    deliver_due(sessions, send=FakeSender({URL: [500]}), schedule=RetrySchedule.parse(""))

    def statuses(headers: dict[str, str]) -> list[str]:
        listed = client.get("/api/v1/webhooks/deliveries", headers=headers).get_json()
        return [d["status"] for d in listed["items"]]

    assert statuses(a_headers) == statuses(b_headers) == ["dead"]
    again = client.post("/api/v1/webhooks/redeliver", headers=a_headers)
    assert (again.status_code, again.get_json()) == (202, {"redelivered": 1})
    assert (statuses(a_headers), statuses(b_headers)) == (["pending"], ["dead"])
