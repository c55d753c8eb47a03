"""Console listings on the demo network: paging, search, sort, filters, CSV/XLSX downloads,
the maker of a received lot, and a district bureau's scope."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from ledger.accounts.users import create_user
from ledger.demo.network import DEMO_PASSWORD, demo_enterprises
from tests.conftest import demo_app_in
from tests.web.test_console import csrf_token, pass_second_factor
from web.db import get_session

#: a district bureau of Xiamen, made by the tests: it must see Xiamen's enterprises only
XIAMEN = "厦门市"
NETWORK = {e.key: e for e in demo_enterprises()}


@pytest.fixture(scope="module")
def demo() -> Iterator[Flask]:
    for app in demo_app_in("listings-"):
        with app.app_context():
            create_user(get_session(), username="xm.bureau", password=DEMO_PASSWORD,
                        enterprise=NETWORK["regulator"].uscc, role="regulator",
                        district=XIAMEN)
            get_session().commit()
        yield app


def sign_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/console/login", data={
        "username": username, "password": DEMO_PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.text
    pass_second_factor(client, response)
    return client


def rows(html: str) -> list[str]:
    return re.findall(r"<tr data-gtin=\"(\d+)\" data-lot=\"([^\"]+)\"", html)  # type: ignore[return-value]


def count(html: str) -> int:
    match = re.search(r'class="listing-count">\D*?([\d,]+)', html)
    assert match, html
    return int(match[1].replace(",", ""))


def test_lots_are_paged_and_counted(demo: Flask) -> None:
    client = sign_in(demo, "regulator")
    first = client.get("/console/?per=20").text
    total = count(first)
    assert total > 20
    assert len(rows(first)) == 20
    last_page = -(-total // 20)
    last = client.get(f"/console/?per=20&page={last_page}").text
    assert len(rows(last)) == total - 20 * (last_page - 1)
    assert not set(rows(first)) & set(rows(last))
    beyond = client.get(f"/console/?per=20&page={last_page + 5}").text  # clamped, no error
    assert rows(beyond) == rows(last)
    assert client.get("/console/?page=x&per=7&sort=nope&inspection=bogus").status_code == 200


def test_lots_search_sort_and_filter(demo: Flask) -> None:
    client = sign_in(demo, "regulator")
    failed = client.get("/console/?inspection=fail").text
    assert 0 < count(failed) < count(client.get("/console/").text)
    assert 'status-fail' in failed and 'status-pass' not in failed
    lots = rows(client.get("/console/?sort=lot&dir=asc&per=200").text)
    assert [lot for _g, lot in lots] == sorted(lot for _g, lot in lots)
    down = rows(client.get("/console/?sort=lot&dir=desc&per=200").text)
    assert [lot for _g, lot in down] == sorted((lot for _g, lot in down), reverse=True)
    assert down[0][1] >= lots[-1][1]
    some_lot = lots[3][1]
    found = client.get(f"/console/?q={some_lot}").text
    assert some_lot in [lot for _g, lot in rows(found)]
    assert count(client.get("/console/?q=no-such-thing-anywhere").text) == 0


def test_lots_download_as_csv_and_xlsx(demo: Flask) -> None:
    client = sign_in(demo, "regulator")
    total = count(client.get("/console/?inspection=fail").text)
    got = client.get("/console/?inspection=fail&download=csv")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert "attachment" in got.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert table[0][:3] == ["产品", "商品条码", "批号"]
    assert len(table) == 1 + total
    sheet = load_workbook(io.BytesIO(client.get("/console/?inspection=fail&download=xlsx")
                                     .data)).active
    assert sheet is not None and sheet.max_row == 1 + total


def test_a_received_lot_shows_its_maker(demo: Flask) -> None:
    client = sign_in(demo, "market")
    html = client.get("/console/?per=200").text
    dairy = NETWORK["dairy"].name
    assert f"{dairy} 生产" in html
    assert '<td class="origin own">自产</td>' not in html  # a supermarket makes nothing


def _enterprise_names(client: FlaskClient, path: str) -> set[str]:
    html = client.get(path).text
    return set(re.findall(r'<td class="enterprise-name">([^<]+)</td>', html))


def test_a_district_bureau_sees_only_its_district(demo: Flask) -> None:
    client = sign_in(demo, "xm.bureau")
    xiamen = {e.name for e in NETWORK.values() if e.district.startswith(XIAMEN)}
    seen = _enterprise_names(client, "/console/enterprises?per=200")
    assert seen >= xiamen  # and any the bureau registered itself
    assert not seen & {e.name for e in NETWORK.values() if not e.district.startswith(XIAMEN)}
    everyone = sign_in(demo, "regulator")
    assert _enterprise_names(everyone, "/console/enterprises?per=200") >= {
        e.name for e in NETWORK.values()}
    searched = client.get(f"/console/enterprises?q={NETWORK['market_gl'].name}").text
    assert count(searched) == 0
    demo_bureau = sign_in(demo, "xmbureau")  # the demo's own district bureau account
    assert not _enterprise_names(demo_bureau, "/console/enterprises?per=200") & {
        e.name for e in NETWORK.values() if not e.district.startswith(XIAMEN)}
    records = client.get("/console/records?per=200").text
    assert NETWORK["ranch_c"].name not in records  # a Longyan ranch, two steps upstream
    other = NETWORK["market_gl"]  # a Fuzhou supermarket
    assert client.get(f"/console/enterprises/{other.uscc}").status_code == 404


def form(client: FlaskClient, path: str, **data: str) -> Any:
    token = csrf_token(client, path if path.endswith("/new") else "/console/enterprises")
    return client.post(path, data={"csrf_token": token, **data})


def test_a_failed_sign_in_is_audited(demo: Flask) -> None:
    client = demo.test_client()
    refused = client.post("/console/login", data={
        "username": "nobody-here", "password": "wrong-password",
        "csrf_token": csrf_token(client)})
    assert refused.status_code == 401
    city = sign_in(demo, "regulator")
    html = city.get("/console/audit?action=sign_in_failed").text
    assert "nobody-here" in html and "登录失败" in html


def test_records_listing_filters_by_type(demo: Flask) -> None:
    client = sign_in(demo, "regulator")
    html = client.get("/console/records?type=inspection&verdict=fail").text
    assert count(html) >= 1
    assert set(re.findall(r'<tr data-seq="\d+"[^>]*>\s*<td class="num">\d+</td>\s*<td>([^<]+)</td>',
                          html)) == {"检验记录"}
    got = client.get("/console/records?type=inspection&verdict=fail&download=csv")
    table = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert len(table) == 1 + count(html) and table[1][1] == "检验记录"


def test_the_bureau_onboards_an_enterprise_in_the_console(demo: Flask) -> None:
    from ledger.supervision.check_digits import uscc_check_character

    client = sign_in(demo, "xm.bureau")
    first17 = "91350206MA3" + "4XYW01"
    uscc = first17 + uscc_check_character(first17)
    refused = form(client, "/console/enterprises/new", uscc=uscc, name="福州某公司",
                   district="福州市鼓楼区", role="producer")
    assert refused.status_code == 422 and "福州市鼓楼区" in refused.text
    done = form(client, "/console/enterprises/new", uscc=uscc, name="厦门新登记食品有限公司",
                district="厦门市湖里区", role="producer", licences="SC=SC10535020600012")
    assert done.status_code == 302, done.text
    page = client.get(done.headers["Location"]).text
    assert "厦门新登记食品有限公司" in page
    issued = form(client, f"/console/enterprises/{uscc}/tokens", role="producer",
                  label="ERP")
    token = re.search(r'id="issued-token">([^<]+)<', issued.text)
    assert token, issued.text
    api = demo.test_client()
    bearer = {"Authorization": f"Bearer {token[1]}"}
    assert api.get("/api/v1/lots", headers=bearer).status_code == 200
    token_id = re.search(r'data-token="([0-9a-f]{16})"', issued.text)
    assert token_id
    revoked = form(client, f"/console/enterprises/{uscc}/tokens/{token_id[1]}/revoke")
    assert revoked.status_code == 302
    assert api.get("/api/v1/lots", headers=bearer).status_code == 401
    added = form(client, f"/console/enterprises/{uscc}/users", username="xm.clerk",
                 password="clerk-pass-1", role="producer")
    assert added.status_code == 302
    clerk = sign_in_with(demo, "xm.clerk", "clerk-pass-1")
    assert "厦门新登记食品有限公司" in clerk.get("/console/").text
    # a Fuzhou enterprise is outside the Xiamen bureau's reach
    fuzhou = NETWORK["dairy"].uscc
    assert form(client, f"/console/enterprises/{fuzhou}/tokens",
                role="producer").status_code == 302  # back to the page with the refusal
    assert client.get(f"/console/enterprises/{fuzhou}").status_code == 404
    audit = client.get("/console/audit?action=token_issued").text
    assert "xm.bureau" in audit and uscc in audit
    csv_rows = client.get("/console/audit?download=csv").data.decode("utf-8-sig")
    assert "token_revoked" not in csv_rows.splitlines()[0]
    assert "吊销令牌" in csv_rows


def sign_in_with(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/console/login", data={
        "username": username, "password": password, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.text
    return client


def test_onboarding_through_the_api(demo: Flask) -> None:
    from ledger.supervision.check_digits import uscc_check_character
    from tests.conftest import issue_token

    city = issue_token(demo, NETWORK["regulator"].uscc, "regulator")
    producer = issue_token(demo, NETWORK["dairy"].uscc, "producer")
    api = demo.test_client()
    first17 = "91350203MA3" + "5QWE02"
    uscc = first17 + uscc_check_character(first17)
    body = {"uscc": uscc, "name": "厦门接口登记有限公司", "district": "厦门市思明区",
            "licences": {"JY": "JY13502030019999"}}
    assert api.post("/api/v1/enterprises", json=body, headers={
        "Authorization": f"Bearer {producer}"}).status_code == 403
    created = api.post("/api/v1/enterprises", json=body,
                       headers={"Authorization": f"Bearer {city}"})
    assert created.status_code == 201, created.json
    assert created.json["registered_seq"] > 0 and created.json["roles"] == ["producer"]
    again = api.post("/api/v1/enterprises", json=body, headers={"Authorization": f"Bearer {city}"})
    assert again.status_code == 409 and again.json["error"]["field"] == "uscc"
    bad = api.post("/api/v1/enterprises", json={**body, "uscc": "123"},
                   headers={"Authorization": f"Bearer {city}"})
    assert bad.status_code == 422 and "error" in bad.json
    auth = {"Authorization": f"Bearer {city}"}
    issued = api.post(f"/api/v1/enterprises/{uscc}/tokens", json={"label": "POS"}, headers=auth)
    assert issued.status_code == 201 and issued.json["token"].startswith("tn_")
    listed = api.get(f"/api/v1/enterprises/{uscc}/tokens", headers=auth).json
    assert [t["id"] for t in listed] == [issued.json["id"]] and "token" not in listed[0]
    wrong_role = api.post(f"/api/v1/enterprises/{uscc}/tokens", json={"role": "regulator"},
                          headers=auth)
    assert wrong_role.status_code == 403
    gone = api.delete(f"/api/v1/enterprises/{uscc}/tokens/{issued.json['id']}", headers=auth)
    assert gone.status_code == 200 and gone.json["revoked_at"]
    assert api.delete(f"/api/v1/enterprises/{uscc}/tokens/{issued.json['id']}",
                      headers=auth).status_code == 404
    user = api.post(f"/api/v1/enterprises/{uscc}/users",
                    json={"username": "sm.clerk", "password": "clerk-pass-2"}, headers=auth)
    assert user.status_code == 201 and "password" not in user.json
    assert api.delete(f"/api/v1/enterprises/{uscc}/users/sm.clerk",
                      headers=auth).status_code == 204
    log = api.get("/api/v1/audit?action=token_issued", headers=auth).json
    assert any(uscc in row["detail"] for row in log["items"])
    exported = api.get("/api/v1/audit/export?action=enterprise_added", headers=auth)
    assert exported.status_code == 200 and uscc in exported.data.decode("utf-8-sig")


def test_a_district_bureaus_token_is_scoped_in_the_api(demo: Flask) -> None:
    from ledger.accounts.tokens import issue_token as issue

    with demo.app_context():
        token = issue(get_session(), NETWORK["regulator"].uscc, "regulator",
                      "2026-11-28T00:00:00Z", district=XIAMEN)
        get_session().commit()
    api = demo.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    xiamen = {e.uscc for e in NETWORK.values() if e.district.startswith(XIAMEN)}
    listed = api.get("/api/v1/enterprises?limit=100", headers=auth).json["items"]
    assert {e["uscc"] for e in listed} >= xiamen  # and those the tests above registered
    assert all(e["district"].startswith(XIAMEN) for e in listed)
    everyone = api.get("/api/v1/enterprises?limit=100").json["items"]  # public
    assert {e["uscc"] for e in everyone} >= {e.uscc for e in NETWORK.values()}
    lots = api.get("/api/v1/lots?limit=500", headers=auth).json["items"]
    assert lots and all(lot["origin"] in xiamen or set(lot["stock"]) & xiamen for lot in lots)
    assert all(set(lot["stock"]) <= xiamen for lot in lots)
    events = api.get("/api/v1/events?limit=500&type=shipment", headers=auth).json["items"]
    assert events and all(e["enterprise"] in xiamen or e["payload"]["counterparty"] in xiamen
                          for e in events)
    # the ranch's raw-milk lot is neither made nor held in Xiamen: no recall order from here
    ranch_lot = api.get("/api/v1/lots?limit=500", headers={
        "Authorization": f"Bearer {_city_token(demo)}"}).json["items"]
    raw = next(lot for lot in ranch_lot if lot["origin"] == NETWORK["ranch_c"].uscc)
    refused = api.post("/api/v1/recalls", headers=auth, json={
        "kind": "ordered", "level": 3, "reason": "抽检", "hazard": "无",
        "lots": [{"gtin": raw["gtin"], "lot": raw["lot"]}]})
    assert refused.status_code == 403 and refused.json["error"]["field"] == "lots"
    console = sign_in(demo, "xm.bureau")  # nor its unit codes in the console
    units = console.get(f"/console/lots/{raw['gtin']}/{raw['lot']}/units")
    assert units.status_code == 302 and units.headers["Location"].endswith("/console/")
    assert sign_in(demo, "regulator").get(
        f"/console/lots/{raw['gtin']}/{raw['lot']}/units").status_code == 200
    recalls = api.get("/api/v1/recalls", headers=auth).json["items"]
    assert recalls and all(r["access"] in ("holder", "full") for r in recalls)


def _city_token(app: Flask) -> str:
    from tests.conftest import issue_token

    return issue_token(app, NETWORK["regulator"].uscc, "regulator")


def test_recalls_listing_for_a_district_bureau(demo: Flask) -> None:
    client = sign_in(demo, "xm.bureau")
    html = client.get("/console/recalls?status=open").text
    assert count(html) >= 1 and "一级召回" in html
    got = client.get("/console/recalls?download=xlsx")
    assert got.status_code == 200
    assert count(client.get("/console/recalls?status=closed").text) == 0


_PARAMS = st.sampled_from(["q", "sort", "dir", "page", "per", "inspection", "origin_type",
                           "district", "type", "verdict", "role", "status", "level",
                           "download", "action", "channel", "actor"])


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.dictionaries(_PARAMS, st.text(max_size=30), max_size=6),
       path=st.sampled_from(["/console/", "/console/records", "/console/enterprises",
                             "/console/recalls", "/console/audit"]))
def test_any_query_string_is_answered(demo: Flask, args: dict[str, str], path: str) -> None:
    """Whatever a hand-edited address says (wildcards, junk pages, unknown sorts and
    filters, control characters), a listing answers 200 with what it could apply."""
    client = _regulator_client(demo)
    args.pop("download", None)  # downloads are tested above; here the pages
    response = client.get(path, query_string=args)
    assert response.status_code == 200, (path, args)


_CLIENTS: dict[int, FlaskClient] = {}


def _regulator_client(app: Flask) -> FlaskClient:
    if id(app) not in _CLIENTS:
        _CLIENTS[id(app)] = sign_in(app, "xm.bureau")
    return _CLIENTS[id(app)]
