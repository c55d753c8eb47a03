"""Every console listing on both databases (SQLite and PostgreSQL): each sortable column in
both directions, a search, the filters and both downloads answer, and the audit trail refuses
UPDATE and DELETE in the database itself."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.ledger.conftest import make_uscc
from tests.web.test_api import add_enterprise, bearer
from tests.web.test_console import sign_in
from web.console.enterprises import AUDIT, ENTERPRISES, RECORDS
from web.console.recalls import RECALLS
from web.console.views import LOTS_ALL
from web.db import get_session

PAGES = {"/console/": LOTS_ALL, "/console/records": RECORDS,
         "/console/enterprises": ENTERPRISES, "/console/recalls": RECALLS,
         "/console/audit": AUDIT}


def test_every_listing_sorts_searches_filters_and_downloads(app: Flask) -> None:
    client = app.test_client()
    sign_in(app, client, 1, role="regulator")
    _uscc, token = add_enterprise(app, 2)
    assert client.get("/api/v1/lots", headers=bearer(token)).status_code == 200  # audit row
    for path, listing in PAGES.items():
        for column in listing.columns:
            if column.sortable:
                for direction in ("asc", "desc"):
                    got = client.get(path, query_string={"sort": column.key, "dir": direction})
                    assert got.status_code == 200, (path, column.key, direction)
        for spec in listing.filters:
            value = spec.choices[0][0] if spec.choices else "福州%_市\\"
            got = client.get(path, query_string={spec.key: value, "q": "企业 1%\x00"})
            assert got.status_code == 200, (path, spec.key)
        for fmt in ("csv", "xlsx"):
            assert client.get(path, query_string={"download": fmt}).status_code == 200


def test_the_audit_trail_is_append_only_in_the_database(app: Flask) -> None:
    client = app.test_client()
    sign_in(app, client, 1, role="regulator")
    assert client.get("/console/records").status_code == 200
    with app.app_context():
        session = get_session()
        assert session.scalar(text("SELECT count(*) FROM audit_log")) >= 1
        for statement in ("UPDATE audit_log SET actor = 'someone else'",
                          "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(text(statement))
            session.rollback()


def test_onboarding_and_the_audit_api(app: Flask) -> None:
    from ledger.supervision.check_digits import uscc_check_character

    _bureau, city = add_enterprise(app, 3, role="regulator")
    api = app.test_client()
    first17 = "91350203MA3" + "6RTY03"
    uscc = first17 + uscc_check_character(first17)
    from ledger.supervision.check_digits import gs1_check_digit

    gln = "694129900001" + gs1_check_digit("694129900001")
    created = api.post("/api/v1/enterprises", headers=bearer(city), json={
        "uscc": uscc, "name": "两库企业", "district": "厦门市思明区",
        "gs1_prefixes": ["6941299"], "glns": [gln]})
    assert created.status_code == 201, created.json
    assert created.json["gs1_prefixes"] == ["6941299"] and created.json["glns"] == [gln]
    bad_gln = api.post("/api/v1/enterprises", headers=bearer(city), json={
        "uscc": make_uscc(77), "name": "校验位错", "district": "厦门市思明区",
        "glns": [gln[:-1] + str((int(gln[-1]) + 1) % 10)]})
    assert bad_gln.status_code in (400, 422) and bad_gln.json["error"]["field"]
    listed = api.get("/api/v1/enterprises?district=厦门市思明区").json["items"]
    assert make_uscc(77) not in {item["uscc"] for item in listed}  # refused: nothing left
    issued = api.post(f"/api/v1/enterprises/{uscc}/tokens", headers=bearer(city), json={})
    assert issued.status_code == 201
    assert api.get("/api/v1/lots", headers=bearer(issued.json["token"])).status_code == 200
    assert api.delete(f"/api/v1/enterprises/{uscc}/tokens/{issued.json['id']}",
                      headers=bearer(city)).status_code == 200
    assert api.get(f"/api/v1/enterprises/%00{uscc}/tokens",
                   headers=bearer(city)).status_code == 404
    assert api.get("/api/v1/audit?actor=%00", headers=bearer(city)).status_code == 422
    found = api.get("/api/v1/audit?limit=3", headers=bearer(city)).json["items"]
    assert any(r["path"].startswith("/api/v1/enterprises/\\x00") for r in found)
    page = api.get("/api/v1/audit?limit=2", headers=bearer(city)).json
    assert len(page["items"]) == 2 and page["next_cursor"]
    after = api.get(f"/api/v1/audit?limit=2&cursor={page['next_cursor']}",
                    headers=bearer(city)).json
    assert after["items"][0]["id"] < page["items"][-1]["id"]
    exported = api.get("/api/v1/audit/export?action=token_revoked", headers=bearer(city))
    assert exported.status_code == 200 and uscc in exported.data.decode("utf-8-sig")
    exported.close()  # a streamed body holds the request (and its session) until closed
