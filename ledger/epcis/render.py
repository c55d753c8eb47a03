"""Native Tracenet records as GS1 EPCIS 2.0 events (JSON-LD), pure: a payload in, an event out.

Which record becomes which event (the README's "EPCIS query" section says it field by field),
with its bizStep / disposition:

- ``production``: a TransformationEvent, the inputs in ``inputQuantityList``, the lot made in
  ``outputQuantityList``, ILMD lot and expiry; with no inputs (a harvest, raw milk), an
  ObjectEvent ADD of the lot. ``commissioning`` / ``active``.
- ``material_intake``: ObjectEvent OBSERVE, ``sourceList`` the supplier. ``receiving`` /
  ``in_progress`` when accepted, ``non_conformant`` when rejected.
- ``receipt`` and ``shipment``: ObjectEvent OBSERVE, ``sourceList`` the shipper,
  ``destinationList`` the receiver (owning parties), the document number as a ``desadv``.
  ``receiving`` / ``in_progress``, ``shipping`` / ``in_transit``.
- ``inspection``: ObjectEvent OBSERVE of the lot, the report number as a ``testres``;
  ``tracenet:kind``, ``tracenet:lab``, ``tracenet:labUSCC``, ``tracenet:standard`` (as EPCIS
  capture reads them back) and ``tracenet:items``. ``inspecting`` / ``conformant`` or
  ``non_conformant``.
- ``serialization``: ObjectEvent ADD of the units (SGTIN Digital Links), ILMD lot.
  ``commissioning`` / ``active``.
- ``aggregation``: AggregationEvent ADD, the parent as ``parentID``. ``packing`` /
  ``in_progress``.
- ``recall_initiated``: ObjectEvent OBSERVE of every recalled lot. ``holding`` /
  ``recalled``.

Lots are LGTIN classes (``https://id.gs1.org/01/<GTIN>/10/<lot>``) with the quantity in its
UN/CEFACT unit (``kg`` KGM, ``L`` LTR, ``pcs`` no ``uom``: a count of items, ...). An
enterprise is named by its GLN when it registered one (``https://id.gs1.org/414/<GLN>`` as a
location, ``.../417/<GLN>`` as a party), else by ``urn:tracenet:uscc:<USCC>``. Every event
carries ``tracenet:seq``, the ledger entry it was rendered from (so its inclusion proof is one
request away), and its eventID is its own CBV 2.0 hash ID. Types with no event (product and
additive registrations are master data, recall progress and closure are reports) render to
None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ledger.epcis.hashing import event_hash_id, parse_context
from ledger.epcis.identifiers import dl_encode

__all__ = [
    "CONTEXT",
    "EPCIS_CONTEXT",
    "RENDERED_TYPES",
    "TRACENET_NS",
    "TRACENET_PREFIX",
    "UOM",
    "Parties",
    "enterprise_location",
    "enterprise_party",
    "lot_class",
    "render_record",
    "time_zone_offset",
]

#: GS1's EPCIS 2.0 JSON-LD context
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
#: Tracenet's namespace for the extension fields it adds to events it serves
TRACENET_NS = "https://tracenet.dev/epcis/"
TRACENET_PREFIX = "tracenet"
#: the @context of every event and document Tracenet serves
CONTEXT: list[Any] = [EPCIS_CONTEXT, {TRACENET_PREFIX: TRACENET_NS}]
_PARSED_CONTEXT = parse_context(CONTEXT)

#: Tracenet units -> UN/CEFACT Recommendation 20 codes; None: a count of items (no uom)
UOM: Mapping[str, str | None] = {"kg": "KGM", "g": "GRM", "t": "TNE", "L": "LTR",
                                 "mL": "MLT", "pcs": None, "case": "CS"}

#: enterprise (USCC) -> its GLN, for the enterprises that registered one
Parties = Mapping[str, str]

_GS1 = "https://id.gs1.org"


def enterprise_location(uscc: str, glns: Parties) -> str:
    """An enterprise as a readPoint / bizLocation: its GLN (SGLN) or its USCC."""
    gln = glns.get(uscc)
    return f"{_GS1}/414/{gln}" if gln else f"urn:tracenet:uscc:{uscc}"


def enterprise_party(uscc: str, glns: Parties) -> str:
    """An enterprise as a source / destination owning party: its PGLN or its USCC."""
    gln = glns.get(uscc)
    return f"{_GS1}/417/{gln}" if gln else f"urn:tracenet:uscc:{uscc}"


def _segment(value: str) -> str:
    """A value as a URI path segment: GS1 Digital Link's escapes, and any character a URI
    cannot hold (beyond GS1's set 82, which a serial may use) percent-encoded too."""
    return quote(dl_encode(value), safe="!$&'()*+,;=:@%-._~")


def lot_class(gtin: str, lot: str) -> str:
    """A lot as an EPC class: the LGTIN's canonical GS1 Digital Link."""
    return f"{_GS1}/01/{gtin}/10/{_segment(lot)}"


def _quantity(gtin: str, lot: str, quantity: str, unit: str) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": lot_class(gtin, lot), "quantity": _number(quantity)}
    uom = UOM.get(unit)
    if uom:
        element["uom"] = uom
    return element


def _number(text: str) -> int | float:
    """A record's decimal text as a JSON number (the schema wants one): a whole amount exactly,
    a fraction as the nearest double (a record's amounts have far fewer digits than that)."""
    return int(text) if text.isdigit() else float(text)


def time_zone_offset(moment: str) -> str:
    """The ``±hh:mm`` offset an RFC 3339 time was written in (``+00:00`` for ``Z``)."""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00").replace("z", "+00:00"))
    offset = parsed.utcoffset()
    if offset is None:
        return "+00:00"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _element_to_uri(code: str) -> str:
    """A unit code as the ledger keeps it (a GS1 element string such as
    ``(01)GTIN(21)serial`` or ``(00)SSCC``) as a GS1 Digital Link; other text as it is."""
    if code.startswith("(00)") and code[4:].isdigit():
        return f"{_GS1}/00/{code[4:]}"
    if code.startswith("(01)") and "(21)" in code:
        gtin, serial = code[4:].split("(21)", 1)
        if gtin.isdigit() and len(gtin) == 14:
            return f"{_GS1}/01/{gtin}/21/{_segment(serial)}"
    if code.startswith("(01)") and code[4:].isdigit() and len(code) == 18:
        return f"{_GS1}/01/{code[4:]}"
    return f"urn:tracenet:code:{quote(code, safe='')}"


def _party_lists(source: str, destination: str, glns: Parties) -> dict[str, Any]:
    return {"sourceList": [{"type": "owning_party", "source": enterprise_party(source, glns)}],
            "destinationList": [{"type": "owning_party",
                                 "destination": enterprise_party(destination, glns)}]}


def _production(p: Mapping[str, Any], _enterprise: str, _glns: Parties) -> dict[str, Any]:
    ilmd: dict[str, Any] = {"cbvmda:lotNumber": p["lot"]}
    if p.get("expiry"):
        ilmd["cbvmda:itemExpirationDate"] = p["expiry"]
    made = [_quantity(p["gtin"], p["lot"], p["quantity"], p["unit"])]
    if not p.get("inputs"):  # made from nothing on the ledger (a harvest, raw milk)
        return {"type": "ObjectEvent", "action": "ADD", "quantityList": made,
                "bizStep": "commissioning", "disposition": "active", "ilmd": ilmd}
    return {"type": "TransformationEvent",
            "inputQuantityList": [_quantity(i["gtin"], i["lot"], i["quantity"], i["unit"])
                                  for i in p["inputs"]],
            "outputQuantityList": made,
            "bizStep": "commissioning", "disposition": "active", "ilmd": ilmd}


def _intake(p: Mapping[str, Any], enterprise: str, glns: Parties) -> dict[str, Any]:
    return {"type": "ObjectEvent", "action": "OBSERVE",
            "quantityList": [_quantity(p["gtin"], p["lot"], p["quantity"], p["unit"])],
            "bizStep": "receiving",
            "disposition": "in_progress" if p.get("accepted") else "non_conformant",
            **_party_lists(p["supplier"], enterprise, glns),
            f"{TRACENET_PREFIX}:material": p.get("material"),
            **({f"{TRACENET_PREFIX}:certificate": p["certificate"]}
               if p.get("certificate") else {})}


def _movement(step: str, disposition: str, shipper_is_self: bool
              ) -> Callable[[Mapping[str, Any], str, Parties], dict[str, Any]]:
    def render(p: Mapping[str, Any], enterprise: str, glns: Parties) -> dict[str, Any]:
        source, destination = ((enterprise, p["counterparty"]) if shipper_is_self
                               else (p["counterparty"], enterprise))
        return {"type": "ObjectEvent", "action": "OBSERVE",
                "quantityList": [_quantity(p["gtin"], p["lot"], p["quantity"], p["unit"])],
                "bizStep": step, "disposition": disposition,
                "bizTransactionList": [{"type": "desadv",
                                        "bizTransaction": _document(p["document_no"])}],
                **_party_lists(source, destination, glns)}
    return render


def _document(number: str) -> str:
    return f"urn:tracenet:document:{quote(number, safe='')}"


def _inspection(p: Mapping[str, Any], _enterprise: str, _glns: Parties) -> dict[str, Any]:
    # the extension fields EPCIS capture reads back (schemas.epcis.mapping): kind, lab,
    # labUSCC, standard; the items as recorded
    details = {f"{TRACENET_PREFIX}:{name}": p[key] for key, name in (
        ("kind", "kind"), ("lab", "lab"), ("lab_uscc", "labUSCC"), ("standard", "standard"),
        ("items", "items")) if p.get(key) is not None}
    return {"type": "ObjectEvent", "action": "OBSERVE",
            "quantityList": [{"epcClass": lot_class(p["gtin"], p["lot"])}],
            "bizStep": "inspecting",
            "disposition": "conformant" if p.get("verdict") == "pass" else "non_conformant",
            "bizTransactionList": [{"type": "testres",
                                    "bizTransaction": _document(p["report_no"])}],
            **details}


def _serialization(p: Mapping[str, Any], _enterprise: str, _glns: Parties) -> dict[str, Any]:
    return {"type": "ObjectEvent", "action": "ADD",
            "epcList": [f"{_GS1}/01/{p['gtin']}/21/{_segment(serial)}"
                        for serial in p["serials"]],
            "bizStep": "commissioning", "disposition": "active",
            "ilmd": {"cbvmda:lotNumber": p["lot"]}}


def _aggregation(p: Mapping[str, Any], _enterprise: str, _glns: Parties) -> dict[str, Any]:
    return {"type": "AggregationEvent", "action": "ADD",
            "parentID": _element_to_uri(p["parent"]),
            "childEPCs": [_element_to_uri(child) for child in p["children"]],
            "bizStep": "packing", "disposition": "in_progress"}


def _recall(p: Mapping[str, Any], _enterprise: str, _glns: Parties) -> dict[str, Any]:
    lots = p.get("scope", {}).get("lots") or p.get("lots") or []
    return {"type": "ObjectEvent", "action": "OBSERVE",
            "quantityList": [{"epcClass": lot_class(lot["gtin"], lot["lot"])} for lot in lots],
            "bizStep": "holding", "disposition": "recalled",
            f"{TRACENET_PREFIX}:recall": {"kind": p.get("kind"), "level": p.get("level"),
                                          "reason": p.get("reason")}}


_RENDERERS: dict[str, tuple[str | None,
                            Callable[[Mapping[str, Any], str, Parties], dict[str, Any]]]] = {
    # record type -> (the payload field that dates it, the renderer)
    "production": ("produced_at", _production),
    "material_intake": ("received_at", _intake),
    "receipt": ("received_at", _movement("receiving", "in_progress", shipper_is_self=False)),
    "shipment": ("shipped_at", _movement("shipping", "in_transit", shipper_is_self=True)),
    "inspection": ("inspected_at", _inspection),
    "serialization": (None, _serialization),
    "aggregation": (None, _aggregation),
    "recall_initiated": (None, _recall),
}

#: the record types that render to an event
RENDERED_TYPES = frozenset(_RENDERERS)


def render_record(*, type_: str, payload: Mapping[str, Any], enterprise: str,
                  event_time: str, seq: int, glns: Parties) -> dict[str, Any] | None:
    """The EPCIS 2.0 event a native record of ``type_`` is, with its hash ID as eventID; None
    for a type that is no event.

    ``event_time`` is the entry's own time, used when the payload has no time of its own;
    ``glns`` names the enterprises by GLN where they registered one. The event has no
    ``recordTime``: the caller adds the entry's ``recorded_at`` (the hash leaves it out).
    """
    found = _RENDERERS.get(type_)
    if found is None:
        return None
    time_field, render = found
    when = payload.get(time_field) if time_field else None
    when = when if isinstance(when, str) and when else event_time
    body = render(payload, enterprise, glns)
    location = enterprise_location(enterprise, glns)
    event: dict[str, Any] = {"type": body.pop("type"), "eventTime": when,
                             "eventTimeZoneOffset": time_zone_offset(when)}
    event.update({key: value for key, value in body.items() if value is not None})
    event["readPoint"] = {"id": location}
    event["bizLocation"] = {"id": location}
    event[f"{TRACENET_PREFIX}:seq"] = seq
    event["eventID"] = event_hash_id(event, context=_PARSED_CONTEXT)
    return event
