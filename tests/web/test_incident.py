"""The regulator's incident view through the Flask test client, on the demo network: the
search by lot, product, enterprise and unit code, the lot's page with its graph data beside
the tables, who may use it, refusals, and the open recalls with their deadlines."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger.demo.network import DEMO_PASSWORD
from ledger.log.storage import EnterpriseRow
from ledger.supervision.models import LotRow, ProductRow, UnitRow
from ledger.trace import TraceStart, trace_downstream, trace_upstream
from ledger.trace.search import find_lots, lots_by_keys, unit_lots
from tests.conftest import demo_app_in, run_cli
from tests.web.conftest import served
from tests.web.test_console import csrf_token, pass_second_factor
from tests.web.test_console_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    no_sideways_scroll,
    sign_in,
)
from web.console.incident import graph_data, search
from web.db import get_session
from web.settings import NAMES

#: the demo's melamine lot (ledger/demo/network.py)
RAW_MILK, RAW_LOT = "06941203000012", "SR20261102"


@pytest.fixture(scope="module")
def demo() -> Iterator[Flask]:
    yield from demo_app_in("incident-")


def signed_in(app: Flask, username: str, lang: str = "zh_CN") -> FlaskClient:
    client = app.test_client()
    client.get(f"/console/lang/{lang}")
    response = client.post("/console/login", data={
        "username": username, "password": DEMO_PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.text
    pass_second_factor(client, response)
    return client


@pytest.fixture(scope="module")
def regulator(demo: Flask) -> FlaskClient:
    return signed_in(demo, "regulator")


def found_rows(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr class="[^"]*" data-gtin="(\d{14})" data-lot="([^"]+)">', page)


def test_a_product_name_lists_its_lots_with_the_failed_one_first(regulator: FlaskClient
                                                                   ) -> None:
    page = regulator.get("/console/incident", query_string={"q": "生乳"})
    assert page.status_code == 200
    rows = found_rows(page.text)
    assert rows[0] == (RAW_MILK, RAW_LOT)
    assert len(rows) == 50  # a page; the count says how many in all
    total = int(re.search(r"找到 (\d+) 个批次", page.text)[1])  # type: ignore[index]
    assert total > 50
    assert "仅列出前 50 个" in page.text
    first = page.text.split(f'data-lot="{RAW_LOT}"')[1].split("</tr>")[0]
    assert "不合格" in first and "召回中" in first and "产品" in first


def test_a_lot_code_lists_every_lot_with_it_the_failed_one_first(regulator: FlaskClient
                                                                    ) -> None:
    for query in (RAW_LOT, RAW_LOT.lower(), RAW_LOT[:-1]):
        rows = found_rows(regulator.get("/console/incident", query_string={"q": query}).text)
        assert rows[0] == (RAW_MILK, RAW_LOT)
        # four ranches date their lots alike; a shorter code is the start of more
        assert len(rows) == 4 if query != RAW_LOT[:-1] else len(rows) > 4
        assert all(lot.lower().startswith(query.lower()) for _gtin, lot in rows)


@pytest.mark.parametrize("query", [f"{RAW_MILK} / {RAW_LOT}",
                                   f"{RAW_MILK[1:]} {RAW_LOT}", f"(01){RAW_MILK}(10){RAW_LOT}",
                                   f"https://id.gs1.org/01/{RAW_MILK}/10/{RAW_LOT}"])
def test_one_lot_found_opens_it(regulator: FlaskClient, query: str) -> None:
    response = regulator.get("/console/incident", query_string={"q": query})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(
        f"/console/incident/lot?gtin={RAW_MILK}&lot={RAW_LOT}")


def test_an_enterprise_by_name_or_uscc_lists_the_lots_it_made(demo: Flask,
                                                                regulator: FlaskClient) -> None:
    with demo.app_context():
        session = get_session()
        ranch = session.scalars(select(EnterpriseRow).where(
            EnterpriseRow.name.contains("汀江源"))).one()
        made = session.scalars(select(LotRow).where(LotRow.origin == ranch.uscc)).all()
    for query in ("汀江源", ranch.uscc, ranch.uscc.lower()):
        page = regulator.get("/console/incident", query_string={"q": query}).text
        assert f"找到 {len(made)} 个批次" in page
        assert found_rows(page)[0] == (RAW_MILK, RAW_LOT)
        assert "企业" in page.split(f'data-lot="{RAW_LOT}"')[1].split("</tr>")[0]


def test_a_shop_by_name_lists_the_lots_it_holds(demo: Flask, regulator: FlaskClient) -> None:
    from ledger.supervision.models import StockRow

    with demo.app_context():
        session = get_session()
        shop = session.scalars(select(EnterpriseRow).where(
            EnterpriseRow.name.contains("三坊七巷"))).one()
        held = {(row.gtin, row.lot) for row in session.scalars(
            select(StockRow).where(StockRow.enterprise == shop.uscc))}
    page = regulator.get("/console/incident", query_string={"q": "三坊七巷"}).text
    rows = found_rows(page)
    assert rows and set(rows) <= held
    assert f"找到 {len(held)} 个批次" in page or len(held) > 50


def test_a_unit_code_finds_its_lot(demo: Flask, regulator: FlaskClient) -> None:
    with demo.app_context():
        session = get_session()
        unit = session.scalars(select(UnitRow).where(
            UnitRow.supervision_code.is_not(None)).limit(1)).one()
        pallet = session.scalars(select(UnitRow).where(UnitRow.code.startswith("(00)"))
                                 .limit(1)).one()
        inside = unit_lots(session, pallet.code)
    assert unit.gtin and unit.lot and unit.supervision_code
    for query in (unit.code, unit.supervision_code, unit.code.replace("(01)", "01", 1)
                  .replace("(21)", "21")):
        response = regulator.get("/console/incident", query_string={"q": query})
        assert response.status_code == 302, query
        location = unescape(response.headers["Location"])
        assert f"gtin={unit.gtin}&lot={unit.lot}" in location
        page = regulator.get(location).text
        assert "按单品码" in page
    # an SSCC pallet: the lots packed in it
    assert inside
    page = regulator.get("/console/incident", query_string={"q": pallet.code})
    if len(inside) == 1:
        assert page.status_code == 302
    else:
        assert {lot for _gtin, lot in found_rows(page.text)} == {key.lot for key in inside}


def test_nothing_found_and_words_that_look_like_sql(regulator: FlaskClient) -> None:
    for query in ("没有这种产品", "%", "_", "' OR 1=1 --", "(01)12345", "x" * 500):
        page = regulator.get("/console/incident", query_string={"q": query})
        assert page.status_code == 200, query
        assert "没有找到匹配的批次" in page.text


def test_the_lot_page_draws_both_directions_beside_the_tables(demo: Flask,
                                                               regulator: FlaskClient) -> None:
    page = regulator.get("/console/incident/lot",
                         query_string={"gtin": RAW_MILK, "lot": RAW_LOT}).text
    graph = json.loads(unescape(re.search(r"data-graph='([^']*)'", page)[1]))  # type: ignore[index]
    with demo.app_context():
        session = get_session()
        start = TraceStart.of_lot(RAW_MILK, RAW_LOT)
        down = trace_downstream(session, start)
        up = trace_upstream(session, start)
    nodes = {node["data"]["id"]: node["data"] for node in graph["nodes"]}
    holdings = {f"{h.holder}|{h.gtin}|{h.lot}" for h in (*down.holdings, *up.holdings)}
    assert set(nodes) == holdings
    # the farm that made the lot at 0, then along the flow: the dairy that took it in, the
    # milk it made of it, the distributors, the shops
    ranch = next(h.holder for h in down.holdings if h.produced not in (None, "0")
                 and h.depth == 0)
    ranks = {n["rank"] for n in nodes.values() if n["holder"] == ranch}
    assert ranks == {0}
    assert {n["rank"] for n in nodes.values() if n["start"]} == {0, 1}
    assert max(n["rank"] for n in nodes.values()) == 4
    for edge in graph["edges"]:
        source, target = nodes[edge["data"]["source"]], nodes[edge["data"]["target"]]
        assert target["rank"] == source["rank"] + 1
    for edge in graph["edges"]:
        assert edge["data"]["source"] in nodes and edge["data"]["target"] in nodes
        assert edge["data"]["seqs"]
    made = next(n for n in nodes.values() if n["holder"] == ranch)
    assert made["inspection"] == "fail" and made["recalled"]
    # every holding of the graph is a row of the tables beside it
    rows = set(re.findall(r'data-node="([^"]+)"', page))
    assert rows == holdings
    # the facts and the failed item
    assert "三聚氰胺 3.8 mg/kg" in page and "监督抽检" in page
    assert 'id="recall-start"' in page and 'id="lot-recall"' in page
    assert "该批次已在召回中" in page


def test_graph_words_follow_the_language(demo: Flask) -> None:
    english = signed_in(demo, "regulator", "en")
    page = english.get("/console/incident/lot", query_string={"gtin": RAW_MILK, "lot": RAW_LOT})
    graph = json.loads(unescape(re.search(r"data-graph='([^']*)'", page.text)[1]))  # type: ignore[index]
    assert graph["words"]["held"] == "Held"
    assert any(edge["data"]["label"] == "Shipment" for edge in graph["edges"])
    assert "Trace graph" in page.text and "Open recalls" in page.text


def test_open_recalls_show_their_deadlines(regulator: FlaskClient) -> None:
    page = regulator.get("/console/incident").text
    item = page.split('id="open-recalls"')[1]
    assert "一级召回" in item and "完成期限" in item and "启动期限" in item
    # the demo's recall has holders that never reported, past the deadline
    assert "已超期" in item or "剩余" in item
    assert re.search(r'data-recall="\d+"', item)


def test_only_regulators_and_admins_see_it(demo: Flask) -> None:
    dairy = signed_in(demo, "dairy")
    assert dairy.get("/console/incident").status_code == 403
    assert dairy.get("/console/incident/lot",
                     query_string={"gtin": RAW_MILK, "lot": RAW_LOT}).status_code == 403
    assert 'id="nav-incident"' not in dairy.get("/console/").text
    anonymous = demo.test_client()
    assert anonymous.get("/console/incident").status_code == 302


def test_a_district_bureau_finds_only_lots_its_district_made_or_holds(demo: Flask) -> None:
    from ledger.accounts.users import create_user
    from ledger.demo.network import DEMO_PASSWORD as password

    with demo.app_context():
        session = get_session()
        bureau = session.scalars(select(EnterpriseRow).where(
            EnterpriseRow.roles.contains("regulator"))).first()
        assert bureau is not None
        create_user(session, username="xiamen", password=password, enterprise=bureau.uscc,
                    role="regulator", district="厦门市")
        session.commit()
        xiamen = set(session.scalars(select(EnterpriseRow.uscc).where(
            EnterpriseRow.district.startswith("厦门市"))))
    client = signed_in(demo, "xiamen")
    # no raw milk is made or held in Xiamen: the melamine lot is not its to open
    assert "没有找到匹配的批次" in client.get("/console/incident", query_string={"q": "生乳"}).text
    assert client.get("/console/incident/lot", query_string={
        "gtin": RAW_MILK, "lot": RAW_LOT}).status_code == 403
    # the milk made of it reached Xiamen's shops: those lots are found, and traced from there
    page = client.get("/console/incident", query_string={"q": "20261102F1"})
    assert page.status_code == 302
    lot_page = client.get(unescape(page.headers["Location"])).text
    graph = json.loads(unescape(re.search(r"data-graph='([^']*)'", lot_page)[1]))  # type: ignore[index]
    starts = {node["data"]["holder"] for node in graph["nodes"] if node["data"]["start"]}
    assert starts and starts <= xiamen
    # the demo's recall reached Xiamen's holders: it is among its open recalls
    assert re.search(r'data-recall="\d+"', lot_page.split('id="open-recalls"')[1])


@pytest.mark.parametrize(("query", "status"), [
    ({"gtin": RAW_MILK, "lot": "NO-SUCH-LOT"}, 404),
    ({"gtin": "06941203000013", "lot": RAW_LOT}, 422),  # a wrong check digit
    ({"gtin": RAW_MILK}, 422),
    ({}, 422),
    ({"gtin": RAW_MILK, "lot": "x" * 21}, 422),
])
def test_a_lot_that_cannot_be_read_or_is_not_there(regulator: FlaskClient,
                                                   query: dict[str, str], status: int) -> None:
    response = regulator.get("/console/incident/lot", query_string=query)
    assert response.status_code == status


def test_search_in_the_ledger_layer(demo: Flask) -> None:
    with demo.app_context():
        session = get_session()
        product = session.get(ProductRow, RAW_MILK)
        assert product is not None
        by_gtin = find_lots(session, RAW_MILK)
        assert by_gtin.lots[0].lot == RAW_LOT and by_gtin.lots[0].matched == "product"
        assert find_lots(session, "  ").total == 0
        ranch = by_gtin.lots[0].origin
        # a district bureau that oversees only the ranch sees its lots and no others
        everywhere = find_lots(session, "生乳", limit=1000)
        narrowed = find_lots(session, "生乳", visible={ranch}, limit=1000)
        assert 0 < narrowed.total == sum(lot.origin == ranch for lot in everywhere.lots)
        assert {lot.origin for lot in narrowed.lots} == {ranch}
        assert narrowed.lots[0].lot == RAW_LOT
        assert lots_by_keys(session, [], visible=None).total == 0
        text, code = search(session, RAW_LOT, visible=None)
        assert text.total == 4 and code is None


def _ids(graph: dict[str, Any]) -> set[str]:
    return {node["data"]["id"] for node in graph["nodes"]}


def test_graph_data_merges_the_start_of_both_traces(demo: Flask) -> None:
    with demo.test_request_context():
        session = get_session()
        start = TraceStart.of_lot(RAW_MILK, RAW_LOT)
        down, up = trace_downstream(session, start), trace_upstream(session, start)
        graph = graph_data(down, up)
    starts = [node["data"] for node in graph["nodes"] if node["data"]["start"]]
    assert starts and all(set(node["sides"]) == {"downstream", "upstream"} for node in starts)
    assert len(_ids(graph)) == len(graph["nodes"])


# --- in a real browser -----------------------------------------------------------------------

SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def server(demo: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn serving the module's demo ledger, with a regulator account of the demo's
    bureau that has not enrolled its second factor yet (the browser does)."""
    with demo.app_context():
        bureau = get_session().scalars(select(EnterpriseRow).where(
            EnterpriseRow.roles.contains("regulator"))).first()
    assert bureau is not None
    added = run_cli(demo, "user", "add", "--enterprise", bureau.uscc, "--username", "inspector",
                    "--password", DEMO_PASSWORD, "--role", "regulator")
    assert added.exit_code == 0, added.output
    env = {**os.environ, **{f"TRACENET_{name}": str(demo.config[name]) for name in NAMES
                            if demo.config.get(name) is not None},
           "TRACENET_INSTANCE": demo.instance_path}
    with served(env, tmp_path_factory.mktemp("incident-served")) as url:
        yield url


