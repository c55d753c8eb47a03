"""Every supervision rule through the HTTP API: the pass case, and each rejection with its
status and rule code, leaving the ledger exactly as it was."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import run_cli
from tests.ledger.conftest import make_uscc, projection_snapshot
from tests.web.test_api import add_enterprise, bearer, size
from web.db import get_session

SUPPLIER = make_uscc(900)
DRINK = "06901234567892"    # category 08, beverages (additives regulated)
SYRUP = "06901234567908"    # an input material, not registered on the ledger
SEAT = "06901234567915"     # category 62, children's car seats


class Producer:
    def __init__(self, client: FlaskClient, uscc: str, token: str) -> None:
        self.client, self.uscc, self.token = client, uscc, token

    def post(self, type_: str, event_time: str = "2026-11-26T08:00:00+08:00",
             **payload: Any) -> Any:
        return self.client.post("/api/v1/events", headers=bearer(self.token), json={
            "type": type_, "event_time": event_time, "payload": payload})

    def ok(self, type_: str, **payload: Any) -> dict[str, Any]:
        response = self.post(type_, **payload)
        assert response.status_code == 201, response.get_json()
        entry: dict[str, Any] = response.get_json()[0]
        return entry

    def rejected(self, rule: str, field: str, type_: str, **payload: Any) -> dict[str, Any]:
        before = size(self.client)
        response = self.post(type_, **payload)
        assert response.status_code == 422, response.get_json()
        error: dict[str, Any] = response.get_json()["error"]
        assert error["code"] == f"rule.{rule}", error
        assert error["field"] == field
        assert error["message"] and error["message_zh"]
        assert size(self.client) == before
        return error

    # -- record builders with sensible defaults --

    def product(self, gtin: str = DRINK, category: str = "08",
                standard: str = "GB 7101-2022") -> dict[str, Any]:
        return {"gtin": gtin, "name": "橙汁饮料", "category": category, "standard": standard,
                "spec": "500mL"}

    def intake(self, lot: str = "RM1", accepted: bool = True, quantity: str = "1000",
               gtin: str = SYRUP) -> dict[str, Any]:
        return {"gtin": gtin, "lot": lot, "material": "浓缩橙汁", "supplier": SUPPLIER,
                "quantity": quantity, "unit": "kg", "received_at": "2026-11-26T07:00:00+08:00",
                "accepted": accepted}

    def production(self, lot: str = "P1", inputs: list[dict[str, Any]] | None = None,
                   additives: list[str] | None = None, quantity: str = "2000",
                   gtin: str = DRINK) -> dict[str, Any]:
        return {"gtin": gtin, "lot": lot, "quantity": quantity, "unit": "pcs",
                "produced_at": "2026-11-26T10:00:00+08:00",
                "inputs": inputs if inputs is not None else [
                    {"gtin": SYRUP, "lot": "RM1", "quantity": "400", "unit": "kg"}],
                "additives_used": additives or []}

    def inspection(self, lot: str = "P1", verdict: str = "pass", item_pass: bool = True,
                   gtin: str = DRINK, standard: str = "GB 7101-2022") -> dict[str, Any]:
        return {"gtin": gtin, "lot": lot, "kind": "self", "lab": "厂内化验室",
                "standard": standard, "verdict": verdict, "report_no": f"R-{lot}-{verdict}",
                "inspected_at": "2026-11-26T11:00:00+08:00",
                "items": [{"name": "菌落总数", "value": "50", "limit": "≤100", "unit": "CFU/mL",
                           "pass": item_pass}]}

    def movement(self, counterparty: str, lot: str = "P1", quantity: str = "500",
                 document_no: str = "DN-1", gtin: str = DRINK) -> dict[str, Any]:
        return {"gtin": gtin, "lot": lot, "quantity": quantity, "unit": "pcs",
                "counterparty": counterparty, "document_no": document_no}



@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The rules and permissions are checked on SQLite and on PostgreSQL alike."""
    return app.test_client()

@pytest.fixture
def maker(app: Flask, client: FlaskClient) -> Producer:
    uscc, token = add_enterprise(app, 101)
    producer = Producer(client, uscc, token)
    producer.ok("product_registered", **producer.product())
    producer.ok("material_intake", **producer.intake())
    return producer


@pytest.fixture
def shop(app: Flask, client: FlaskClient) -> Producer:
    uscc, token = add_enterprise(app, 102)
    return Producer(client, uscc, token)


