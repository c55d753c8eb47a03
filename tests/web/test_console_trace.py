"""The console's trace page through the Flask test client: the search, the nested tables of
each direction, who sees what, and refusals shown in the form in both languages."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.trace import Holding, Node, Step, Trace, TraceStart
from tests.conftest import make_app
from tests.web.test_api import add_enterprise
from tests.web.test_console import PASSWORD, add_user, csrf_token, pass_second_factor
from tests.web.test_rules import DRINK, SUPPLIER, SYRUP, Producer
from web.console.trace import tree_rows

SHIPPED = "2026-11-26T14:00:00+08:00"
RECEIVED = "2026-11-26T18:00:00+08:00"


@dataclass
class Network:
    """maker -> wholesaler -> shop, from a syrup lot taken in from a supplier off the ledger;
    a regulator and a stranger; a console user for each (named after its role)."""

    maker: Producer
    wholesaler: Producer
    shop: Producer
    regulator: str
    stranger: str


def ship(sender: Producer, receiver: Producer, quantity: str, document_no: str) -> None:
    sender.ok("shipment", **sender.movement(receiver.uscc, quantity=quantity,
                                            document_no=document_no) | {"shipped_at": SHIPPED})
    receiver.ok("receipt", **receiver.movement(sender.uscc, quantity=quantity,
                                               document_no=document_no)
                | {"received_at": RECEIVED})


def build_network(app: Flask, client: FlaskClient) -> Network:
    parties = {}
    for serial, name, role in [(101, "maker", "producer"), (102, "wholesaler", "producer"),
                               (103, "shop", "producer"), (104, "regulator", "regulator"),
                               (105, "stranger", "producer")]:
        uscc, token = add_enterprise(app, serial, role)
        add_user(app, uscc, name, role)
        parties[name] = Producer(client, uscc, token)
    maker, wholesaler, shop = parties["maker"], parties["wholesaler"], parties["shop"]
    maker.ok("product_registered", **maker.product())
    maker.ok("material_intake", **maker.intake())
    maker.ok("production", **maker.production())
    maker.ok("inspection", **maker.inspection())
    ship(maker, wholesaler, "500", "DN-1")
    ship(wholesaler, shop, "200", "DN-2")
    maker.ok("serialization", gtin=DRINK, lot="P1", serials=["000001", "000002"])
    maker.ok("aggregation", parent="(00)069012340000000017",
             children=[f"(01){DRINK}(21)000001", f"(01){DRINK}(21)000002"])
    return Network(maker, wholesaler, shop, parties["regulator"].uscc, parties["stranger"].uscc)


@pytest.fixture(scope="module")
def trace_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app and network for the module: tracing reads, it never appends."""
    instance = tmp_path_factory.mktemp("trace")
    app = make_app(f"sqlite:///{instance / 'tracenet.db'}", instance)
    yield app
    app.extensions["tracenet.runtime"].close()


@pytest.fixture(scope="module")
def network(trace_app: Flask) -> Network:
    return build_network(trace_app, trace_app.test_client())


@pytest.fixture
def client(trace_app: Flask) -> FlaskClient:
    return trace_app.test_client()