def _graph(page: Any) -> dict[str, Any]:
    """What Cytoscape drew: node and edge counts, visible nodes, and whether the canvas has
    anything painted on it."""
    return page.evaluate("""() => {
        const cy = window.incidentGraph;
        const canvases = [...document.querySelectorAll('#incident-graph canvas')];
        const painted = canvases.some(c => {
            if (!c.width || !c.height) return false;
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < data.length; i += 4 * 7) if (data[i]) return true;
            return false;
        });
        return {nodes: cy.nodes().length, edges: cy.edges().length,
                visible: cy.nodes(':visible').length, painted,
                downstream: cy.nodes().filter(n => n.data('sides').includes('downstream')).length,
                width: document.getElementById('incident-graph').clientWidth};
    }""")


@pytest.mark.slow
def test_a_regulator_finds_the_failed_raw_milk_lot_sees_its_graph_and_orders_a_recall(
        server: str) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make system installs the Debian chromium package)")
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            desktop = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="zh-CN")
            page = desktop.new_page()
            page.on("console", lambda m: violations.append(m.text)
                    if "Content Security Policy" in m.text else None)
            page.on("pageerror", lambda e: violations.append(str(e)))
            sign_in(page, server, "inspector", DEMO_PASSWORD)
            page.click("#nav-incident")
            expect(page.locator("h1").first).to_have_text("事故处置")
            expect(page.locator("#open-recalls li[data-recall]")).to_have_count(1)
            # The product, as a regulator knows it first: the failed lot heads the list.
            page.fill("#incident-q", "生乳")
            page.click("#incident-submit")
            first = page.locator("#found-lots tbody tr").first
            expect(first).to_contain_text(RAW_LOT)
            expect(first).to_contain_text("不合格")
            page.screenshot(path=str(SHOTS / "incident-search-desktop.png"), full_page=True)
            first.locator("a").first.click()

            # The lot: its facts, and the graph drawn beside the tables.
            expect(page.locator("#incident-lot h1")).to_contain_text(RAW_LOT)
            expect(page.locator("#incident-lot")).to_contain_text("三聚氰胺 3.8 mg/kg")
            expect(page.locator("#incident-graph.drawn")).to_have_count(1)
            drawn = _graph(page)
            rows = page.locator("#holdings-downstream tbody tr").count()
            assert drawn["painted"] and drawn["edges"] >= drawn["nodes"] - 2 > 5, drawn
            graph_box = page.locator("#incident-graph").bounding_box()
            side_box = page.locator("#downstream").bounding_box()
            assert graph_box and side_box and side_box["x"] > graph_box["x"] + graph_box[
                "width"], "the tables stand beside the graph on a desktop"
            # Downstream only: the holdings the recall will reach.
            page.click("#show-downstream")
            assert _graph(page)["visible"] == drawn["downstream"] <= rows
            # A node tapped: its holding, and its row of the table marked.
            position = page.evaluate("""() => {
                const far = window.incidentGraph.nodes(':visible').max(n => n.data('rank'));
                const n = far.ele, p = n.renderedPosition();
                const r = document.getElementById('incident-graph').getBoundingClientRect();
                return {x: r.left + p.x, y: r.top + p.y, name: n.data('name')};}""")
            page.mouse.click(position["x"], position["y"])
            detail = page.locator("#graph-detail")
            expect(detail.locator("h3")).to_have_text(position["name"])
            expect(detail.locator("#graph-open-lot")).to_be_visible()
            expect(page.locator("#holdings-downstream tr.selected")).to_have_count(1)
            page.screenshot(path=str(SHOTS / "incident-lot-desktop.png"), full_page=False)
            page.screenshot(path=str(SHOTS / "incident-lot-desktop-full.png"), full_page=True)
            no_sideways_scroll(page)

            # The recall, ordered from the graph: the raw-milk lot's node, then its button.
            page.click("#incident-graph ~ .legend")  # out of the graph: nothing selected
            page.click("[data-show=all]")
            origin = page.evaluate("""() => {
                const n = window.incidentGraph.nodes('[rank = 0]').first();
                const p = n.renderedPosition();
                const r = document.getElementById('incident-graph').getBoundingClientRect();
                return {x: r.left + p.x, y: r.top + p.y, lot: n.data('lot')};}""")
            assert origin["lot"] == RAW_LOT
            page.mouse.click(origin["x"], origin["y"])
            page.click("#graph-order-recall")
            expect(page.locator("#order-recall")).to_be_in_viewport()
            expect(page.locator("#order-recall .notice")).to_contain_text("已在召回中")
            page.check("#level-2")
            page.fill("#recall-reason", "监督抽检生乳三聚氰胺 3.8 mg/kg，扩大召回范围")
            page.fill("#recall-hazard", "可导致泌尿系统结石")
            page.click("#recall-submit")
            flash = page.locator(".flash-success")
            expect(flash).to_have_text(re.compile(r"已发起召回 seq \d+，已通知 \d+ 家企业"))
            seq = re.search(r"seq (\d+)", flash.inner_text())[1]  # type: ignore[index]
            expect(page.locator("h1 .level-badge")).to_have_text("二级召回")

            # ... and it is open, with its deadlines, beside the lot.
            page.goto(f"{server}/console/incident/lot?gtin={RAW_MILK}&lot={RAW_LOT}")
            opened = page.locator(f"#open-recalls li[data-recall='{seq}']")
            expect(opened).to_contain_text("二级召回")
            expect(opened).to_contain_text("召回中")
            expect(opened).to_contain_text("完成期限")
            expect(page.locator("#open-recalls li[data-recall]")).to_have_count(2)
            signed_in = desktop.storage_state()
            desktop.close()

            # On a phone (the same session): the GTIN and lot typed, the graph top to bottom
            # above the tables.
            phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                        storage_state=signed_in).new_page()
            phone.on("pageerror", lambda e: violations.append(str(e)))
            phone.goto(f"{server}/console/incident?q={RAW_MILK}%20{RAW_LOT}")
            expect(phone.locator("#incident-graph.drawn")).to_have_count(1)
            small = _graph(phone)
            assert small["painted"] and small["nodes"] == drawn["nodes"], small
            no_sideways_scroll(phone)
            phone.screenshot(path=str(SHOTS / "incident-lot-phone.png"), full_page=False)
            phone.screenshot(path=str(SHOTS / "incident-lot-phone-full.png"), full_page=True)
            phone.click("#switch-language")
            expect(phone.locator("#graph-title")).to_have_text("Trace graph")
            expect(phone.locator("#incident-graph.drawn")).to_have_count(1)
        finally:
            browser.close()
    assert not violations, violations