def test_product_rules(maker: Producer, shop: Producer) -> None:
    maker.rejected("product.duplicate", "payload.gtin", "product_registered", **maker.product())
    shop.rejected("product.not_owner", "payload.gtin", "additive_filing", gtin=DRINK,
                  additive="山梨酸钾", ins="202", function="防腐剂", level="0.3", unit="g/kg")


def test_standard_warnings_are_stored_and_returned(maker: Producer) -> None:
    withdrawn = maker.ok("product_registered", **maker.product(
        gtin="06901234567922", standard="GB 2760-2014"))
    (warning,) = withdrawn["notices"]
    assert warning["code"] == "rule.standard.withdrawn"
    assert warning["level"] == "warning"
    assert "GB 2760-2024" in warning["message_en"] and "GB 2760-2024" in warning["message_zh"]
    upcoming = maker.ok("product_registered", **maker.product(
        gtin="06901234567939", standard="GB 7718-2025"))
    (notice,) = upcoming["notices"]
    assert notice["code"] == "rule.standard.not_yet_effective"
    assert notice["level"] == "notice"
    assert maker.ok("product_registered", **maker.product(gtin="06901234567946"))[
        "notices"] == []


def test_additive_filing_rules(maker: Producer) -> None:
    filing = {"gtin": DRINK, "additive": "山梨酸钾", "ins": "202", "function": "防腐剂",
              "unit": "g/kg"}
    maker.ok("additive_filing", **filing, level="0.3")
    maker.rejected("additive.over_limit", "payload.level", "additive_filing",
                   **{**filing, "level": "0.6"})
    maker.rejected("additive.not_permitted", "payload.additive", "additive_filing",
                   **{**filing, "additive": "糖精钠", "ins": "954", "level": "0.1"})


def test_food_production_needs_a_filing_for_every_additive(maker: Producer) -> None:
    maker.rejected("additive.not_filed", "payload.additives_used[0]", "production",
                   **maker.production(additives=["山梨酸钾"]))
    maker.ok("additive_filing", gtin=DRINK, additive="山梨酸钾", ins="202", function="防腐剂",
             level="0.3", unit="g/kg")
    maker.ok("production", **maker.production(additives=["山梨酸钾"]))


def test_unqualified_product_does_not_leave(maker: Producer, shop: Producer) -> None:
    maker.ok("production", **maker.production())
    shipment = maker.movement(shop.uscc) | {"shipped_at": "2026-11-26T14:00:00+08:00"}
    maker.rejected("shipment.not_inspected", "payload.lot", "shipment", **shipment)
    maker.ok("inspection", **maker.inspection(verdict="fail", item_pass=False))
    maker.rejected("shipment.failed_inspection", "payload.lot", "shipment", **shipment)
    maker.ok("inspection", **maker.inspection(verdict="pass"))
    maker.ok("shipment", **shipment)


def test_inspection_verdict_must_follow_its_items(maker: Producer) -> None:
    maker.ok("production", **maker.production())
    maker.rejected("inspection.verdict_mismatch", "payload.items[0].pass", "inspection",
                   **maker.inspection(verdict="pass", item_pass=False))
    maker.rejected("lot.unknown", "payload.lot", "inspection", **maker.inspection(lot="NOPE"))


def test_unqualified_material_does_not_enter(maker: Producer) -> None:
    maker.ok("material_intake", **maker.intake(lot="RM2", accepted=False))
    maker.rejected("material.rejected", "payload.inputs[0].lot", "production",
                   **maker.production(inputs=[{"gtin": SYRUP, "lot": "RM2", "quantity": "10",
                                               "unit": "kg"}]))
    maker.ok("inspection", **maker.inspection(lot="RM1", gtin=SYRUP, verdict="fail",
                                              item_pass=False))
    maker.rejected("material.failed_inspection", "payload.inputs[0].lot", "production",
                   **maker.production())


def test_quantities_cannot_exceed_stock(maker: Producer, shop: Producer) -> None:
    maker.rejected("stock.insufficient", "payload.inputs[0].quantity", "production",
                   **maker.production(inputs=[{"gtin": SYRUP, "lot": "RM1", "quantity": "1.5",
                                               "unit": "t"}]))
    # 1000 kg received, 400 kg consumed: 600 000 g remain, and units convert.
    maker.ok("production", **maker.production())
    maker.ok("production", **maker.production(lot="P2", inputs=[
        {"gtin": SYRUP, "lot": "RM1", "quantity": "600000", "unit": "g"}]))
    maker.rejected("stock.insufficient", "payload.inputs[0].quantity", "production",
                   **maker.production(lot="P3", inputs=[
                       {"gtin": SYRUP, "lot": "RM1", "quantity": "1", "unit": "g"}]))
    maker.ok("inspection", **maker.inspection())
    shipment = maker.movement(shop.uscc, quantity="2001") | {
        "shipped_at": "2026-11-26T14:00:00+08:00"}
    maker.rejected("stock.insufficient", "payload.quantity", "shipment", **shipment)
    maker.rejected("lot.duplicate", "payload.lot", "production", **maker.production())


