"""EPCIS 2.0 events to Tracenet record statements: the capture's mapping, field by field.

It translates and decides nothing: what an event becomes is then admitted by the same rules
as a native record (``ledger.supervision``), through ``submit``. README ("EPCIS 2.0 capture")
documents the mapping; in short:

- ObjectEvent ``ADD`` + bizStep ``commissioning``: a ``production`` of each new lot (lot from
  the LGTIN class or ILMD ``lotNumber``, expiry from ILMD ``itemExpirationDate``), and a
  ``serialization`` of the SGTINs it names;
- ObjectEvent bizStep ``shipping`` / ``receiving``: a ``shipment`` / ``receipt`` per lot, the
  counterparty from the destination / source list (owning party, else possessing party, else
  location), the document number from a ``desadv`` (else ``inv``, ``po``) bizTransaction;
- ObjectEvent bizStep ``inspecting`` with disposition ``conformant`` / ``non_conformant``: an
  ``inspection`` per lot (report number from a ``testres`` bizTransaction, items from the
  sensor reports, lab, kind and standard from Tracenet extension fields);
- TransformationEvent: a ``production`` of its output lot from its input lots;
- AggregationEvent ``ADD``: an ``aggregation`` of the child SGTINs into the parent (SSCC);
- anything else (TransactionEvent, AssociationEvent, other business steps, goods of
  products not registered on the ledger): an ``epcis_event``, kept as received.

Every record carries ``epcis`` (hash ID, eventID, part, parts; the first part the event).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import unquote

from marshmallow import ValidationError

from ledger.epcis.hashing import Context
from ledger.epcis.identifiers import canonical_gs1_uri
from ledger.errors import FieldPath, render_field
from ledger.supervision import names
from schemas.events import load_payload
from schemas.messages import field_messages

__all__ = ["TRACENET_NS", "Directory", "EventProblem", "MappedEvent", "Mapper",
           "UNITS_BY_UOM", "cbv_word"]

#: the namespace of Tracenet's EPCIS extension fields and master-data attributes
TRACENET_NS = "https://tracenet.dev/epcis/"
#: UN/CEFACT Recommendation 20 unit codes -> Tracenet units (a quantity without uom: pcs)
UNITS_BY_UOM: Mapping[str, str] = {
    "KGM": "kg", "GRM": "g", "TNE": "t", "LTR": "L", "MLT": "mL",
    "H87": "pcs", "C62": "pcs", "EA": "pcs", "XPC": "pcs", "CS": "case", "XCS": "case",
}
_CBV_PREFIXES = ("urn:epcglobal:cbv:bizstep:", "urn:epcglobal:cbv:disp:",
                 "urn:epcglobal:cbv:btt:", "urn:epcglobal:cbv:sdt:",
                 "https://ref.gs1.org/cbv/BizStep-", "https://ref.gs1.org/cbv/Disp-",
                 "https://ref.gs1.org/cbv/BTT-", "https://ref.gs1.org/cbv/SDT-",
                 "cbv:BizStep-", "cbv:Disp-", "cbv:BTT-", "cbv:SDT-")
_DOCUMENT_TYPES = ("desadv", "inv", "po")
_PARTY_TYPES = ("owning_party", "possessing_party", "location")
_MAX_DOCUMENT = 60


def cbv_word(value: object) -> str | None:
    """A CBV vocabulary value as its bare word (``urn:epcglobal:cbv:bizstep:shipping``,
    ``https://ref.gs1.org/cbv/BizStep-shipping`` and ``shipping`` are all ``shipping``)."""
    if not isinstance(value, str):
        return None
    for prefix in _CBV_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


class Directory(Protocol):
    """What the mapping asks of the ledger (``ledger.epcis.owners.LedgerDirectory``)."""

    def owner_of_gln(self, gln: str) -> str | None: ...

    def owner_of_gtin(self, gtin: str) -> str | None: ...

    def enterprise_name(self, uscc: str) -> str | None: ...

    def product_known(self, gtin: str) -> bool: ...

    def lot_known(self, gtin: str, lot: str) -> bool: ...

    def unit_lot(self, gtin: str, serial: str) -> str | None: ...


@dataclass(frozen=True)
class EventProblem(Exception):  # noqa: N818 - a refusal, named as the JSON error it becomes
    """Why an event cannot be captured: ``code``, ``message``, ``field`` (a path)."""

    code: str
    message: str
    field: FieldPath | None = None

    def as_json(self) -> dict[str, Any]:
        """The error envelope's ``error`` body."""
        return {"code": self.code, "message": self.message, "field": render_field(self.field)}


@dataclass
class MappedEvent:
    """One event of a capture: its IDs, its owner and the record statements it became."""

    index: int
    event: Mapping[str, Any]
    hash_id: str
    event_id: str
    enterprise: str | None = None
    #: (record type, event_time, payload), payloads loaded by their schemas
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    problem: EventProblem | None = None


@dataclass(frozen=True)
class _Goods:
    gtin: str
    lot: str | None
    serial: str | None
    amount: Decimal
    unit: str
    at: FieldPath


@dataclass(frozen=True)
class _Key:
    """A GS1 key from an EPC: its primary AI and value, and its qualifiers."""

    ai: str
    value: str
    qualifiers: Mapping[str, str]


def parse_key(uri: object) -> _Key | None:
    """An EPC URI, EPC class or GS1 Digital Link to its GS1 key, or None."""
    if not isinstance(uri, str):
        return None
    canonical = canonical_gs1_uri(uri)
    if canonical is None:
        return None
    parts = [unquote(part) for part in canonical.split("/")[3:]]
    if len(parts) < 2 or len(parts) % 2:
        return None
    qualifiers = {parts[i]: parts[i + 1] for i in range(2, len(parts), 2)}
    return _Key(parts[0], parts[1], qualifiers)


class Mapper:
    """Maps a capture's events in document order, remembering what earlier events made
    (lots produced, units serialised, products registered from master data)."""

    def __init__(self, directory: Directory, context: Context, *,
                 products: Sequence[str] = ()) -> None:
        self.directory = directory
        self.context = context
        self._products = set(products)
        self._lots: set[tuple[str, str]] = set()
        self._units: dict[tuple[str, str], str] = {}

    # -- what the ledger and the earlier events know -----------------------------------------

    def _product(self, gtin: str) -> bool:
        return gtin in self._products or self.directory.product_known(gtin)

    def _lot_known(self, gtin: str, lot: str) -> bool:
        return (gtin, lot) in self._lots or self.directory.lot_known(gtin, lot)

    def _unit_lot(self, gtin: str, serial: str) -> str | None:
        return self._units.get((gtin, serial)) or self.directory.unit_lot(gtin, serial)

    def owner(self, uri: object) -> str | None:
        """The enterprise that holds a location or party (SGLN, PGLN, GLN Digital Link)."""
        key = parse_key(uri)
        if key is None or key.ai not in ("414", "417"):
            return None
        return self.directory.owner_of_gln(key.value)

    # -- the event's owner ---------------------------------------------------------------------

    def event_owner(self, event: Mapping[str, Any], base: FieldPath) -> str | None:
        """The enterprise an event belongs to: the owner of its bizLocation, else of its
        readPoint, else its shipping (source) or receiving (destination) owning party.

        Raises EventProblem naming the location when the event names one that no
        registered enterprise holds; None when it names no location or party at all.
        """
        named: list[tuple[str, FieldPath]] = []
        for name in ("bizLocation", "readPoint"):
            place = event.get(name)
            uri = place.get("id") if isinstance(place, Mapping) else None
            found = parse_key(uri)
            if isinstance(uri, str) and found is not None and found.ai in ("414", "417"):
                named.append((uri, (*base, name, "id")))  # not a geo: URI, say
        step = cbv_word(event.get("bizStep"))
        lists = {"shipping": ("sourceList", "source"),
                 "receiving": ("destinationList", "destination")}
        if step in lists:
            list_name, side = lists[step]
            for position, item in enumerate(event.get(list_name) or []):
                if isinstance(item, Mapping) and cbv_word(item.get("type")) == "owning_party":
                    named.append((str(item.get(side)), (*base, list_name, position, side)))
        for location, _at in named:
            owner = self.owner(location)
            if owner is not None:
                return owner
        if named:
            uri, at = named[0]
            raise EventProblem("epcis.unknown_location",
                               f"{uri} belongs to no registered enterprise (register its GLN "
                               f"or company prefix with the enterprise)", at)
        return None

    # -- mapping ------------------------------------------------------------------------------

    def map_event(self, mapped: MappedEvent, base: FieldPath) -> None:
        """Fill ``mapped.records`` (its enterprise is set); raises EventProblem."""
        event = mapped.event
        kind = event.get("type")
        step = cbv_word(event.get("bizStep"))
        action = event.get("action")
        records: list[tuple[str, dict[str, Any]]] = []
        if kind == "ObjectEvent" and action == "ADD" and step == "commissioning":
            records = self._commissioning(mapped, base)
        elif kind == "ObjectEvent" and action == "OBSERVE" and step in ("shipping", "receiving"):
            records = self._movement(mapped, base, step)
        elif (kind == "ObjectEvent" and step == "inspecting"
              and cbv_word(event.get("disposition")) in ("conformant", "non_conformant")):
            records = self._inspection(mapped, base)
        elif kind == "TransformationEvent":
            records = self._transformation(mapped, base)
        elif kind == "AggregationEvent" and action == "ADD":
            records = self._aggregation(mapped, base)
        if not records:
            records = [(names.EPCIS_EVENT, {})]
        time = str(event.get("eventTime"))
        parts = len(records)
        for part, (type_, payload) in enumerate(records):
            reference: dict[str, Any] = {"hash_id": mapped.hash_id, "event_id": mapped.event_id,
                                         "part": part, "parts": parts}
            if part == 0:
                reference["event"] = dict(event)
            payload["epcis"] = reference
            try:
                loaded = load_payload(type_, payload, signed=False)
            except ValidationError as exc:
                where, messages = next(field_messages(exc.messages), ((), ["invalid"]))
                raise EventProblem(
                    "epcis.unmappable",
                    f"the event maps to a {type_} record whose {render_field(where)} is "
                    f"wrong: {' '.join(messages)}", base) from None
            mapped.records.append((type_, time, loaded))

    def _goods(self, event: Mapping[str, Any], base: FieldPath, epcs: str, quantities: str,
               lot: str | None = None) -> list[_Goods]:
        """The goods an event names (of registered products only): SGTINs in ``epcs``,
        classes with quantities in ``quantities``."""
        goods: list[_Goods] = []
        for position, epc in enumerate(event.get(epcs) or []):
            key = parse_key(epc)
            if key is None or key.ai != "01" or "21" not in key.qualifiers:
                continue
            if not self._product(key.value):
                continue
            serial = key.qualifiers["21"]
            goods.append(_Goods(key.value, lot or self._unit_lot(key.value, serial), serial,
                                Decimal(1), "pcs", (*base, epcs, position)))
        for position, item in enumerate(event.get(quantities) or []):
            if not isinstance(item, Mapping):
                continue
            key = parse_key(item.get("epcClass"))
            if key is None or key.ai != "01" or not self._product(key.value):
                continue
            at = (*base, quantities, position)
            goods.append(_Goods(key.value, key.qualifiers.get("10") or lot, None,
                                _amount(item.get("quantity"), at),
                                _unit(item.get("uom"), (*at, "uom")), at))
        return goods

    def _ilmd(self, event: Mapping[str, Any], name: str) -> str | None:
        ilmd = event.get("ilmd")
        if not isinstance(ilmd, Mapping):
            return None
        for key, value in ilmd.items():
            if key.rpartition(":")[2] == name and isinstance(value, str | int):
                return str(value)
        return None

    def _additives(self, event: Mapping[str, Any]) -> list[str]:
        """The additives a production used (extension ``tracenet:additivesUsed``, a list)."""
        for key, value in event.items():
            if self.context.expand_key(key) == "{" + TRACENET_NS + "}additivesUsed":
                items = value if isinstance(value, list) else [value]
                return [str(item) for item in items if isinstance(item, str | int)]
        return []

    def _extension(self, event: Mapping[str, Any], name: str) -> str | None:
        for key, value in event.items():
            if self.context.expand_key(key) == "{" + TRACENET_NS + "}" + name:
                return str(value) if isinstance(value, str | int | float) else None
        return None

    def _by_lot(self, goods: list[_Goods], base: FieldPath) -> dict[tuple[str, str], list[_Goods]]:
        grouped: dict[tuple[str, str], list[_Goods]] = {}
        for item in goods:
            if item.lot is None:
                raise EventProblem(
                    "epcis.no_lot", f"no lot for {item.gtin}"
                    + (f" serial {item.serial} (a unit not serialised on the ledger)"
                       if item.serial else " (give an LGTIN or an ILMD lotNumber)"), item.at)
            grouped.setdefault((item.gtin, item.lot), []).append(item)
        return grouped

    def _commissioning(self, mapped: MappedEvent,
                       base: FieldPath) -> list[tuple[str, dict[str, Any]]]:
        event = mapped.event
        goods = self._goods(event, base, "epcList", "quantityList", self._ilmd(event, "lotNumber"))
        records: list[tuple[str, dict[str, Any]]] = []
        for (gtin, lot), items in self._by_lot(goods, base).items():
            if not self._lot_known(gtin, lot):
                records.append((names.PRODUCTION, {
                    "gtin": gtin, "lot": lot, **_total(items, base),
                    "produced_at": str(event.get("eventTime")),
                    "expiry": _date(self._ilmd(event, "itemExpirationDate")),
                    "inputs": [], "additives_used": self._additives(event)}))
                self._lots.add((gtin, lot))
            serials = [item.serial for item in items if item.serial is not None]
            if serials:
                records.append((names.SERIALIZATION, {"gtin": gtin, "lot": lot,
                                                      "serials": serials}))
                self._units.update({(gtin, serial): lot for serial in serials})
        return records

    def _movement(self, mapped: MappedEvent, base: FieldPath,
                  step: str) -> list[tuple[str, dict[str, Any]]]:
        event = mapped.event
        goods = self._goods(event, base, "epcList", "quantityList")
        if not goods:
            return []
        list_name, key = (("destinationList", "destination") if step == "shipping"
                          else ("sourceList", "source"))
        counterparty = self._party(event, list_name, key, base)
        shipper, receiver = ((mapped.enterprise, counterparty) if step == "shipping"
                             else (counterparty, mapped.enterprise))
        document = self._document(event)
        records: list[tuple[str, dict[str, Any]]] = []
        for (gtin, lot), items in self._by_lot(goods, base).items():
            number = document or "EPCIS-" + hashlib.sha256(
                f"{shipper}|{receiver}|{gtin}|{lot}".encode()).hexdigest()[:12]
            time_field = "shipped_at" if step == "shipping" else "received_at"
            records.append((names.SHIPMENT if step == "shipping" else names.RECEIPT, {
                "gtin": gtin, "lot": lot, **_total(items, base), "counterparty": counterparty,
                "document_no": number, time_field: str(event.get("eventTime"))}))
        return records

    def _party(self, event: Mapping[str, Any], list_name: str, key: str,
               base: FieldPath) -> str:
        """The registered enterprise on the other side of a shipment or receipt."""
        items = [item for item in event.get(list_name) or [] if isinstance(item, Mapping)]
        for wanted in _PARTY_TYPES:
            for position, item in enumerate(items):
                if cbv_word(item.get("type")) != wanted:
                    continue
                owner = self.owner(item.get(key))
                if owner is not None:
                    return owner
                raise EventProblem("epcis.unknown_party",
                                   f"{item.get(key)} belongs to no registered enterprise",
                                   (*base, list_name, position, key))
        raise EventProblem("epcis.no_party",
                           f"a {'shipment' if key == 'destination' else 'receipt'} of "
                           f"registered products needs a {list_name} naming the "
                           f"{'receiving' if key == 'destination' else 'shipping'} enterprise",
                           (*base, list_name))

    def _document(self, event: Mapping[str, Any], wanted: Sequence[str] = _DOCUMENT_TYPES
                  ) -> str | None:
        found: dict[str, str] = {}
        for item in event.get("bizTransactionList") or []:
            if isinstance(item, Mapping) and isinstance(item.get("bizTransaction"), str):
                found.setdefault(cbv_word(item.get("type")) or "", item["bizTransaction"])
        for kind in wanted:
            if kind in found:
                return _document_number(found[kind])
        return None

    def _inspection(self, mapped: MappedEvent,
                    base: FieldPath) -> list[tuple[str, dict[str, Any]]]:
        event = mapped.event
        goods = self._goods(event, base, "epcList", "quantityList")
        passed = cbv_word(event.get("disposition")) == "conformant"
        items = list(_sensor_items(event, passed)) or [
            {"name": "disposition", "value": str(cbv_word(event.get("disposition"))),
             "limit": None, "unit": None, "pass": passed}]
        report = self._document(event, ("testres",)) or \
            "EPCIS-" + mapped.hash_id.split(";")[1][:16]
        lab = (self._extension(event, "lab")
               or self.directory.enterprise_name(mapped.enterprise or "") or "self")
        return [(names.INSPECTION, {
            "gtin": gtin, "lot": lot, "kind": self._extension(event, "kind") or "self",
            "lab": lab[:200], "lab_uscc": self._extension(event, "labUSCC"),
            "standard": self._extension(event, "standard"), "items": items,
            "verdict": "pass" if passed else "fail", "report_no": report,
            "inspected_at": str(event.get("eventTime"))})
            for gtin, lot in self._by_lot(goods, base)]

    def _transformation(self, mapped: MappedEvent,
                        base: FieldPath) -> list[tuple[str, dict[str, Any]]]:
        event = mapped.event
        outputs = self._goods(event, base, "outputEPCList", "outputQuantityList",
                              self._ilmd(event, "lotNumber"))
        if not outputs:
            return []
        inputs = self._goods(event, base, "inputEPCList", "inputQuantityList")
        sources = [{"gtin": gtin, "lot": lot, **_total(items, base)}
                   for (gtin, lot), items in self._by_lot(inputs, base).items()]
        records: list[tuple[str, dict[str, Any]]] = []
        for (gtin, lot), items in self._by_lot(outputs, base).items():
            records.append((names.PRODUCTION, {
                "gtin": gtin, "lot": lot, **_total(items, base),
                "produced_at": str(event.get("eventTime")),
                "expiry": _date(self._ilmd(event, "itemExpirationDate")),
                # the inputs go into the first output lot: one production consumes them once
                "inputs": sources if not records else [],
                "additives_used": self._additives(event) if not records else []}))
            self._lots.add((gtin, lot))
            serials = [item.serial for item in items if item.serial is not None]
            if serials:
                records.append((names.SERIALIZATION, {"gtin": gtin, "lot": lot,
                                                      "serials": serials}))
                self._units.update({(gtin, serial): lot for serial in serials})
        return records

    def _aggregation(self, mapped: MappedEvent,
                     base: FieldPath) -> list[tuple[str, dict[str, Any]]]:
        event = mapped.event
        children = [(key.value, key.qualifiers["21"]) for key in
                    (parse_key(epc) for epc in event.get("childEPCs") or [])
                    if key is not None and key.ai == "01" and "21" in key.qualifiers]
        if not children or not all(self._product(gtin) for gtin, _ in children):
            return []
        parent = parse_key(event.get("parentID"))
        if parent is None:
            raise EventProblem("epcis.unmappable", "the parentID is not a GS1 key",
                               (*base, "parentID"))
        return [(names.AGGREGATION, {"parent": _element_string(parent), "children": [
            f"(01){gtin}(21){serial}" for gtin, serial in children]})]


def _element_string(key: _Key) -> str:
    text = f"({key.ai}){key.value}"
    return text + "".join(f"({ai}){value}" for ai, value in key.qualifiers.items())


def _amount(value: object, at: FieldPath) -> Decimal:
    if value is None:
        raise EventProblem("epcis.no_quantity", "a quantity element of a registered product "
                           "needs its quantity", (*at, "quantity"))
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise EventProblem("epcis.quantity", f"{value!r} is not a number",
                           (*at, "quantity")) from None
    if not amount.is_finite() or amount <= 0:
        raise EventProblem("epcis.quantity", f"quantity {value} must be above zero",
                           (*at, "quantity"))
    return amount


def _unit(uom: object, at: FieldPath) -> str:
    if uom is None:
        return "pcs"
    unit = UNITS_BY_UOM.get(str(uom))
    if unit is None:
        raise EventProblem("epcis.uom", f"unit {uom} has no Tracenet unit (known: "
                           f"{', '.join(sorted(UNITS_BY_UOM))})", at)
    return unit


def _total(items: list[_Goods], base: FieldPath) -> dict[str, str]:
    """The goods' quantity in one unit (a lot is measured in one)."""
    units = {item.unit for item in items}
    if len(units) > 1:
        raise EventProblem("epcis.uom", f"one lot in several units ({', '.join(sorted(units))})",
                           items[-1].at)
    total = sum((item.amount for item in items), Decimal(0))
    return {"quantity": _plain(total), "unit": units.pop()}


def _plain(amount: Decimal) -> str:
    text = format(amount.normalize(), "f")
    return text


def _date(value: str | None) -> str | None:
    return value[:10] if value else None


def _document_number(value: str) -> str:
    """A bizTransaction identifier (a URI) as a document number: its last segment
    (``urn:epcglobal:cbv:bt:0614141073467:1152`` -> ``1152``,
    ``https://erp.example.com/desadv/DN-1`` -> ``DN-1``)."""
    tail = unquote(value.split("?")[0].split("#")[0].rstrip("/:").replace(":", "/")
                   .rpartition("/")[2])
    return (tail or value)[-_MAX_DOCUMENT:]


def _sensor_items(event: Mapping[str, Any], passed: bool) -> Iterator[dict[str, Any]]:
    """Inspection items from the event's sensor reports (name: the report's type)."""
    for element in event.get("sensorElementList") or []:
        if not isinstance(element, Mapping):
            continue
        for report in element.get("sensorReport") or []:
            if not isinstance(report, Mapping):
                continue
            value = next((report[name] for name in ("value", "stringValue", "booleanValue",
                                                     "meanValue", "uriValue")
                          if name in report), None)
            if value is None:
                continue
            name = str(report.get("type") or report.get("exception") or "sensor")
            yield {"name": name.rpartition("/")[2].rpartition(":")[2][:100] or "sensor",
                   "value": str(value).lower() if isinstance(value, bool) else str(value)[:40],
                   "limit": None, "unit": str(report["uom"])[:20] if report.get("uom") else None,
                   "pass": passed}
