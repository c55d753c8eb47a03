"""GET /epcis/... over the demo network: native records served as EPCIS 2.0 events that validate
against GS1's schema and hash to their own eventID, the standard's parameters, keyset pages
through the Link header, one event by eventID, an EPC's events, visibility as the API's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ledger.accounts.tokens import issue_token as issue_api_token
from ledger.epcis.hashing import document_event_hash_ids
from ledger.epcis.index import EPCISEventRow, EPCISKeyRow, rebuild
from ledger.epcis.query import epcis_document
from ledger.epcis.schema import load_schema
from ledger.log.storage import EnterpriseRow
from ledger.supervision.models import RecordRow
from tests.conftest import SHARED, demo_app_in, issue_token, run_cli
from web.db import get_session

SCHEMA = SHARED / "epcis" / "gs1" / "EPCIS-JSON-Schema.json"


@pytest.fixture(scope="module")
def demo() -> Iterator[Flask]:
    yield from demo_app_in("tracenet-epcis-query-")


@pytest.fixture(scope="module")
def tokens(demo: Flask) -> dict[str, str]:
    with demo.app_context():
        enterprises = sorted(get_session().scalars(select(EnterpriseRow.uscc)))
    return {"regulator": issue_token(demo, enterprises[0], "regulator"),
            **{uscc: issue_token(demo, uscc) for uscc in enterprises}}


def _get(client: FlaskClient, url: str, token: str) -> Any:
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def _events(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    assert document["type"] == "EPCISQueryDocument"
    events: list[dict[str, Any]] = document["epcisBody"]["queryResults"]["resultsBody"][
        "eventList"]
    return events


def _all(client: FlaskClient, url: str, token: str) -> list[dict[str, Any]]:
    """Every page of a query, following the Link headers."""
    events: list[dict[str, Any]] = []
    while True:
        response = _get(client, url, token)
        events += _events(response)
        link = response.headers.get("Link")
        if link is None:
            return events
        assert link.endswith('>; rel="next"')
        url = link[1:link.index(">")].removeprefix("http://localhost")


def test_every_native_event_validates_and_hashes_to_its_event_id(
        demo: Flask, tokens: dict[str, str]) -> None:
    client = demo.test_client()
    response = _get(client, "/epcis/events?perPage=1000", tokens["regulator"])
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
    events = _all(client, "/epcis/events?perPage=1000", tokens["regulator"])
    with demo.app_context():
        indexed = get_session().scalar(select(func.count()).select_from(EPCISEventRow))
    assert len(events) == indexed > 1000
    assert {e["type"] for e in events} == {"ObjectEvent", "AggregationEvent",
                                           "TransformationEvent"}
    assert {e["bizStep"] for e in events} >= {"commissioning", "receiving", "shipping",
                                              "inspecting", "packing"}
    schema = load_schema(SCHEMA)
    query_document = response.get_json()
    assert schema.problems(query_document) == []
    exported = epcis_document(events, now=datetime.now(UTC))
    assert schema.problems(exported) == []
    # a client recomputing the CBV 2.0 hash IDs from the document gets every eventID
    assert document_event_hash_ids(exported) == [e["eventID"] for e in events]
    assert len({e["eventID"] for e in events}) == len(events)


def test_pages_follow_the_link_header_without_loss_or_repeat(
        demo: Flask, tokens: dict[str, str]) -> None:
    client = demo.test_client()
    whole = _events(_get(client, "/epcis/events?perPage=1000&EQ_bizStep=shipping",
                         tokens["regulator"]))
    paged = _all(client, "/epcis/events?perPage=7&EQ_bizStep=shipping", tokens["regulator"])
    assert [e["eventID"] for e in paged] == [e["eventID"] for e in whole]
    newest = _all(client, "/epcis/events?perPage=9&EQ_bizStep=shipping&orderBy=eventTime"
                          "&orderDirection=DESC", tokens["regulator"])
    times = [e["eventTime"] for e in newest]
    assert len(newest) == len(whole)
    from ledger.epcis.index import instant

    assert [instant(t) for t in times] == sorted((instant(t) for t in times), reverse=True)


def test_time_windows_compare_instants_not_strings(demo: Flask,
                                                   tokens: dict[str, str]) -> None:
    client = demo.test_client()
    token = tokens["regulator"]
    local = _events(_get(client, "/epcis/events?perPage=1000&GE_eventTime="
                         + quote("2026-09-27T00:00:00+08:00") + "&LT_eventTime="
                         + quote("2026-09-28T00:00:00+08:00"), token))
    utc = _events(_get(client, "/epcis/events?perPage=1000&GE_eventTime=2026-09-26T16:00:00Z"
                       "&LT_eventTime=2026-09-27T16:00:00.000Z", token))
    assert local and [e["eventID"] for e in local] == [e["eventID"] for e in utc]
    unencoded = _events(_get(client, "/epcis/events?perPage=1000"
                             "&GE_eventTime=2026-09-27T00:00:00+08:00"
                             "&LT_eventTime=2026-09-28T00:00:00+08:00", token))
    assert [e["eventID"] for e in unencoded] == [e["eventID"] for e in local]
    from ledger.epcis.index import instant

    for event in local:
        assert instant("2026-09-26T16:00:00Z") <= instant(event["eventTime"]) \
            < instant("2026-09-27T16:00:00Z")


def test_match_parameters_take_epc_uris_and_digital_links(demo: Flask,
                                                          tokens: dict[str, str]) -> None:
    client = demo.test_client()
    token = tokens["regulator"]
    commissioned = _events(_get(client, "/epcis/events?EQ_bizStep=commissioning&EQ_action=ADD"
                                "&perPage=1000", token))
    serialized = next(e for e in commissioned if "epcList" in e)
    link = serialized["epcList"][0]  # https://id.gs1.org/01/<GTIN>/21/<serial>
    gtin, serial = link.split("/01/")[1].split("/21/")
    # the same unit as an SGTIN EPC URI, with a 7-digit company prefix
    urn = f"urn:epc:id:sgtin:{gtin[1:8]}.{gtin[0]}{gtin[8:13]}.{serial}"
    by_link = _events(_get(client, "/epcis/events?MATCH_epc=" + quote(link, safe=""), token))
    by_urn = _events(_get(client, "/epcis/events?MATCH_epc=" + quote(urn, safe=""), token))
    assert serialized["eventID"] in [e["eventID"] for e in by_link]
    assert [e["eventID"] for e in by_urn] == [e["eventID"] for e in by_link]
    # a pattern: every unit of the GTIN
    pattern = f"urn:epc:idpat:sgtin:{gtin[1:8]}.{gtin[0]}{gtin[8:13]}.*"
    by_pattern = _events(_get(client, "/epcis/events?perPage=1000&MATCH_epc="
                              + quote(pattern, safe=""), token))
    assert {e["eventID"] for e in by_link} <= {e["eventID"] for e in by_pattern}
    # the lot's events by its class, and through the EPC resource
    lot = f"https://id.gs1.org/01/{gtin}/10/{serialized['ilmd']['cbvmda:lotNumber']}"
    by_class = _events(_get(client, "/epcis/events?perPage=1000&MATCH_anyEPCClass="
                            + quote(lot, safe=""), token))
    resource = _events(_get(client, "/epcis/epcs/" + quote(lot, safe="") + "/events"
                            "?perPage=1000", token))
    assert by_class and [e["eventID"] for e in resource] == [e["eventID"] for e in by_class]
    unit = _events(_get(client, "/epcis/epcs/" + quote(urn, safe="") + "/events", token))
    assert [e["eventID"] for e in unit] == [e["eventID"] for e in by_link]
    by_lot = _events(_get(client, "/epcis/events?EQ_ILMD_cbvmda:lotNumber="
                          + serialized["ilmd"]["cbvmda:lotNumber"], token))
    assert serialized["eventID"] in [e["eventID"] for e in by_lot]
    for event in by_lot:
        assert event["ilmd"]["cbvmda:lotNumber"] == serialized["ilmd"]["cbvmda:lotNumber"]


def test_one_event_by_its_url_encoded_id(demo: Flask, tokens: dict[str, str]) -> None:
    client = demo.test_client()
    token = tokens["regulator"]
    event = _events(_get(client, "/epcis/events?perPage=1&EQ_bizStep=shipping", token))[0]
    response = _get(client, "/epcis/events/" + quote(event["eventID"], safe=""), token)
    assert response.status_code == 200
    body = response.get_json()
    assert body.pop("@context")[0].startswith("https://ref.gs1.org/")
    assert body == event
    assert load_schema(SCHEMA).problems({"@context": ["https://ref.gs1.org/standards/epcis/"
                                                      "epcis-context.jsonld"], **body}) == []
    unencoded = _get(client, "/epcis/events/" + event["eventID"], token)
    assert unencoded.status_code == 200 and unencoded.get_json()["eventID"] == event["eventID"]
    missing = _get(client, "/epcis/events/" + quote("urn:uuid:0-0", safe=""), token)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["field"] == "eventID"


def test_visibility_is_the_apis(demo: Flask, tokens: dict[str, str]) -> None:
    client = demo.test_client()
    everything = _all(client, "/epcis/events?perPage=1000", tokens["regulator"])
    with demo.app_context():
        session = get_session()
        rows = {row.event_id: row for row in session.scalars(select(EPCISEventRow))}
    shipper = next(rows[e["eventID"]].enterprise for e in everything
                   if e.get("bizStep") == "shipping")
    own = _all(client, "/epcis/events?perPage=1000", tokens[shipper])
    assert 0 < len(own) < len(everything)
    for event in own:
        row = rows[event["eventID"]]
        parties = [p.get("source") or p.get("destination")
                   for p in event.get("sourceList", []) + event.get("destinationList", [])]
        assert row.enterprise == shipper or any(shipper in str(p) for p in parties)
    # a shipment to it is visible to the receiver too, not to a third enterprise
    received = next(e for e in everything if e.get("bizStep") == "shipping"
                    and rows[e["eventID"]].enterprise == shipper)
    receiver = received["destinationList"][0]["destination"].rsplit(":", 1)[1]
    assert _get(client, "/epcis/events/" + quote(received["eventID"], safe=""),
                tokens[receiver]).status_code == 200
    third = next(uscc for uscc in tokens if uscc not in ("regulator", shipper, receiver))
    refused = _get(client, "/epcis/events/" + quote(received["eventID"], safe=""),
                   tokens[third])
    assert refused.status_code == 403
    assert client.get("/epcis/events").status_code == 401
    assert client.get("/epcis/eventTypes").status_code == 401


def test_vocabularies_in_use(demo: Flask, tokens: dict[str, str]) -> None:
    client = demo.test_client()
    types = _get(client, "/epcis/eventTypes", tokens["regulator"]).get_json()
    assert types["type"] == "Collection"
    assert types["member"] == ["AggregationEvent", "ObjectEvent", "TransformationEvent"]
    steps = _get(client, "/epcis/bizSteps", tokens["regulator"]).get_json()["member"]
    assert {"shipping", "receiving", "inspecting", "commissioning"} <= set(steps)


@pytest.mark.parametrize(("query", "field"), [
    ("foo=1", "foo"), ("perPage=0", "perPage"), ("perPage=1001", "perPage"),
    ("perPage=x", "perPage"), ("GE_eventTime=yesterday", "GE_eventTime"),
    ("LT_recordTime=2026-13-01T00:00:00Z", "LT_recordTime"),
    ("nextPageToken=abc", "nextPageToken"), ("orderBy=bizStep", "orderBy"),
    ("orderDirection=UP", "orderDirection"), ("EQ_bizStep=", "EQ_bizStep"),
    ("EQ_ILMD_=x", "EQ_ILMD_"),
])
def test_bad_parameters_are_refused_by_name(demo: Flask, tokens: dict[str, str], query: str,
                                            field: str) -> None:
    response = _get(demo.test_client(), f"/epcis/events?{query}", tokens["regulator"])
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_a_token_from_another_order_is_refused(demo: Flask, tokens: dict[str, str]) -> None:
    client = demo.test_client()
    first = _get(client, "/epcis/events?perPage=2", tokens["regulator"])
    token = first.headers["Link"].split("nextPageToken=")[1].split(">")[0]
    response = _get(client, f"/epcis/events?perPage=2&orderBy=eventTime&nextPageToken={token}",
                    tokens["regulator"])
    assert response.status_code == 400


def test_a_correction_declares_the_error_on_the_event_it_supersedes(
        demo: Flask, tokens: dict[str, str]) -> None:
    client = demo.test_client()
    inspection = _events(_get(client, "/epcis/events?EQ_bizStep=inspecting&perPage=1",
                              tokens["regulator"]))[0]
    seq = inspection["tracenet:seq"]
    entry = client.get(f"/api/v1/events/{seq}",
                       headers={"Authorization": f"Bearer {tokens['regulator']}"}).get_json()
    owner = entry["enterprise"]
    replacement = {**entry["payload"], "report_no": "CORRECTED-0001"}
    posted = client.post("/api/v1/events", json={
        "type": "correction", "event_time": entry["event_time"],
        "payload": {"seq": seq, "reason": "报告编号录入错误", "replacement": replacement}},
        headers={"Authorization": f"Bearer {tokens[owner]}"})
    assert posted.status_code == 201, posted.get_json()
    corrected = _get(client, "/epcis/events/" + quote(inspection["eventID"], safe=""),
                     tokens[owner]).get_json()
    declaration = corrected["errorDeclaration"]
    assert declaration["reason"] == "incorrect_data"
    assert declaration["tracenet:reason"] == "报告编号录入错误"
    [fixed_id] = declaration["correctiveEventIDs"]
    fixed = _get(client, "/epcis/events/" + quote(fixed_id, safe=""), tokens[owner]).get_json()
    assert fixed["bizTransactionList"][0]["bizTransaction"].endswith("CORRECTED-0001")
    assert fixed["tracenet:seq"] == posted.get_json()[0]["seq"]
    declared = _events(_get(client, "/epcis/events?EXISTS_errorDeclaration=true",
                            tokens[owner]))
    assert [e["eventID"] for e in declared] == [inspection["eventID"]]


def test_rebuild_gives_the_index_it_keeps(demo: Flask, tokens: dict[str, str]) -> None:
    _get(demo.test_client(), "/epcis/eventTypes", tokens["regulator"])  # caught up

    def snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        session = get_session()
        events = [(r.seq, r.event_id, r.hash_id, r.event_time, r.biz_step, r.read_point,
                   r.native, r.corrected_by)
                  for r in session.scalars(select(EPCISEventRow).order_by(EPCISEventRow.seq))]
        keys = sorted(session.execute(select(EPCISKeyRow.value, EPCISKeyRow.role,
                                             EPCISKeyRow.seq)).all())
        return events, keys

    with demo.app_context():
        live = snapshot()
        rebuild(get_session())
        get_session().commit()
        assert snapshot() == live


def test_tracenet_export_epcis_writes_a_valid_document(demo: Flask, tmp_path: Any) -> None:
    out = tmp_path / "ledger.jsonld"
    result = run_cli(demo, "export", "epcis", "--from", "2026-09-27T00:00:00+08:00",
                     "--to", "2026-09-28T00:00:00+08:00", "--out", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["type"] == "EPCISDocument"
    assert load_schema(SCHEMA).problems(document) == []
    events = document["epcisBody"]["eventList"]
    assert events and f"{len(events)} events written" in result.output
    assert document_event_hash_ids(document) == [e["eventID"] for e in events]
    lot = next(e for e in events if "quantityList" in e)["quantityList"][0]["epcClass"]
    narrowed = run_cli(demo, "export", "epcis", "--epc", lot)
    assert narrowed.exit_code == 0, narrowed.output
    named = json.loads(narrowed.output)["epcisBody"]["eventList"]
    assert named and all(lot in json.dumps(e) for e in named)
    bad = run_cli(demo, "export", "epcis", "--from", "yesterday")
    assert bad.exit_code == 2 and "--from" in bad.output


def test_a_district_bureau_sees_its_districts_events(demo: Flask,
                                                     tokens: dict[str, str]) -> None:
    with demo.app_context():
        session = get_session()
        districts = {uscc: place for uscc, place in session.execute(
            select(EnterpriseRow.uscc, EnterpriseRow.district))}
        bureau_seat = sorted(districts)[0]
        district = districts[sorted(districts)[-1]]
        token = issue_api_token(session, bureau_seat, "regulator", "2026-11-28T00:00:00Z",
                                district=district)
        session.commit()
        counterparties = {seq: party for seq, party in session.execute(
            select(RecordRow.seq, RecordRow.counterparty))}
        rows = {row.event_id: row for row in session.scalars(select(EPCISEventRow))}
    client = demo.test_client()
    scoped = _all(client, "/epcis/events?perPage=1000", token)
    inside = {uscc for uscc, place in districts.items() if place.startswith(district)}
    inside.add(bureau_seat)  # the records viewer adds the bureau's own enterprise
    assert 0 < len(scoped) < len(rows)
    for event in scoped:
        row = rows[event["eventID"]]
        assert row.enterprise in inside or counterparties.get(row.seq) in inside
    expected = sum(1 for row in rows.values()
                   if row.enterprise in inside or counterparties.get(row.seq) in inside)
    assert len(scoped) == expected
