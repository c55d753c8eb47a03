"""Recalls through HTTP: starting, listing, each caller's view, progress, closure with the
four reviews, the public notices (HTML, JSON, Atom) and a lot's status, rule.recall.active
with the ledger unchanged, the demo's melamine lot end to end, and a recall from a failed spot
check to the public feed with the worker delivering signed webhooks to real receivers."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger.demo.network import demo_enterprises
from ledger.outbox.models import OutboxMessage
from ledger.supervision.models import LotRow, StockRow
from ledger.supervision.recall_levels import parse_moment
from ledger.trace import downstream_lots
from tests.conftest import issue_token, run_cli
from tests.ledger.conftest import make_uscc
from tests.processes import TRACENET, tracenet_env
from tests.web.test_api import add_enterprise, bearer, error, size
from tests.web.test_rules import DRINK, SUPPLIER, SYRUP, Producer
from tests.webhook_receiver import WebhookReceiver
from web.db import get_session

LATER = "2026-11-28T10:00:00+08:00"
REVIEW = {"cause": "糖浆供应商原料污染", "responsibility": "供应商质量负责人已处理",
          "lessons": "全员培训进货查验", "corrective_actions": "每批糖浆加测"}
ATOM = "{http://www.w3.org/2005/Atom}"


class Party(Producer):
    """An enterprise calling the API with its token."""

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        return self.client.open(path, method=method, json=body,
                                headers={**bearer(self.token), **(headers or {})})


@pytest.fixture
def world(sqlite_app: Flask, client: FlaskClient) -> dict[str, Party]:
    """A maker whose lot P1 went to a shop (received) and a kiosk (in transit); a regulator
    and a stranger."""
    parties = {}
    for name, serial, role in (("maker", 301, "producer"), ("shop", 302, "producer"),
                               ("kiosk", 303, "producer"), ("regulator", 304, "regulator"),
                               ("stranger", 305, "producer")):
        uscc, token = add_enterprise(sqlite_app, serial, role=role)
        parties[name] = Party(client, uscc, token)
    maker, shop = parties["maker"], parties["shop"]
    maker.ok("product_registered", **maker.product())
    maker.ok("material_intake", **maker.intake())
    maker.ok("production", **maker.production())
    maker.ok("inspection", **maker.inspection())
    maker.ok("shipment", shipped_at="2026-11-26T14:00:00+08:00", **maker.movement(shop.uscc))
    maker.ok("shipment", shipped_at="2026-11-26T14:00:00+08:00",
             **maker.movement(parties["kiosk"].uscc, quantity="300", document_no="DN-2"))
    shop.ok("receipt", received_at="2026-11-26T18:00:00+08:00", **maker.movement(maker.uscc))
    return parties


def start_body(**overrides: Any) -> dict[str, Any]:
    return {"kind": "voluntary", "level": 2, "reason": "糖浆批次检出致病菌",
            "hazard": "可能引起腹泻", "lots": [{"gtin": DRINK, "lot": "P1"}],
            "event_time": "2026-11-27T09:00:00+08:00", **overrides}


def test_a_recall_from_start_to_closure(world: dict[str, Party], client: FlaskClient) -> None:
    maker, shop, kiosk = world["maker"], world["shop"], world["kiosk"]
    regulator, stranger = world["regulator"], world["stranger"]
    assert client.get(f"/api/v1/lots/{DRINK}/P1/status").get_json()["recall"]["status"] == \
        "none"
    before = size(client)
    started = maker.call("POST", "/api/v1/recalls", start_body(),
                         headers={"Idempotency-Key": "recall-1"})
    assert started.status_code == 201, started.get_json()
    recall = started.get_json()
    seq = recall["id"]
    assert seq == before and recall["access"] == "full"
    assert {h["enterprise"] for h in recall["holders"]} == {maker.uscc, shop.uscc, kiosk.uscc}
    assert recall["deadlines"] == {"start_by": "2026-11-29T09:00:00+08:00",
                                   "complete_by": "2026-12-25"}
    # A retry with the same key starts nothing more.
    again = maker.call("POST", "/api/v1/recalls", start_body(),
                       headers={"Idempotency-Key": "recall-1"})
    assert (again.status_code, again.get_json()["id"], size(client)) == (201, seq, before + 1)

    # Who sees what.
    assert client.get("/api/v1/recalls").status_code == 401
    assert [r["id"] for r in shop.call("GET", "/api/v1/recalls").get_json()["items"]] == [seq]
    assert stranger.call("GET", "/api/v1/recalls").get_json()["items"] == []
    assert len(regulator.call("GET", f"/api/v1/recalls/{seq}").get_json()["holders"]) == 3
    own = shop.call("GET", f"/api/v1/recalls/{seq}").get_json()
    assert own["access"] == "holder"
    assert [(h["enterprise"], h["holdings"][0]["held"]) for h in own["holders"]] == [
        (shop.uscc, "500")]
    public = stranger.call("GET", f"/api/v1/recalls/{seq}").get_json()
    assert public["access"] == "public" and "holders" not in public
    assert stranger.call("GET", f"/api/v1/recalls/{seq + 100}").status_code == 404

    # The recalled lot does not move, and the refusal appends nothing.
    before = size(client)
    shop.rejected("recall.active", "payload.lot", "shipment", shipped_at=LATER,
                  **maker.movement(stranger.uscc, quantity="10", document_no="DN-9"))
    assert size(client) == before

    # Progress.
    refused = shop.call("POST", f"/api/v1/recalls/{seq}/progress", {
        "lots": [{"gtin": DRINK, "lot": "P1", "unit": "pcs", "withdrawn": "500"}]})
    assert (refused.status_code, error(refused)["code"]) == (422, "rule.recall.evidence_missing")
    assert stranger.call("POST", f"/api/v1/recalls/{seq}/progress", {}).status_code == 422
    assert shop.call("POST", f"/api/v1/recalls/{seq + 100}/progress", {}).status_code == 404
    reported = shop.call("POST", f"/api/v1/recalls/{seq}/progress", {
        "lots": [{"gtin": DRINK, "lot": "P1", "unit": "pcs", "withdrawn": "500",
                  "destroyed": "500"}], "evidence": ["XH-2026-1128-01"], "complete": True,
        "event_time": LATER})
    assert reported.status_code == 201, reported.get_json()
    (mine,) = reported.get_json()["holders"]
    assert (mine["notice"], mine["complete"], mine["reports"][0]["evidence"]) == (
        "complete", True, ["XH-2026-1128-01"])
    progress = maker.call("GET", f"/api/v1/recalls/{seq}").get_json()["progress"]
    assert (progress["holders"], progress["complete"], progress["percent_complete"]) == (
        3, 1, 33.3)

    # Closure: by the producer, with every one of the four reviews.
    assert error(shop.call("POST", f"/api/v1/recalls/{seq}/close", REVIEW))["code"] == \
        "rule.recall.not_yours"
    for missing in REVIEW:
        for body in ({k: v for k, v in REVIEW.items() if k != missing},
                     {**REVIEW, missing: "   "}):
            refused = maker.call("POST", f"/api/v1/recalls/{seq}/close", body)
            assert refused.status_code == 422
            assert (error(refused)["code"], error(refused)["field"]) == (
                "validation_error", missing)
    closed = maker.call("POST", f"/api/v1/recalls/{seq}/close",
                        {**REVIEW, "report": "ZH-1", "event_time": LATER})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed"
    assert closed.get_json()["closure"]["cause"] == REVIEW["cause"]
    assert maker.call("GET", "/api/v1/recalls?status=open").get_json()["items"] == []

    status = client.get(f"/api/v1/lots/{DRINK}/P1/status").get_json()
    assert (status["product"]["name"], status["recall"]["status"], status["recall"]["id"]) == (
        "橙汁饮料", "closed", seq)


def test_an_ordered_recall_is_closed_by_a_regulator(world: dict[str, Party],
                                                    client: FlaskClient) -> None:
    maker, regulator = world["maker"], world["regulator"]
    refused = maker.call("POST", "/api/v1/recalls", start_body(kind="ordered"))
    assert error(refused)["code"] == "rule.recall.not_regulator"
    started = regulator.call("POST", "/api/v1/recalls", start_body(
        kind="ordered", level=1, lots=[{"gtin": "06901234567908", "lot": "RM1"}],
        producer=maker.uscc))
    assert started.status_code == 201, started.get_json()
    seq = started.get_json()["id"]
    assert {lot["lot"] for lot in started.get_json()["scope"]} == {"RM1", "P1"}
    status = client.get(f"/api/v1/lots/{DRINK}/P1/status").get_json()["recall"]
    assert (status["status"], status["level"], status["level_name_en"]) == (
        "open", 1, "Class I recall")
    assert error(maker.call("POST", f"/api/v1/recalls/{seq}/close", REVIEW))["code"] == \
        "rule.recall.approval_required"
    approved = regulator.call("POST", f"/api/v1/recalls/{seq}/close", REVIEW)
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["closure"]["closed_by"]["uscc"] == regulator.uscc


def test_goods_recorded_late_bring_their_receiver_into_the_recall(
        sqlite_app: Flask, world: dict[str, Party], tmp_path: Path) -> None:
    maker, stranger = world["maker"], world["stranger"]
    seq = maker.call("POST", "/api/v1/recalls", start_body()).get_json()["id"]
    assert stranger.call("GET", f"/api/v1/recalls/{seq}").get_json()["access"] == "public"
    # Shipped the evening before the recall, recorded only now: admitted, and followed.
    maker.ok("shipment", shipped_at="2026-11-26T20:00:00+08:00",
             **maker.movement(stranger.uscc, quantity="10", document_no="DN-LATE"))
    mine = stranger.call("GET", f"/api/v1/recalls/{seq}").get_json()
    assert mine["access"] == "holder"
    assert mine["holders"][0]["holdings"][0]["held"] == "10"
    # The same through a spreadsheet import (the console's and tracenet import's door).
    buyer = make_uscc(999)
    sheet = tmp_path / "shipment.csv"
    sheet.write_text("gtin,lot,quantity,unit,counterparty,document_no,shipped_at,event_time\n"
                     f"{DRINK},P1,5,pcs,{buyer},DN-SHEET,2026-11-26T21:00:00+08:00,\n")
    imported = run_cli(sqlite_app, "import", str(sheet), "--enterprise", world["shop"].uscc)
    assert imported.exit_code == 0, imported.output
    with sqlite_app.app_context():
        keys = set(get_session().scalars(select(OutboxMessage.key)))
    assert {f"recall/{seq}/{stranger.uscc}", f"recall/{seq}/{buyer}"} <= keys


def test_bad_input_is_refused_before_the_ledger(world: dict[str, Party],
                                                client: FlaskClient) -> None:
    maker = world["maker"]
    before = size(client)
    for body, field in ((start_body(level=4), "level"), (start_body(lots=[]), "lots"),
                        (start_body(kind="forced"), "kind"),
                        (start_body(lots=[{"gtin": "123", "lot": "P1"}]), "lots[0].gtin")):
        response = maker.call("POST", "/api/v1/recalls", body)
        assert response.status_code == 422, body
        assert error(response)["field"] == field
    unknown = maker.call("POST", "/api/v1/recalls", start_body(
        lots=[{"gtin": DRINK, "lot": "NOPE"}]))
    assert (unknown.status_code, error(unknown)["code"]) == (404, "not_found")
    assert size(client) == before
    assert client.get("/api/v1/lots/123/P1/status").status_code == 422
    assert client.get(f"/api/v1/lots/{DRINK}/NOPE/status").status_code == 404


def test_the_public_recall_notices(world: dict[str, Party], client: FlaskClient) -> None:
    maker, shop = world["maker"], world["shop"]
    # The feed parsed is this app's own output, not untrusted XML.
    empty = ElementTree.fromstring(client.get("/recalls.atom").data)  # noqa: S314
    assert empty.findall(f"{ATOM}entry") == []
    seq = maker.call("POST", "/api/v1/recalls", start_body(
        consumer_advice="请停止饮用并退货")).get_json()["id"]

    listing = client.get("/recalls.json")
    assert listing.status_code == 200
    (notice,) = listing.get_json()["items"]
    assert (notice["id"], notice["level_name_zh"], notice["products"][0]["name"],
            notice["lots"][0]["lot"], notice["consumer_advice"]) == (
        seq, "二级召回", "橙汁饮料", "P1", "请停止饮用并退货")
    text = listing.get_data(as_text=True)
    for secret in (shop.uscc, world["kiosk"].uscc, "1200", '"500"', "held", "price"):
        assert secret not in text
    assert client.get("/recalls.json?limit=0").status_code == 422

    page = client.get("/recalls")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="zh-CN"' in html
    assert "产品召回公告" in html and "请停止饮用并退货" in html and f"recall-{seq}" in html
    assert shop.uscc not in html
    switched = client.get("/console/lang/en?next=/recalls")
    assert switched.headers["Location"].endswith("/recalls")
    english = client.get("/recalls").get_data(as_text=True)
    assert 'lang="en"' in english and "Product recall notices" in english

    feed = client.get("/recalls.atom")
    assert feed.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(feed.data)  # noqa: S314 - the app's own feed
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    (entry,) = root.findall(f"{ATOM}entry")
    for required in ("id", "title", "updated", "summary"):
        assert (entry.findtext(f"{ATOM}{required}") or "").strip(), required
    assert entry.findtext(f"{ATOM}id", "").endswith(f":recall/{seq}")
    assert entry.find(f"{ATOM}link[@rel='alternate']").get("href", "").endswith(  # type: ignore[union-attr]
        f"/recalls#recall-{seq}")
    assert "橙汁饮料" in entry.findtext(f"{ATOM}title", "")
    assert shop.uscc not in feed.get_data(as_text=True)


def test_the_recall_command(sqlite_app: Flask, world: dict[str, Party]) -> None:
    maker, shop = world["maker"], world["shop"]
    started = run_cli(sqlite_app, "recall", "start", "--enterprise", maker.uscc, "--level", "2",
                      "--lot", f"{DRINK}/P1", "--reason", "糖浆批次检出致病菌",
                      "--hazard", "可能引起腹泻")
    assert started.exit_code == 0, started.output
    seq = int(started.output.split()[1])
    assert f"recall {seq} started: 1 lots, 3 holders notified" in started.output
    shown = run_cli(sqlite_app, "recall", "show", str(seq))
    assert shown.exit_code == 0, shown.output
    assert "二级召回" in shown.output and shop.uscc in shown.output
    as_json = run_cli(sqlite_app, "recall", "show", str(seq), "--json")
    assert json.loads(as_json.output)["id"] == seq
    review = ["--cause", "c", "--responsibility", "r", "--lessons", "l",
              "--corrective-actions", "a"]
    refused = run_cli(sqlite_app, "recall", "close", str(seq), "--enterprise", shop.uscc,
                      *review)
    assert refused.exit_code == 1 and "rule.recall.not_yours" in refused.output
    blank = run_cli(sqlite_app, "recall", "close", str(seq), "--enterprise", maker.uscc,
                    *review[:-1], " ")
    assert blank.exit_code == 1 and "corrective_actions" in blank.output
    closed = run_cli(sqlite_app, "recall", "close", str(seq), "--enterprise", maker.uscc,
                     *review)
    assert closed.exit_code == 0, closed.output
    assert run_cli(sqlite_app, "recall", "show", "999").exit_code == 1
    assert run_cli(sqlite_app, "recall", "start", "--enterprise", maker.uscc, "--level", "1",
                   "--lot", "P1", "--reason", "r", "--hazard", "h").exit_code == 2


# -- the demo's melamine lot, end to end ------------------------------------------------------


@pytest.mark.slow
def test_the_melamine_recall_reaches_every_holder(sqlite_app: Flask,
                                                  client: FlaskClient) -> None:
    """The failed raw-milk lot of the demo: an ordered recall reaches every enterprise trace
    finds downstream, each with a notice queued; a distributor's shipment of a recalled lot
    is refused; progress is reported; the recall is in the public feed."""
    assert run_cli(sqlite_app, "demo").exit_code == 0
    network = {enterprise.key: enterprise for enterprise in demo_enterprises()}
    with sqlite_app.app_context():
        session = get_session()
        gtin, lot = session.execute(select(LotRow.gtin, LotRow.lot)
                                    .where(LotRow.inspection == "fail")).one()
        reach = downstream_lots(session, gtin, lot)
    regulator = Party(client, network["regulator"].uscc,
                      issue_token(sqlite_app, network["regulator"].uscc, "regulator"))
    started = regulator.call("POST", "/api/v1/recalls", {
        "kind": "ordered", "level": 1, "lots": [{"gtin": gtin, "lot": lot}],
        "reason": "生乳三聚氰胺 3.8 mg/kg，超过 2.5 mg/kg 限量",
        "hazard": "长期食用可能导致泌尿系统结石"})
    assert started.status_code == 201, started.get_json()
    recall = started.get_json()
    seq = recall["id"]
    assert recall["producer"]["uscc"] == network["ranch_c"].uscc
    assert {(item["gtin"], item["lot"]) for item in recall["scope"]} == set(reach.lots)
    holders = {holder["enterprise"] for holder in recall["holders"]}
    assert holders == {node.holder for node in reach.holders}
    supermarkets = {e.uscc for e in network.values() if e.kind == "超市"}
    assert supermarkets <= holders
    with sqlite_app.app_context():
        session = get_session()
        keys = set(session.scalars(select(OutboxMessage.key)
                                   .where(OutboxMessage.key.like(f"recall/{seq}/%"))))
        assert keys == {f"recall/{seq}/{holder}" for holder in holders}
        scope = [(item["gtin"], item["lot"]) for item in recall["scope"]]
        held = session.scalars(select(StockRow).where(
            StockRow.enterprise.in_([e.uscc for e in network.values() if e.kind == "经销商"]),
            StockRow.quantity != "0")).all()
        (stock, *_) = [row for row in held if (row.gtin, row.lot) in scope]
    distributor = Party(client, stock.enterprise, issue_token(sqlite_app, stock.enterprise))
    before = size(client)
    # Shipped after the recall started (one dated before it would be a late record of goods
    # already gone, admitted and pulled into the recall).
    after = parse_moment(recall["initiated_at"]) + timedelta(hours=1)
    distributor.rejected("recall.active", "payload.lot", "shipment",
                         shipped_at=after.isoformat(), gtin=stock.gtin,
                         lot=stock.lot, quantity="1", unit=stock.unit,
                         counterparty=next(iter(supermarkets)), document_no="DN-X")
    assert size(client) == before
    reported = distributor.call("POST", f"/api/v1/recalls/{seq}/progress", {
        "lots": [{"gtin": stock.gtin, "lot": stock.lot, "unit": stock.unit,
                  "withdrawn": stock.quantity, "destroyed": stock.quantity}],
        "evidence": ["销毁记录 XH-001"], "complete": True})
    assert reported.status_code == 201, reported.get_json()
    assert reported.get_json()["progress"]["complete"] == 1
    overview = regulator.call("GET", f"/api/v1/recalls/{seq}").get_json()["progress"]
    assert (overview["holders"], overview["complete"]) == (len(holders), 1)
    status = client.get(f"/api/v1/lots/{stock.gtin}/{stock.lot}/status").get_json()
    assert (status["recall"]["status"], status["recall"]["level"]) == ("open", 1)
    # newest first: this recall, then the one the demo itself ordered when the result came in
    feed = [item["id"] for item in client.get("/recalls.json").get_json()["items"]]
    assert feed[0] == seq and len(feed) == 2 and feed[1] < seq


# -- end to end, with the worker delivering to real receivers ---------------------------

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
        world: dict[str, Party], client: FlaskClient, worker: subprocess.Popen[str]) -> None:
    """A recall end to end, as the issue tells it: a raw material fails its spot check, the
    bureau orders a recall, every downstream holder is notified through signed webhooks
    delivered by the real ``tracenet worker`` to real receivers (one flaky, one down
    throughout), holders report, closure waits for the four reviews, and the public feed shows
    it. The recalled lot does not move meanwhile."""
    maker, shop, kiosk, bureau = (world[n] for n in ("maker", "shop", "kiosk", "regulator"))
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
