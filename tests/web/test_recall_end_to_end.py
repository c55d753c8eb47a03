"""A recall end to end, as the issue tells it: a raw material fails its spot check, the bureau
orders a recall, every downstream holder is notified through signed webhooks delivered by the
real ``tracenet worker`` to real receivers (one flaky, one down throughout), holders report,
closure waits for the four reviews, and the public feed shows it. The recalled lot does not
move meanwhile."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.processes import TRACENET, tracenet_env
from tests.web.test_api import add_enterprise, error, size
from tests.web.test_recalls import ATOM, REVIEW, Party
from tests.web.test_rules import DRINK, SUPPLIER, SYRUP
from tests.webhook_receiver import WebhookReceiver

SPOT_CHECK = {"gtin": SYRUP, "lot": "RM1", "kind": "spot_check", "lab": "福建省产品质量检验研究院",
              "verdict": "fail", "report_no": "FJQI-2026-1127", "standard": "GB 2762-2022",
              "inspected_at": "2026-11-27T09:00:00+08:00",
              "items": [{"name": "铅", "value": "1.2", "limit": "≤0.5", "unit": "mg/kg",
                         "pass": False}]}


def _closed_port_url() -> str:
    """A URL nothing listens on: the receiver that is down throughout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@pytest.fixture
def worker(sqlite_url: str, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """The real worker, retrying quickly: after 3 retries a delivery is dead-lettered."""
    process = subprocess.Popen(
        [TRACENET, "worker", "--poll", "0.05", "--timeout", "1", "--retries", "100ms,100ms,100ms"],
        env=tracenet_env(sqlite_url, tmp_path), text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str],
              seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out waiting for the worker"
        time.sleep(0.05)


@pytest.mark.slow
def test_an_ordered_recall_from_a_failed_spot_check_to_the_public_feed(
        sqlite_app: Flask, client: FlaskClient, worker: subprocess.Popen[str]) -> None:
    parties = {}
    for name, serial, role in (("maker", 401, "producer"), ("shop", 402, "producer"),
                               ("kiosk", 403, "producer"), ("bureau", 404, "regulator")):
        uscc, token = add_enterprise(sqlite_app, serial, role=role)
        parties[name] = Party(client, uscc, token)
    maker, shop, kiosk, bureau = (parties[n] for n in ("maker", "shop", "kiosk", "bureau"))
    maker.ok("product_registered", **maker.product())
    maker.ok("material_intake", **maker.intake())
    maker.ok("production", **maker.production())
    maker.ok("inspection", **maker.inspection())
    maker.ok("shipment", shipped_at="2026-11-26T14:00:00+08:00", **maker.movement(shop.uscc))
    maker.ok("shipment", shipped_at="2026-11-26T14:00:00+08:00",
             **maker.movement(kiosk.uscc, quantity="300", document_no="DN-2"))
    shop.ok("receipt", received_at="2026-11-26T18:00:00+08:00", **maker.movement(maker.uscc))
    kiosk.ok("receipt", received_at="2026-11-26T19:00:00+08:00",
             **maker.movement(maker.uscc, quantity="300", document_no="DN-2"))

    with WebhookReceiver(fail_first={"/shop": 2}) as receiver:
        # The maker's and the shop's receivers are up (the shop's fails twice first); the
        # kiosk's never answers.
        for party, path in ((maker, "/maker"), (shop, "/shop"), (kiosk, None)):
            url = receiver.url(path) if path else _closed_port_url()
            registered = party.call("PUT", "/api/v1/webhooks", {"url": url})
            assert registered.status_code in (200, 201), registered.get_json()
            if path:
                receiver.secrets[path] = registered.get_json()["secret"]

        # The bureau's spot check finds the syrup the maker took in contaminated.
        bureau.ok("inspection", **SPOT_CHECK)
        started = bureau.call("POST", "/api/v1/recalls", {
            "kind": "ordered", "level": 1, "producer": maker.uscc,
            "reason": "浓缩橙汁原料铅超标", "hazard": "长期食用危害健康",
            "lots": [{"gtin": SYRUP, "lot": "RM1"}],
            "event_time": "2026-11-27T12:00:00+08:00"})
        assert started.status_code == 201, started.get_json()
        recall = started.get_json()
        seq = recall["id"]
        assert {(lot["gtin"], lot["lot"]) for lot in recall["scope"]} == {
            (SYRUP, "RM1"), (DRINK, "P1")}
        # Every holder downstream (and the syrup's supplier, where the lot came from).
        assert {h["enterprise"] for h in recall["holders"]} == {
            maker.uscc, shop.uscc, kiosk.uscc, SUPPLIER}

        # The recall goes on whatever the receivers do: the lot is held where it is.
        before = size(client)
        shop.rejected("recall.active", "payload.lot", "shipment",
                      shipped_at="2026-11-27T15:00:00+08:00",
                      **maker.movement(kiosk.uscc, quantity="10", document_no="DN-9"))
        assert size(client) == before

        def deliveries(status: str) -> set[str]:
            listed = bureau.call("GET", f"/api/v1/webhooks/deliveries?status={status}")
            assert listed.status_code == 200, listed.get_json()
            return {d["enterprise"] for d in listed.get_json()["items"]
                    if d["event_type"].startswith("recall.")}

        _wait_for(lambda: deliveries("delivered") >= {maker.uscc, shop.uscc}
                  and kiosk.uscc in deliveries("dead"), worker)

        # Every delivery verified against its endpoint's secret; the flaky receiver answered
        # 500 twice and accepted exactly one.
        for path in ("/maker", "/shop"):
            (accepted,) = receiver.accepted(path)
            assert accepted.verified
            assert str(seq) in accepted.body.decode()
        shop_answers = [r.status for r in receiver.received if r.path == "/shop"]
        assert shop_answers == [500, 500, 200]
        assert all(r.verified for r in receiver.received)

    # Holders report; the bureau sees the progress.
    for party, lot, quantity in ((shop, "P1", "500"), (kiosk, "P1", "300")):
        reported = party.call("POST", f"/api/v1/recalls/{seq}/progress", {
            "lots": [{"gtin": DRINK, "lot": lot, "unit": "pcs", "withdrawn": quantity,
                      "destroyed": quantity}], "evidence": [f"XH-{party.uscc[-4:]}"],
            "complete": True, "event_time": "2026-11-28T10:00:00+08:00"})
        assert reported.status_code == 201, reported.get_json()
    progress = bureau.call("GET", f"/api/v1/recalls/{seq}").get_json()["progress"]
    assert (progress["holders"], progress["complete"]) == (4, 2)

    # Closure: refused without each of the four reviews, accepted with them all.
    for missing in REVIEW:
        refused = bureau.call("POST", f"/api/v1/recalls/{seq}/close",
                              {k: v for k, v in REVIEW.items() if k != missing})
        assert (refused.status_code, error(refused)["field"]) == (422, missing)
    closed = bureau.call("POST", f"/api/v1/recalls/{seq}/close", REVIEW)
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed"

    # The public sees it, without sign-in, and never quantities or customers.
    feed: dict[str, Any] = client.get("/recalls.json").get_json()
    (published,) = [r for r in feed["items"] if r["id"] == seq]
    assert (published["status"], published["level"], published["reason"]) == (
        "closed", 1, "浓缩橙汁原料铅超标")
    assert shop.uscc not in str(published) and "500" not in str(published)
    atom = ElementTree.fromstring(client.get("/recalls.atom").data)  # noqa: S314 - our own feed
    assert any(str(seq) in (entry.findtext(f"{ATOM}id") or "")
               for entry in atom.iter(f"{ATOM}entry"))
