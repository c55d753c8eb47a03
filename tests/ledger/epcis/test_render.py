"""Native records as EPCIS 2.0 events (ledger.epcis.render) and the index's normal forms
(ledger.epcis.index): every rendered event validates against GS1's schema and its eventID is
its own hash ID; times are instants; vocabulary and identifiers have one form each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.epcis.hashing import event_hash_id
from ledger.epcis.index import epc_keys, ilmd_name, instant, location, vocabulary
from ledger.epcis.render import CONTEXT, render_record, time_zone_offset
from ledger.epcis.schema import load_schema
from tests.conftest import SHARED

SCHEMA = load_schema(SHARED / "epcis" / "gs1" / "EPCIS-JSON-Schema.json")
SHIPPER, RECEIVER = "91350100M000100Y43", "91350100MA0000002T"
GTIN = "06901234567892"

PAYLOADS: dict[str, dict[str, Any]] = {
    "production": {"gtin": GTIN, "lot": "P1", "quantity": "40.5", "unit": "kg",
                   "produced_at": "2026-11-26T10:00:00+08:00", "expiry": "2027-05-26",
                   "inputs": [{"gtin": GTIN, "lot": "R1", "quantity": "800", "unit": "L"}],
                   "additives_used": []},
    "material_intake": {"gtin": GTIN, "lot": "R1", "material": "生乳", "supplier": SHIPPER,
                        "quantity": "1000", "unit": "kg", "accepted": False,
                        "received_at": "2026-11-26T07:00:00+08:00", "certificate": None},
    "shipment": {"gtin": GTIN, "lot": "P1", "quantity": "480", "unit": "pcs",
                 "counterparty": RECEIVER, "document_no": "DN 2026/11 #7",
                 "shipped_at": "2026-11-26T14:00:00+08:00"},
    "receipt": {"gtin": GTIN, "lot": "P1", "quantity": "2", "unit": "case",
                "counterparty": SHIPPER, "document_no": "DN-1",
                "received_at": "2026-11-26T18:00:00Z"},
    "inspection": {"gtin": GTIN, "lot": "P1", "kind": "self", "lab": "自检", "lab_uscc": None,
                   "standard": "GB 19301-2010", "verdict": "fail", "report_no": "R-1",
                   "inspected_at": "2026-11-26T09:00:00+08:00",
                   "items": [{"name": "三聚氰胺", "value": "3.8", "limit": "≤2.5",
                              "unit": "mg/kg", "pass": False}]},
    "serialization": {"gtin": GTIN, "lot": "P1", "serials": ["K7M3", "a[b]{c}|^`\\"]},
    "aggregation": {"parent": "(00)069012340000000017",
                    "children": ["(01)06901234567892(21)K7M3", "carton 7"]},
    "recall_initiated": {"kind": "voluntary", "level": 1, "reason": "超标", "hazard": "结石",
                         "lots": [{"gtin": GTIN, "lot": "P1"}],
                         "scope": {"as_of": 9, "lots": [{"gtin": GTIN, "lot": "P1"}],
                                   "holders": []}},
}


def _render(type_: str, payload: dict[str, Any], glns: dict[str, str] | None = None,
            ) -> dict[str, Any]:
    event = render_record(type_=type_, payload=payload, enterprise=SHIPPER,
                          event_time="2026-11-27T00:00:00+08:00", seq=42, glns=glns or {})
    assert event is not None
    return event


@pytest.mark.parametrize("type_", sorted(PAYLOADS))
def test_each_record_type_renders_a_valid_event_named_by_its_hash(type_: str) -> None:
    event = _render(type_, PAYLOADS[type_])
    SCHEMA.validate({"@context": CONTEXT, **event})
    assert event["eventID"] == event_hash_id(event, context=CONTEXT)
    assert event["tracenet:seq"] == 42
    assert event["readPoint"] == {"id": f"urn:tracenet:uscc:{SHIPPER}"}


def test_what_each_record_says_in_epcis_terms() -> None:
    production = _render("production", PAYLOADS["production"])
    assert production["type"] == "TransformationEvent"
    assert production["outputQuantityList"] == [{
        "epcClass": f"https://id.gs1.org/01/{GTIN}/10/P1", "quantity": 40.5, "uom": "KGM"}]
    assert production["inputQuantityList"][0]["uom"] == "LTR"
    assert production["ilmd"] == {"cbvmda:lotNumber": "P1",
                                  "cbvmda:itemExpirationDate": "2027-05-26"}
    assert production["eventTime"] == "2026-11-26T10:00:00+08:00"
    raw = _render("production", {**PAYLOADS["production"], "inputs": []})
    assert (raw["type"], raw["action"]) == ("ObjectEvent", "ADD")
    shipment = _render("shipment", PAYLOADS["shipment"], {RECEIVER: "6901234000004"})
    assert (shipment["bizStep"], shipment["disposition"]) == ("shipping", "in_transit")
    assert shipment["quantityList"][0]["quantity"] == 480 and "uom" not in \
        shipment["quantityList"][0]  # items are counted
    assert shipment["sourceList"] == [{"type": "owning_party",
                                       "source": f"urn:tracenet:uscc:{SHIPPER}"}]
    assert shipment["destinationList"] == [{"type": "owning_party",
                                            "destination": "https://id.gs1.org/417/"
                                                           "6901234000004"}]
    assert shipment["bizTransactionList"] == [{
        "type": "desadv", "bizTransaction": "urn:tracenet:document:DN%202026%2F11%20%237"}]
    receipt = _render("receipt", PAYLOADS["receipt"])
    assert receipt["sourceList"][0]["source"].endswith(SHIPPER) and receipt[
        "eventTimeZoneOffset"] == "+00:00"
    assert _render("inspection", PAYLOADS["inspection"])["disposition"] == "non_conformant"
    assert _render("material_intake", PAYLOADS["material_intake"])["disposition"] == \
        "non_conformant"
    aggregation = _render("aggregation", PAYLOADS["aggregation"])
    assert aggregation["parentID"] == "https://id.gs1.org/00/069012340000000017"
    assert aggregation["childEPCs"] == [f"https://id.gs1.org/01/{GTIN}/21/K7M3",
                                        "urn:tracenet:code:carton%207"]
    located = _render("inspection", PAYLOADS["inspection"], {SHIPPER: "6901234000004"})
    assert located["bizLocation"] == {"id": "https://id.gs1.org/414/6901234000004"}
    assert render_record(type_="additive_filing", payload={}, enterprise=SHIPPER,
                         event_time="2026-11-27T00:00:00Z", seq=1, glns={}) is None


@given(document=st.text(min_size=1, max_size=60),
       lot=st.text(alphabet=st.sampled_from('!"%&\'()*+,-./0123456789:;<=>?ABCZ_az'),
                   min_size=1, max_size=20),
       quantity=st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False))
def test_any_shipment_renders_valid(document: str, lot: str, quantity: Any) -> None:
    event = _render("shipment", {**PAYLOADS["shipment"], "document_no": document, "lot": lot,
                                 "quantity": str(quantity), "unit": "kg"})
    SCHEMA.validate({"@context": CONTEXT, **event})
    assert event["eventID"] == event_hash_id(event, context=CONTEXT)
    assert dict(epc_keys(event)) == {"class": event["quantityList"][0]["epcClass"]}


@given(moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1)),
       minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
       digits=st.integers(min_value=0, max_value=6))
def test_instant_is_the_moment_whatever_the_offset(moment: datetime, minutes: int,
                                                  digits: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    aware = moment.replace(tzinfo=UTC).astimezone(zone)
    text = aware.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{aware.microsecond:06d}"[:digits]
    text += aware.strftime("%z")[:3] + ":" + aware.strftime("%z")[3:]
    expected = aware.replace(microsecond=int((f"{aware.microsecond:06d}"[:digits] + "000000")
                                             [:6]))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert instant(text) == (expected - epoch) // timedelta(microseconds=1)
    assert time_zone_offset(text) == text[-6:]
    utc = text[:-6] + "Z"
    assert instant(utc) - instant(text) == minutes * 60_000_000


@pytest.mark.parametrize("text", ["", "yesterday", "2026-11-26", "2026-13-01T00:00:00Z",
                                  "2026-11-26T25:00:00Z"])
def test_instant_refuses_what_is_no_time(text: str) -> None:
    with pytest.raises(ValueError):
        instant(text)


def test_one_form_for_vocabulary_locations_and_ilmd_names() -> None:
    for written in ("shipping", "https://ref.gs1.org/cbv/BizStep-shipping",
                    "urn:epcglobal:cbv:bizstep:shipping", "cbv:BizStep-shipping"):
        assert vocabulary("bizStep", written) == "shipping"
    assert vocabulary("disposition", "urn:epcglobal:cbv:disp:in_transit") == "in_transit"
    assert vocabulary("bizStep", "https://example.com/steps/milking") == \
        "https://example.com/steps/milking"
    assert location("urn:epc:id:sgln:0614141.07346.1234") == location(
        "https://example.com/414/0614141073467/254/1234") == \
        "https://id.gs1.org/414/0614141073467/254/1234"
    assert location("urn:tracenet:uscc:X") == "urn:tracenet:uscc:X"
    assert ilmd_name("cbvmda:lotNumber") == ilmd_name("lotNumber") == \
        "urn:epcglobal:cbv:mda:lotNumber"
    assert ilmd_name("example:part1", {"example": "http://ns.example.com/epcis/"}) == \
        "http://ns.example.com/epcis/part1"
    assert ilmd_name("https://ns.example.com/x") == "https://ns.example.com/x"
