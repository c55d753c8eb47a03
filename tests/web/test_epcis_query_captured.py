"""Captured events queried back: every shared valid document and GS1 example captured through
``POST /epcis/capture`` is found by each of its EPCs and by its time window, each event comes
back as it was sent (plus eventID, recordTime and, where the client's eventID was kept, its hash
ID), and the whole lot re-exported as an EPCISDocument validates against GS1's schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.epcis.hashing import document_events, event_hash_id
from ledger.epcis.index import epc_keys, instant
from ledger.epcis.query import HASH_FIELD, epcis_document
from ledger.epcis.schema import load_schema
from tests.conftest import SHARED, issue_token, make_app
from tests.web.test_epcis_capture import EXAMPLE_PREFIXES, HUB, VALID, enrol, job_of, post

SCHEMA = SHARED / "epcis" / "gs1" / "EPCIS-JSON-Schema.json"
#: what the service adds to an event it serves
ADDED = frozenset({"eventID", "recordTime", HASH_FIELD})


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[Flask, str, dict[str, list[tuple[dict[str, Any], str, str]]]]]:
    """Every valid example captured by a hub holding their company prefixes: per document, its
    events stored (as sent) with their eventIDs."""
    tmp = tmp_path_factory.mktemp("epcis-query-captured")
    app = make_app(f"sqlite:///{tmp / 'tracenet.db'}", tmp)
    token = enrol(app, HUB, "数据枢纽",
                  *[arg for prefix in EXAMPLE_PREFIXES for arg in ("--gs1-prefix", prefix)])
    client = app.test_client()
    stored: dict[str, list[tuple[dict[str, Any], str, str]]] = {}
    for path in VALID:
        document = json.loads(path.read_text())
        job = job_of(client, post(client, document, token, **{
            "GS1-Capture-Error-Behaviour": "proceed"}), token)
        refused = {error.get("item", error.get("index")) for error in job["errors"]}
        events = document_events(document)
        stored[path.name] = [(dict(event), result["eventID"], result["hashID"])
                             for index, (event, result) in enumerate(zip(events,
                                                                         job["results"],
                                                                         strict=True))
                             if result["seqs"] and index not in refused]
    yield app, issue_token(app, HUB), stored
    app.extensions["tracenet.runtime"].close()


def _get(client: FlaskClient, url: str, token: str) -> Any:
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (url, response.get_json())
    return response.get_json()


def _ids(document: dict[str, Any]) -> list[str]:
    return [event["eventID"] for event in
            document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_each_captured_event_comes_back_by_id_epc_and_time(
        captured: tuple[Flask, str, dict[str, list[tuple[dict[str, Any], str, str]]]],
        path: Path) -> None:
    app, token, stored = captured
    client = app.test_client()
    for sent, event_id, hash_id in stored[path.name]:
        # the examples reuse client eventIDs across documents: the hash ID names each event
        served = _get(client, "/epcis/events/" + quote(hash_id, safe=""), token)
        # whoever recomputes the hash ID from the served event gets the one it is stored under
        assert event_hash_id(served, context=served["@context"],
                             ignore_fields=[HASH_FIELD]) == hash_id
        served.pop("@context")
        assert {k: v for k, v in served.items() if k not in ADDED} == {
            k: v for k, v in sent.items() if k not in ADDED}  # recordTime is the ledger's
        assert served["eventID"] == sent.get("eventID", hash_id) == event_id
        if "eventID" in sent:
            assert served[HASH_FIELD] == hash_id
            assert _get(client, "/epcis/events/" + quote(event_id, safe=""), token)[
                "eventID"] == event_id
        for _role, epc in set(epc_keys(sent)):
            found = _get(client, "/epcis/epcs/" + quote(epc, safe="") + "/events?perPage=1000",
                         token)
            assert event_id in _ids(found), epc
        moment = instant(sent["eventTime"])
        start = datetime.fromtimestamp(moment // 1_000_000, UTC)
        window = _get(client, "/epcis/events?perPage=1000&GE_eventTime="
                      + quote(start.isoformat()) + "&LT_eventTime="
                      + quote((start + timedelta(seconds=1)).isoformat()), token)
        assert event_id in _ids(window)


def test_everything_captured_re_exports_as_a_valid_document(
        captured: tuple[Flask, str, dict[str, list[tuple[dict[str, Any], str, str]]]]) -> None:
    app, token, stored = captured
    client = app.test_client()
    events: list[dict[str, Any]] = []
    url = "/epcis/events?perPage=50"
    while url:
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        events += response.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        link = response.headers.get("Link")
        url = link[1:link.index(">")].removeprefix("http://localhost") if link else ""
    expected = {hash_id for triples in stored.values() for _sent, _id, hash_id in triples}
    assert expected <= {event.get(HASH_FIELD, event["eventID"]) for event in events}
    document = epcis_document(events, now=datetime.now(UTC))
    assert load_schema(SCHEMA).problems(document) == []
    assert load_schema(SCHEMA).problems(_get(client, "/epcis/events?perPage=1000", token)) == []