def test_receipt_must_match_a_shipment(maker: Producer, shop: Producer) -> None:
    maker.ok("production", **maker.production())
    maker.ok("inspection", **maker.inspection())
    receipt = maker.movement(maker.uscc, quantity="300") | {
        "received_at": "2026-11-26T18:00:00+08:00"}
    shop.rejected("receipt.no_shipment", "payload.counterparty", "receipt", **receipt)
    maker.ok("shipment", **maker.movement(shop.uscc) | {
        "shipped_at": "2026-11-26T14:00:00+08:00"})
    shop.ok("receipt", **receipt)
    shop.rejected("receipt.exceeds_shipment", "payload.quantity", "receipt",
                  **receipt | {"quantity": "201"})
    shop.ok("receipt", **receipt | {"quantity": "200"})
    shop.ok("shipment", **shop.movement(make_uscc(103), quantity="500", document_no="DN-2")
            | {"shipped_at": "2026-11-27T09:00:00+08:00"})


def test_non_food_products_have_no_additive_filings(maker: Producer) -> None:
    maker.ok("product_registered", **maker.product(gtin=SEAT, category="62",
                                                   standard="GB 27887-2024"))
    maker.rejected("additive.not_food", "payload.gtin", "additive_filing", gtin=SEAT,
                   additive="山梨酸钾", ins="202", function="防腐剂", level="0.3", unit="g/kg")


def test_corrections_replace_inspections(maker: Producer, shop: Producer) -> None:
    maker.ok("production", **maker.production())
    wrong = maker.ok("inspection", **maker.inspection(verdict="fail", item_pass=False))
    maker.ok("correction", seq=wrong["seq"], reason="录入错误",
             replacement=maker.inspection(verdict="pass"))
    maker.ok("shipment", **maker.movement(shop.uscc) | {
        "shipped_at": "2026-11-26T14:00:00+08:00"})
    maker.rejected("correction.superseded", "payload.seq", "correction", seq=wrong["seq"],
                   reason="again", replacement=maker.inspection(verdict="pass"))
    maker.rejected("correction.unknown", "payload.seq", "correction", seq=99999,
                   reason="none", replacement={})


def _stock(maker: Producer, gtin: str, lot: str, holder: str) -> str | None:
    lots = maker.client.get(f"/api/v1/lots?gtin={gtin}", headers=bearer(maker.token))
    (found,) = [item for item in lots.get_json()["items"] if item["lot"] == lot]
    held: str | None = found["stock"].get(holder)
    return held


def test_a_shipment_is_corrected_until_goods_are_received(maker: Producer,
                                                           shop: Producer) -> None:
    maker.ok("production", **maker.production())
    maker.ok("inspection", **maker.inspection())
    shipped_at = {"shipped_at": "2026-11-26T14:00:00+08:00"}
    shipment = maker.ok("shipment", **maker.movement(shop.uscc) | shipped_at)
    assert _stock(maker, DRINK, "P1", maker.uscc) == "1500"
    fixed = maker.ok("correction", seq=shipment["seq"], reason="数量录错",
                     replacement=maker.movement(shop.uscc, quantity="300") | shipped_at)
    assert _stock(maker, DRINK, "P1", maker.uscc) == "1700"
    receipt = maker.movement(maker.uscc, quantity="301") | {
        "received_at": "2026-11-26T18:00:00+08:00"}
    shop.rejected("receipt.exceeds_shipment", "payload.quantity", "receipt", **receipt)
    done = shop.ok("receipt", **receipt | {"quantity": "300"})
    maker.rejected("correction.already_received", "payload.seq", "correction",
                   seq=fixed["seq"], reason="again",
                   replacement=maker.movement(shop.uscc, quantity="200") | shipped_at)
    shop.rejected("correction.unsupported", "payload.seq", "correction", seq=done["seq"],
                  reason="qty", replacement=receipt)
    shop.rejected("correction.not_own", "payload.seq", "correction", seq=fixed["seq"],
                  reason="not mine",
                  replacement=maker.movement(shop.uscc, quantity="200") | shipped_at)


