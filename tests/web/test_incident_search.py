"""ledger.trace.search on SQLite and PostgreSQL: what each kind of text finds, the order a
bureau works in, LIKE's wildcards taken literally, a district's narrowing, and unit codes."""

from __future__ import annotations

import pytest
from flask import Flask

from ledger.supervision.context import unit_code
from ledger.trace import LotKey
from ledger.trace.search import LOT, PRODUCT, find_lots, lots_by_keys, unit_lots
from tests.web.test_console_trace import build_network
from tests.web.test_rules import DRINK, SUPPLIER, SYRUP
from web.db import get_session

PALLET = "(00)069012340000000017"


@pytest.fixture
def network_app(app: Flask) -> Flask:
    network = build_network(app, app.test_client())
    maker = network.maker
    # a second lot of the drink, which fails its inspection
    maker.ok("material_intake", **maker.intake(lot="RM2"))
    maker.ok("production", **maker.production(lot="P2", inputs=[
        {"gtin": SYRUP, "lot": "RM2", "quantity": "400", "unit": "kg"}]))
    maker.ok("inspection", **maker.inspection(lot="P2", verdict="fail", item_pass=False))
    app.config["NETWORK"] = network
    return app


def test_what_each_kind_of_text_finds(network_app: Flask) -> None:
    network = network_app.config["NETWORK"]
    with network_app.app_context():
        session = get_session()
        by_name = find_lots(session, "橙汁")
        assert [(lot.lot, lot.inspection, lot.matched) for lot in by_name.lots] == [
            ("P2", "fail", PRODUCT), ("P1", "pass", PRODUCT)]
        assert by_name.lots[0].origin == network.maker.uscc and by_name.lots[0].origin_name
        by_gtin = find_lots(session, DRINK[1:])  # a GTIN-13 as printed
        assert {lot.lot for lot in by_gtin.lots} == {"P1", "P2"}
        by_code = find_lots(session, "rm")  # the start of a lot code, any case
        assert {(lot.lot, lot.matched) for lot in by_code.lots} == {("RM1", LOT), ("RM2", LOT)}
        assert all(lot.origin == SUPPLIER and lot.origin_name is None and lot.product is None
                   for lot in by_code.lots)
        maker = find_lots(session, network.maker.uscc.lower())
        assert {lot.lot for lot in maker.lots} == {"P1", "P2", "RM1", "RM2"}  # made or held
        shop = find_lots(session, network.shop.uscc)
        assert [(lot.lot, lot.matched) for lot in shop.lots] == [("P1", "enterprise")]
        assert find_lots(session, "橙汁", limit=1).truncated
        for text in ("%", "_", "R_1", "P%", "\x00", " ", "'; DROP TABLE lots; --"):
            assert find_lots(session, text).total == 0, text
        assert find_lots(session, "橙汁\x00").total == 2  # control characters are dropped


def test_a_district_sees_lots_its_enterprises_made_or_hold(network_app: Flask) -> None:
    network = network_app.config["NETWORK"]
    with network_app.app_context():
        session = get_session()
        shop = find_lots(session, "橙汁", visible={network.shop.uscc})
        assert [lot.lot for lot in shop.lots] == ["P1"]  # shipped there; P2 never was
        assert find_lots(session, "RM", visible={network.shop.uscc}).total == 0
        assert find_lots(session, "橙汁", visible=set()).total == 0
        keys = [LotKey(DRINK, "P1"), LotKey(DRINK, "P2"), LotKey(DRINK, "NONE")]
        assert [lot.lot for lot in lots_by_keys(session, keys).lots] == ["P2", "P1"]


def test_unit_codes(network_app: Flask) -> None:
    with network_app.app_context():
        session = get_session()
        assert unit_lots(session, unit_code(DRINK, "000001")) == {LotKey(DRINK, "P1")}
        assert unit_lots(session, PALLET) == {LotKey(DRINK, "P1")}
        assert unit_lots(session, unit_code(DRINK, "999999")) is None
        assert unit_lots(session, "0" * 20) is None