def login(client: FlaskClient, username: str, lang: str = "zh_CN") -> None:
    client.post("/console/logout", data={"csrf_token": csrf_token(client)})
    client.get(f"/console/lang/{lang}")
    response = client.post("/console/login", data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.text
    pass_second_factor(client, response)  # the regulator's TOTP


def section(html: str, direction: str) -> str:
    match = re.search(rf'<section class="card trace-result" id="{direction}">(.*?)</section>',
                      html, re.S)
    assert match, f"no {direction} section"
    return match[1]


def tree(html: str, direction: str) -> list[tuple[int, str, str, bool]]:
    """(level, holder, lot, repeat) of each row of a direction's tree."""
    rows = re.findall(r'<tr class="level-(\d+) ([^"]*)"[^>]*data-holder="([^"]+)" '
                      r'data-lot="([^"]+)"', section(html, direction))
    return [(int(level), holder, lot, "repeat" in classes)
            for level, classes, holder, lot in rows]


def trace(client: FlaskClient, **query: str) -> Any:
    return client.get("/console/trace", query_string=query)


def test_the_trace_page_needs_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/console/trace?gtin=06901234567892&lot=P1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=")


def test_the_nav_and_the_dashboard_lead_to_the_trace(network: Network,
                                                    client: FlaskClient) -> None:
    login(client, "maker")
    page = client.get("/console/").text
    assert 'href="/console/trace"' in page and "溯源查询" in page
    assert f'href="/console/trace?gtin={DRINK}&amp;lot=P1"' in page
    empty = client.get("/console/trace")
    assert empty.status_code == 200
    assert 'id="downstream"' not in empty.text


def test_a_regulator_sees_the_whole_chain_both_ways(network: Network,
                                                    client: FlaskClient) -> None:
    login(client, "regulator")
    response = trace(client, gtin=DRINK, lot="P1")
    assert response.status_code == 200
    html = response.text
    maker, wholesaler, shop = network.maker.uscc, network.wholesaler.uscc, network.shop.uscc
    assert tree(html, "downstream") == [(0, maker, "P1", False), (1, wholesaler, "P1", False),
                                        (2, shop, "P1", False)]
    down = section(html, "downstream")
    # quantities with units, holders by name, the linking entries by seq, the end of the chain
    assert "企业101" in down and "企业102" in down and "企业103" in down
    assert "2,000 件" in down and "500 件" in down and "300 件" in down and "200 件" in down
    assert re.search(r"发货</span> <span class=\"seq\">seq \d+</span>", down)
    assert "已收 200 件" in down and "终端商品" in down
    assert "结果已截断" not in down
    # upstream: the shop's pack came from the wholesaler, who had it from the maker, who made
    # it from syrup taken in from a supplier off the ledger
    up_rows = tree(html, "upstream")
    assert up_rows[:4] == [(0, shop, "P1", False), (1, wholesaler, "P1", False),
                           (2, maker, "P1", False), (3, maker, "RM1", False)]
    assert up_rows[4] == (4, SUPPLIER, "RM1", False)
    up = section(html, "upstream")
    assert "生产投料" in up and "400 千克" in up and "原辅料进厂" in up
    assert "未入网的供应商" in up and "源头" in up
    assert SYRUP in up


def test_a_producer_sees_downstream_as_far_as_its_direct_customers(network: Network,
                                                                   client: FlaskClient) -> None:
    login(client, "maker")
    html = trace(client, gtin=DRINK, lot="P1").text
    assert [row[1] for row in tree(html, "downstream")] == [network.maker.uscc,
                                                            network.wholesaler.uscc]
    down = section(html, "downstream")
    assert "企业103" not in down
    assert "企业只能看到直接客户为止" in down
    # the customer's own stock is not the maker's to see; what it was sent is
    wholesaler_row = re.search(rf'data-holder="{network.wholesaler.uscc}".*?</tr>', down,
                               re.S)
    assert wholesaler_row and "500 件" in wholesaler_row[0]
    assert "300 件" not in wholesaler_row[0]
    # upstream of its own lot: the whole way
    assert [row[2] for row in tree(html, "upstream")] == ["P1", "RM1", "RM1"]


def test_a_holder_sees_upstream_of_what_it_holds(network: Network, client: FlaskClient) -> None:
    login(client, "shop")
    html = trace(client, gtin=DRINK, lot="P1").text
    assert [row[1] for row in tree(html, "upstream")][:3] == [
        network.shop.uscc, network.wholesaler.uscc, network.maker.uscc]
    assert [row[1] for row in tree(html, "downstream")] == [network.shop.uscc]


def test_a_stranger_is_refused_in_the_form(network: Network, client: FlaskClient) -> None:
    login(client, "stranger")
    response = trace(client, gtin=DRINK, lot="P1")
    assert response.status_code == 403
    assert "只能查询本企业生产或持有的批次" in response.text
    assert 'id="downstream"' not in response.text
    assert f'value="{DRINK}"' in response.text  # the search stays in the form
    login(client, "stranger", lang="en")
    assert "You can trace only lots your enterprise made or holds" in trace(
        client, gtin=DRINK, lot="P1").text


@pytest.mark.parametrize(("query", "status", "field", "zh", "en"), [
    ({"gtin": DRINK, "lot": "NOPE"}, 404, "lot", "账本中没有批次 06901234567892 / NOPE",
     "Lot 06901234567892 / NOPE is not on the ledger"),
    ({"gtin": "06901234567893", "lot": "P1"}, 422, "gtin",
     "GTIN check digit should be 2, got 3", "GTIN check digit should be 2, got 3"),
    ({"gtin": DRINK}, 422, "lot", "此项必填", "Missing data for required field."),
    ({"code": "(01)06901234567892(21)999"}, 404, "code",
     "账本中没有码 (01)06901234567892(21)999", "Code (01)06901234567892(21)999 is not on"),
    ({"gtin": DRINK, "lot": "P1", "as_of": "yesterday"}, 422, "as_of",
     "“截至”应为账本规模", "“As of” is a ledger size"),
    ({"gtin": DRINK, "lot": "P1", "as_of": "999999"}, 404, "as_of",
     "“截至”应为账本规模", "“As of” is a ledger size"),
])
def test_a_bad_search_is_shown_next_to_its_field(network: Network, client: FlaskClient,
                                                 query: dict[str, str], status: int,
                                                 field: str, zh: str, en: str) -> None:
    for lang, message in (("zh_CN", zh), ("en", en)):
        login(client, "regulator", lang)
        response = trace(client, **query)
        assert response.status_code == status, response.text
        label = re.search(r'<label class="field invalid">.*?</label>', response.text, re.S)
        assert label and f'name="{field}"' in label[0], response.text
        assert message in label[0]


def test_a_unit_code_traces_its_lot(network: Network, client: FlaskClient) -> None:
    login(client, "regulator", "en")
    html = trace(client, code=f"(01){DRINK}(21)000001").text
    down = section(html, "downstream")
    assert "(00)069012340000000017" in down  # the case it is packed in
    assert "2 unit code(s), 1 case(s) or pallet(s)" in down
    assert [row[1] for row in tree(html, "downstream")][0] == network.maker.uscc


def test_as_of_answers_as_the_ledger_stood(network: Network, client: FlaskClient) -> None:
    login(client, "regulator", "en")
    now = trace(client, gtin=DRINK, lot="P1").text
    size = int(re.search(r"ledger size (\d+)", now)[1])  # type: ignore[index]
    # six entries back (two shipments and receipts, serialisation, aggregation): before the
    # maker shipped to the wholesaler
    before = trace(client, gtin=DRINK, lot="P1", as_of=str(size - 6)).text
    assert [row[1] for row in tree(before, "downstream")] == [network.maker.uscc]
    assert f"ledger size {size - 6}" in before


# --- the tree, on hand-made traces -------------------------------------------------------------


def _holding(node: Node, depth: int) -> Holding:
    return Holding(node.holder, None, node.gtin, node.lot, "pcs", depth, "0", "0", None, "0",
                   "0", "0", False)


def _step(source: Node, target: Node, seq: int, depth: int, kind: str = "shipment") -> Step:
    return Step(kind, source, target, "1", "1", "pcs", (seq,), (), depth)


def _trace(direction: str, depths: dict[Node, int], steps: list[Step]) -> Trace:
    holdings = tuple(_holding(node, depth) for node, depth in depths.items())
    values: dict[str, Any] = {
        "direction": direction, "start": TraceStart.of_lot("g", "l"), "viewer": None,
        "size": 10, "depth_limit": 32, "limit": 2000, "lots": (), "holdings": holdings,
        "steps": tuple(steps), "units": (), "aggregates": (), "start_unit": (),
        "truncated": False, "truncation": ()}
    # by name, so a field the tree does not read may come or go
    return Trace(**{field.name: values[field.name] for field in dataclasses.fields(Trace)})


def test_a_diamond_shows_each_link_once_and_no_subtree_twice() -> None:
    a, b, c, d, e = (Node(name, "g", "l") for name in "ABCDE")
    steps = [_step(a, b, 1, 1), _step(a, c, 2, 1), _step(b, d, 3, 2), _step(c, d, 4, 2),
             _step(d, e, 5, 3)]
    rows = tree_rows(_trace("downstream", {a: 0, b: 1, c: 1, d: 2, e: 3}, steps))
    assert [(r.holding.holder, r.level, r.repeat, r.step.seqs if r.step else None)
            for r in rows] == [("A", 0, False, None), ("B", 1, False, (1,)),
                               ("D", 2, False, (3,)), ("E", 3, False, (5,)),
                               ("C", 1, False, (2,)), ("D", 2, True, (4,))]
    assert rows[5].anchor == rows[2].anchor


def test_a_return_cycle_ends_and_opens_at_the_origin() -> None:
    a, b = Node("A", "g", "l"), Node("B", "g", "l")
    # A ships to B, B returns to A: both hold the lot (depth 0), neither without a parent
    steps = [_step(a, b, 1, 1), _step(b, a, 2, 1)]
    rows = tree_rows(_trace("downstream", {a: 0, b: 0}, steps))
    assert [(r.holding.holder, r.level, r.repeat) for r in rows] == [
        ("A", 0, False), ("B", 1, False), ("A", 2, True)]


def test_upstream_opens_at_the_last_holder() -> None:
    maker, shop, flour = Node("M", "g", "l"), Node("S", "g", "l"), Node("M", "f", "1")
    steps = [_step(maker, shop, 2, 1), _step(flour, maker, 1, 1, "production")]
    rows = tree_rows(_trace("upstream", {maker: 0, shop: 0, flour: 1}, steps))
    assert [(r.holding.holder, r.holding.gtin, r.level) for r in rows] == [
        ("S", "g", 0), ("M", "g", 1), ("M", "f", 2)]