def test_an_intake_is_corrected_while_its_stock_is_untouched(maker: Producer) -> None:
    rejected = maker.ok("material_intake", **maker.intake(lot="RM2", accepted=False))
    maker.ok("correction", seq=rejected["seq"], reason="验收结论录错",
             replacement=maker.intake(lot="RM2", accepted=True, quantity="50"))
    assert _stock(maker, SYRUP, "RM2", maker.uscc) == "50"
    maker.ok("production", **maker.production(lot="P9", inputs=[
        {"gtin": SYRUP, "lot": "RM2", "quantity": "50", "unit": "kg"}]))
    # RM2 is used up now, so its intake can no longer be taken back.
    later = maker.client.get("/api/v1/events?type=correction", headers=bearer(maker.token))
    correction_seq = later.get_json()["items"][-1]["seq"]
    maker.rejected("stock.insufficient", "payload.seq", "correction", seq=correction_seq,
                   reason="again", replacement=maker.intake(lot="RM2", quantity="40"))


def test_a_replacement_is_validated_as_the_record_it_replaces(maker: Producer) -> None:
    intake = maker.ok("material_intake", **maker.intake(lot="RM3"))
    before = size(maker.client)
    response = maker.post("correction", seq=intake["seq"], reason="x",
                          replacement=maker.intake(lot="RM3") | {"gtin": "06901234567899"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "payload.replacement.gtin"
    assert size(maker.client) == before


def test_a_batch_is_checked_in_order_and_applied_whole(maker: Producer) -> None:
    events: list[dict[str, Any]] = [
        {"type": "production", "event_time": "2026-11-26T10:00:00+08:00",
         "payload": maker.production()},
        {"type": "inspection", "event_time": "2026-11-26T11:00:00+08:00",
         "payload": maker.inspection()},
        {"type": "shipment", "event_time": "2026-11-26T14:00:00+08:00",
         "payload": maker.movement(make_uscc(104), quantity="3000")
         | {"shipped_at": "2026-11-26T14:00:00+08:00"}},
    ]
    before = size(maker.client)
    response = maker.client.post("/api/v1/events", json=events, headers=bearer(maker.token))
    assert response.status_code == 422
    assert response.get_json()["error"]["item"] == 2
    assert size(maker.client) == before
    events[2]["payload"]["quantity"] = "2000"
    response = maker.client.post("/api/v1/events", json=events, headers=bearer(maker.token))
    assert response.status_code == 201
    assert size(maker.client) == before + 3


def test_shipments_never_received_are_listed_for_regulators(
        app: Flask, maker: Producer, shop: Producer) -> None:
    _, regulator = add_enterprise(app, 150, role="regulator")
    maker.ok("production", **maker.production())
    maker.ok("inspection", **maker.inspection())
    shipped = maker.ok("shipment", **maker.movement(shop.uscc) | {
        "shipped_at": "2026-11-26T14:00:00+08:00"})

    def unreceived(days: int) -> list[dict[str, Any]]:
        response = maker.client.get(f"/api/v1/shipments/unreceived?days={days}",
                                    headers=bearer(regulator))
        assert response.status_code == 200
        items: list[dict[str, Any]] = response.get_json()["items"]
        return items

    (listed,) = unreceived(0)
    assert (listed["seq"], listed["receiver"], listed["received"]) == (shipped["seq"],
                                                                       shop.uscc, "0")
    assert unreceived(3) == []  # shipped just now: not overdue yet
    shop.ok("receipt", **maker.movement(maker.uscc, quantity="200") | {
        "received_at": "2026-11-26T18:00:00+08:00"})
    (partly,) = unreceived(0)
    assert partly["received"] == "200"
    shop.ok("receipt", **maker.movement(maker.uscc, quantity="300") | {
        "received_at": "2026-11-26T19:00:00+08:00"})
    assert unreceived(0) == []


def test_rebuild_replays_corrections_to_the_same_projections(app: Flask, maker: Producer,
                                                              shop: Producer) -> None:
    test_a_shipment_is_corrected_until_goods_are_received(maker, shop)
    test_an_intake_is_corrected_while_its_stock_is_untouched(maker)
    with app.app_context():
        live = projection_snapshot(get_session())
    result = run_cli(app, "rebuild")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert projection_snapshot(get_session()) == live
