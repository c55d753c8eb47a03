"""The EPCIS index on SQLite and PostgreSQL: it catches up with what was appended since, only
once, keeps a correction's declaration, and rebuilds to the same rows."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from ledger.epcis.index import EPCISEventRow, EPCISIlmdRow, EPCISKeyRow, catch_up, rebuild
from ledger.epcis.query import EventFilter, find_events, get_event
from tests.conftest import issue_token
from tests.ledger.conftest import make_uscc
from tests.web.test_api import add_enterprise
from web.db import get_session

GTIN = "06901234567892"


def _post(client: Any, token: str, body: Any) -> Any:
    response = client.post("/api/v1/events", json=body,
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _production(lot: str, hour: int) -> dict[str, Any]:
    return {"type": "production", "event_time": f"2026-11-26T{hour:02d}:00:00+08:00",
            "payload": {"gtin": GTIN, "lot": lot, "quantity": "10", "unit": "kg",
                        "produced_at": f"2026-11-26T{hour:02d}:00:00+08:00",
                        "expiry": "2027-05-26"}}


def _inspection(report: str) -> dict[str, Any]:
    return {"type": "inspection", "event_time": "2026-11-26T11:30:00+08:00",
            "payload": {"gtin": GTIN, "lot": "P1", "kind": "self", "lab": "化验室",
                        "items": [{"name": "蛋白质", "value": "3.1", "pass": True}],
                        "verdict": "pass", "report_no": report,
                        "inspected_at": "2026-11-26T11:30:00+08:00"}}


def _rows() -> list[tuple[Any, ...]]:
    session = get_session()
    return [
        *[("event", r.seq, r.event_id, r.event_time, r.record_time, r.biz_step, r.native,
           r.corrected_by, r.correction_reason)
          for r in session.scalars(select(EPCISEventRow).order_by(EPCISEventRow.seq))],
        *sorted(("key", r.value, r.role, r.seq) for r in session.scalars(select(EPCISKeyRow))),
        *sorted(("ilmd", r.name, r.value, r.seq)
                for r in session.scalars(select(EPCISIlmdRow)))]


def test_catch_up_indexes_each_entry_once_and_rebuilds_the_same(app: Flask) -> None:
    maker, token = add_enterprise(app, 51)
    client = app.test_client()
    _post(client, token, {"type": "product_registered", "event_time": "2026-11-26T08:00:00Z",
                          "payload": {"gtin": GTIN, "name": "牛奶", "category": "07",
                                      "standard": "GB 25190-2010"}})
    _post(client, token, [_production("P1", 9), _production("P2", 10), _inspection("R-1")])
    with app.app_context():
        session = get_session()
        assert catch_up(session) > 0
        session.commit()
        assert catch_up(session) == 0  # nothing new: nothing done
        page = find_events(session, EventFilter(), viewer=None, limit=10)
        assert [e["bizStep"] for e in page.events] == ["commissioning", "commissioning",
                                                       "inspecting"]
        first = page.events[2]
        session.commit()
    corrected = _post(client, token, {
        "type": "correction", "event_time": "2026-11-26T12:00:00+08:00",
        "payload": {"seq": first["tracenet:seq"], "reason": "批量录错",
                    "replacement": _inspection("R-2")["payload"]}})
    _post(client, token, _production("P3", 11))
    with app.app_context():
        session = get_session()
        page = find_events(session, EventFilter(), viewer=maker, limit=10)
        session.commit()
        assert [e["eventID"] for e in page.events[:3]] == [
            e["eventID"] for e in find_events(session, EventFilter(), viewer=None,
                                              limit=3).events]
        declared = get_event(session, first["eventID"], viewer=maker)["errorDeclaration"]
        fixed = page.events[3]
        assert declared["correctiveEventIDs"] == [fixed["eventID"]]
        assert declared["tracenet:reason"] == "批量录错"
        assert fixed["tracenet:seq"] == corrected[0]["seq"]
        assert fixed["bizTransactionList"][0]["bizTransaction"].endswith(":R-2")
        assert page.events[4]["ilmd"]["cbvmda:lotNumber"] == "P3"
        other = make_uscc(52)
        assert find_events(session, EventFilter(), viewer=other, limit=10).events == []
        live = _rows()
        rebuild(session)
        session.commit()
        assert _rows() == live
    issue_token(app, maker)  # the app is still usable after a rebuild
