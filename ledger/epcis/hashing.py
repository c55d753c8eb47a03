"""The CBV 2.0 event hash ID of an EPCIS event: ``ni:///sha-256;<hex>?ver=CBV2.0``.

CBV 2.0 ("Event hash ID") names an event by the SHA-256 of a *pre-hash string* (RFC 6920
``ni`` URI), so the same event gets the same ID however it was serialised: JSON key order, EPC
URI or GS1 Digital Link, bare CBV words or their URIs, CURIEs or full URIs, any time zone,
``1.0`` or ``1``. The pre-hash string is built here exactly as GS1's reference generator
(RalphTro/epcis-event-hash-generator) builds the vectors in ``vectors/epcis-hash/``:

1. ``eventType=<type>``, then the standard fields in the canonical property order
   (:data:`EVENT_ORDER`), each ``name=value`` with no separator; a list (``epcList``,
   ``quantityList``, ``sensorElementList``, ...) is written once by name, then its items, each
   rendered and the renderings sorted by code point; ``readPoint``, ``bizLocation``, the
   quantity elements and the sensor elements, metadata and reports end with their own
   extension fields, rendered and sorted.
2. Then everything else at the event's top level — ILMD, user extensions, and (as the
   reference generator does, so as the vectors hold) ``bizTransactionList``, ``sourceList`` and
   ``destinationList``, whose items read ``type=<T><id field>=<V>`` — each rendered and all
   sorted together by code point.
3. Left out: ``type`` (it opened the string), ``eventID``, ``recordTime``,
   ``errorDeclaration``, ``@context``, ``rdfs:comment``, null values, and the fields the
   document's ``ignoreFields`` extension names (:func:`document_ignore_fields`).

Values are normalised before they are written: surrounding white space stripped; time stamps
of the ordered fields to UTC with milliseconds (``...T10:00:30.000Z``, a fourth decimal of 5-9
rounding up); bare CBV words of the vocabulary fields to their web URIs (``shipping`` ->
``https://ref.gs1.org/cbv/BizStep-shipping``), CBV 1.x URNs likewise, CURIEs expanded with the
document's ``@context`` and the EPCIS context's own prefixes (``gs1``, ``cbv``, ...); numbers
without a sign, leading or trailing zeros (``452.0`` -> ``452``); EPC URIs and GS1 Digital
Link URIs to the constrained canonical Digital Link (:mod:`ledger.epcis.identifiers`).
Extension keys are written ``{namespace}localName``.

Where the reference generator is ill-defined we decide, and say so: booleans are ``true`` /
``false`` (JSON's words, not Python's ``True``); numbers keep all their digits (the reference
goes through a float and loses digits past the 16th) and are written without an exponent; a
time without a zone is hashed as written (the reference reads it in the machine's local zone);
an extension value is never rewritten because another event of the document uses the same word
for a CBV term (the reference's bare-word guess is document-wide); the type comes first in a
business transaction, source or destination whatever the JSON key order. None of these cases
occurs in the vectors.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.epcis.identifiers import canonical_gs1_uri
from ledger.errors import EPCISError

__all__ = [
    "DEFAULT_PREFIXES",
    "EVENT_ORDER",
    "Context",
    "document_event_hash_ids",
    "document_events",
    "document_ignore_fields",
    "event_hash_id",
    "parse_context",
    "prehash_string",
]

#: the prefixes the EPCIS 2.0 JSON-LD context itself defines (epcis-context.jsonld)
DEFAULT_PREFIXES: Mapping[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": "https://ref.gs1.org/cbv/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}

_CBV = "https://ref.gs1.org/cbv/"
_GS1 = "https://gs1.org/voc/"
_CBV_URNS = (("urn:epcglobal:cbv:bizstep:", _CBV + "BizStep-"),
             ("urn:epcglobal:cbv:disp:", _CBV + "Disp-"),
             ("urn:epcglobal:cbv:btt:", _CBV + "BTT-"),
             ("urn:epcglobal:cbv:sdt:", _CBV + "SDT-"),
             ("urn:epcglobal:cbv:er:", _CBV + "ER-"))
_COMMENTS = frozenset({"rdfs:comment", "comment", "{http://www.w3.org/2000/01/rdf-schema#}comment"})
_NOT_HASHED = frozenset({"type", "eventID", "recordTime", "errorDeclaration", "@context"})
_TIMES = frozenset({"eventTime", "time", "startTime", "endTime"})
#: fields whose item pairs a type with an identifier (EPCIS 2.0, 7.3.5.5 and 7.3.5.6)
_TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source",
                "destinationList": "destination"}

# --- the canonical property order ---------------------------------------------------------


@dataclass(frozen=True)
class Fields:
    """An object written field by field in this order, its other fields (extensions) last."""

    order: tuple[tuple[str, Spec], ...]
    #: the CBV vocabulary (URI prefix) of a field whose values may be bare words
    vocabulary: Mapping[str, str]


@dataclass(frozen=True)
class Items:
    """A JSON array written once by name, then each item under ``item``, sorted."""

    item: str
    spec: Spec


Spec = Fields | Items | None

_EMPTY: Mapping[str, str] = {}
_QUANTITY = Items("quantityElement", Fields((("epcClass", None), ("quantity", None),
                                             ("uom", None)), _EMPTY))
_EPCS = Items("epc", None)
_SENSOR_METADATA = Fields(tuple((name, None) for name in (
    "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
    "dataProcessingMethod", "bizRules")), _EMPTY)
_SENSOR_REPORT = Fields(tuple((name, None) for name in (
    "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
    "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
    "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank",
    "percValue", "uom", "coordinateReferenceSystem")),
    {"type": _GS1, "exception": _GS1, "component": _CBV + "Comp-"})

#: CBV 2.0 canonical property order, as the reference generator applies it (certificationInfo
#: after the time zone; the three typed lists go with the extensions, see the module docstring)
EVENT_ORDER = Fields((
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", _EPCS),
    ("inputEPCList", _EPCS),
    ("childEPCs", _EPCS),
    ("quantityList", _QUANTITY),
    ("childQuantityList", _QUANTITY),
    ("inputQuantityList", _QUANTITY),
    ("outputEPCList", _EPCS),
    ("outputQuantityList", _QUANTITY),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", Fields((("set", None), ("unset", None)),
                                     {"set": _CBV + "Disp-", "unset": _CBV + "Disp-"})),
    ("readPoint", Fields((("id", None),), _EMPTY)),
    ("bizLocation", Fields((("id", None),), _EMPTY)),
    ("sensorElementList", Items("sensorElement", Fields(
        (("sensorMetadata", _SENSOR_METADATA), ("sensorReport", _SENSOR_REPORT)), _EMPTY))),
), {"bizStep": _CBV + "BizStep-", "disposition": _CBV + "Disp-"})

_TYPE_VOCABULARY = {"bizTransactionList": _CBV + "BTT-", "sourceList": _CBV + "SDT-",
                    "destinationList": _CBV + "SDT-"}

# --- the JSON-LD context: prefixes for CURIEs and extension keys ---------------------------


@dataclass(frozen=True)
class Context:
    """The prefixes in force: the EPCIS context's own, then the document's.

    It also remembers the values it normalised: the events of one document repeat their
    locations, steps and classes, and a capture hashes thousands of them.
    """

    prefixes: Mapping[str, str]
    memo: dict[tuple[str, str | None, bool], str] = field(
        default_factory=dict, compare=False, repr=False)

    def expand_key(self, key: str) -> str:
        """``example:myField`` -> ``{https://ns.example.com/epcis/}myField`` (else as is)."""
        prefix, colon, local = key.partition(":")
        namespace = self.prefixes.get(prefix) if colon else None
        return "{" + namespace + "}" + local if namespace is not None else key

    def expand_value(self, value: str) -> str:
        """A CURIE value to its full URI (``gs1:Angle`` -> ``https://gs1.org/voc/Angle``)."""
        prefix, colon, local = value.partition(":")
        if not colon or local.startswith("//"):
            return value
        namespace = self.prefixes.get(prefix)
        return namespace + local if namespace is not None else value


def parse_context(raw: object, base: Context | None = None) -> Context:
    """The prefixes an ``@context`` value defines (a URI string, an object, or a list of both),
    over ``base`` (default: the EPCIS context's own prefixes)."""
    prefixes = dict(base.prefixes if base is not None else DEFAULT_PREFIXES)
    for entry in raw if isinstance(raw, list) else [raw]:
        if not isinstance(entry, Mapping):
            continue  # a remote context by URI: the EPCIS one is built in, others unknown
        for term, definition in entry.items():
            iri = definition.get("@id") if isinstance(definition, Mapping) else definition
            if isinstance(term, str) and not term.startswith("@") and isinstance(iri, str):
                prefixes[term] = iri
    return Context(prefixes)


_DEFAULT_CONTEXT = Context(DEFAULT_PREFIXES)

# --- values ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                   r"(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))")
#: numbers beyond this many digits either side of the point are written as they came
_MAX_DIGITS = 400
_MEMO_SIZE = 1 << 16
_NUMBER_START = frozenset("+-.0123456789")


def _number(text: str) -> str | None:
    """``+0452.50`` -> ``452.5``; None when ``text`` is not a decimal number."""
    if text[:1] not in _NUMBER_START or not _NUMBER.fullmatch(text):
        return None
    try:
        value = Decimal(text).normalize()
    except InvalidOperation:
        return None
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or abs(exponent) + len(value.as_tuple().digits) > _MAX_DIGITS:
        return None
    written = format(value, "f")
    return "0" if written in ("-0", "0") else written


def _time(text: str) -> str:
    """An xsd:dateTimeStamp in UTC with milliseconds (``2020-03-04T10:00:30.000Z``)."""
    match = _TIME.fullmatch(text)
    if match is None:
        return text  # not a time stamp with a zone: hashed as written
    year, month, day, hour, minute, second, fraction, zulu, sign, zh, zm = match.groups()
    fraction = fraction or ""
    milliseconds = int((fraction + "000")[:3]) + (1 if fraction[3:4] >= "5" else 0)
    offset = timedelta(0) if zulu else (1 if sign == "+" else -1) * timedelta(
        hours=int(zh), minutes=int(zm))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          tzinfo=timezone(offset)) + timedelta(milliseconds=milliseconds)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return text
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class _Writer:
    """Renders one event's fields under its context."""

    context: Context

    def text(self, value: object, *, vocabulary: str | None = None,
             time: bool = False) -> str | None:
        """A scalar's normalised text; None for null, objects and arrays."""
        if value is None or isinstance(value, dict | list):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return _number(repr(value)) or repr(value)
        raw = str(value)
        memo = self.context.memo
        key = (raw, vocabulary, time)
        known = memo.get(key)
        if known is None:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            known = memo[key] = self._normalised(raw.strip(), vocabulary, time)
        return known

    def _normalised(self, text: str, vocabulary: str | None, time: bool) -> str:
        if not text:
            return ""
        if time:
            return _time(text)
        if vocabulary is not None and ":" not in text:
            text = vocabulary + text  # a bare CBV word (JSON-LD @vocab)
        if text.startswith("urn:epcglobal:cbv:"):
            for urn, uri in _CBV_URNS:
                if text.startswith(urn):
                    text = uri + text[len(urn):]
                    break
        text = self.context.expand_value(text)
        return _number(text) or canonical_gs1_uri(text) or text

    def ordered(self, value: object, spec: Fields) -> str:
        """An object's fields in ``spec``'s order, then its own extensions, sorted."""
        if not isinstance(value, dict):
            return ""
        out = []
        for name, child in spec.order:
            if name in value:
                out += sorted(self.field(name, value[name], child, spec.vocabulary.get(name)))
        names = {name for name, _ in spec.order}
        out += sorted(text for key, item in value.items()
                      if key not in names and not self._skipped(key)
                      for text in self.generic(key, item))
        return "".join(out)

    def field(self, name: str, value: object, spec: Spec,
              vocabulary: str | None = None) -> list[str]:
        """A standard field's renderings, one per value (a JSON array gives several)."""
        if isinstance(spec, Items):
            items = value if isinstance(value, list) else [value]
            inner = sorted(text for item in items
                           for text in self.field(spec.item, item, spec.spec))
            return [name + "".join(inner)] if inner else []
        if isinstance(value, list):
            return [text for item in value for text in self.field(name, item, spec, vocabulary)]
        if isinstance(spec, Fields):
            if not isinstance(value, dict):
                return self.generic(name, value)
            inner_text = self.ordered(value, spec)
            return [name + inner_text] if inner_text else []
        if isinstance(value, dict):
            return self.generic(name, value)
        text = self.text(value, vocabulary=vocabulary, time=name in _TIMES)
        return [f"{name}={text}"] if text else []

    def generic(self, key: str, value: object) -> list[str]:
        """Any other field: ``{ns}key=value``, an object's fields sorted, an array's items as
        repeated fields (under the singular name when the key ends in ``List``)."""
        name = self.context.expand_key(key)
        if key in _TYPED_LISTS and isinstance(value, list):
            inner = sorted(self.typed(key, item) for item in value)
            return [name + "".join(inner)]
        if isinstance(value, list):
            if name.endswith("List"):
                inner = sorted(text for item in value for text in self.generic(key[:-4], item))
                return [name + "".join(inner)]
            return [text for item in value for text in self.generic(key, item)]
        if isinstance(value, dict):
            return [name + "".join(sorted(
                text for child, item in value.items() if not self._skipped(child)
                for text in self.generic(child, item)))]
        text = self.text(value)
        if text is None:
            return []
        return [f"{name}={text}" if text else name]

    def typed(self, key: str, item: object) -> str:
        """A business transaction, source or destination: type first, then the identifier."""
        if not isinstance(item, dict):
            return "".join(self.generic(_TYPED_LISTS[key], item))
        identifier = _TYPED_LISTS[key]
        out = []
        kind = self.text(item.get("type"), vocabulary=_TYPE_VOCABULARY[key])
        if kind:
            out.append(f"type={kind}")
        value = self.text(item.get(identifier))
        if value:
            out.append(f"{identifier}={value}")
        out += sorted(text for child, value in item.items()
                      if child not in ("type", identifier) and not self._skipped(child)
                      for text in self.generic(child, value))
        return "".join(out)

    def _skipped(self, key: str) -> bool:
        return key in _COMMENTS or self.context.expand_key(key) in _COMMENTS


# --- the event hash ID ----------------------------------------------------------------------

def _event_context(event: Mapping[str, Any], context: Context | object) -> Context:
    base = context if isinstance(context, Context) else (
        _DEFAULT_CONTEXT if context is None else parse_context(context))
    own = event.get("@context")
    return parse_context(own, base) if own is not None else base


def prehash_string(event: Mapping[str, Any], *, context: Context | object = None,
                   ignore_fields: Iterable[str] = ()) -> str:
    """The CBV 2.0 pre-hash string of one EPCIS event (JSON, as parsed).

    ``context`` is the document's ``@context`` (as it appears there, or parsed once with
    :func:`parse_context`); the event's own ``@context`` adds to it. ``ignore_fields`` names
    top-level extension fields left out of the hash (the document's ``ignoreFields``
    extension), as written in the document or as ``{namespace}localName``. Raises
    :class:`EPCISError` when ``event`` is not an object with a ``type``, or when
    ``ignore_fields`` names a standard field (``bizStep``, ...): two different events must
    never share an ID.
    """
    if not isinstance(event, Mapping):
        raise EPCISError("an EPCIS event is a JSON object", field=())
    if not isinstance(event, dict):
        event = dict(event)
    kind = event.get("type")
    if not isinstance(kind, str) or not kind.strip():
        raise EPCISError("an EPCIS event needs its type (ObjectEvent, ...)", field="type")
    try:
        return _prehash(event, kind.strip(), _event_context(event, context), ignore_fields)
    except RecursionError:  # the web layer bounds nesting; a direct caller may not have
        raise EPCISError("the event nests too deeply to be hashed", field=()) from None


def _prehash(event: dict[str, Any], kind: str, context: Context,
             ignore_fields: Iterable[str]) -> str:
    writer = _Writer(context)
    ignored = set(ignore_fields)
    standard = sorted(name for name in ignored if ":" not in name and not name.startswith("{"))
    if standard:
        # Only a repository's own extension fields may be left out: ignoring a standard field
        # would let different events share an ID, and one capture squat another's.
        raise EPCISError(f"ignoreFields may name extension fields only, not {standard[0]!r}",
                         field=("ignoreFields",))
    ignored |= {writer.context.expand_key(name) for name in ignored}
    ordered_names = {name for name, _ in EVENT_ORDER.order}
    tail = sorted(text for key, value in event.items()
                  if key not in ordered_names and key not in _NOT_HASHED
                  and key not in ignored and writer.context.expand_key(key) not in ignored
                  and not writer._skipped(key)
                  for text in writer.generic(key, value))
    kept = {key: value for key, value in event.items() if key in ordered_names
            and key not in ignored}
    return "eventType=" + kind + writer.ordered(kept, EVENT_ORDER) + "".join(tail)


def event_hash_id(event: Mapping[str, Any], *, context: Context | object = None,
                  ignore_fields: Iterable[str] = ()) -> str:
    """The CBV 2.0 event hash ID, ``ni:///sha-256;<hex>?ver=CBV2.0`` (RFC 6920), of one event;
    arguments as :func:`prehash_string`."""
    prehash = prehash_string(event, context=context, ignore_fields=ignore_fields)
    return ("ni:///sha-256;" + hashlib.sha256(prehash.encode("utf-8")).hexdigest()
            + "?ver=CBV2.0")


# --- documents ------------------------------------------------------------------------------

def document_events(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The events of an EPCISDocument (``epcisBody.eventList``), an EPCISQueryDocument
    (``epcisBody.queryResults.resultsBody.eventList``), or a single event."""
    body = document.get("epcisBody")
    if not isinstance(body, Mapping):
        return [document] if str(document.get("type", "")).endswith("Event") else []
    if isinstance(body.get("queryResults"), Mapping):
        results = body["queryResults"].get("resultsBody")
        events = results.get("eventList") if isinstance(results, Mapping) else None
    elif "event" in body:
        events = [body["event"]]
    else:
        events = body.get("eventList")
    return [event for event in events or [] if isinstance(event, Mapping)]


def document_ignore_fields(document: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields the document's ``ignoreFields`` extension leaves out of every event's hash.

    The extension (the vectors' ``repository-x:ignoreFields``, which GS1's published reference
    package does not read) sits at the document's top level or, in a query document, in
    ``epcisBody.queryResults``; any namespace is accepted, since it is the repository's own.
    """
    places: list[Mapping[str, Any]] = [document]
    body = document.get("epcisBody")
    if isinstance(body, Mapping) and isinstance(body.get("queryResults"), Mapping):
        places.append(body["queryResults"])
    names: list[str] = []
    for place in places:
        for key, value in place.items():
            if (key == "ignoreFields" or key.endswith(":ignoreFields")) \
                    and isinstance(value, list):
                names += [name for name in value if isinstance(name, str)]
    return tuple(names)


def document_event_hash_ids(document: Mapping[str, Any]) -> list[str]:
    """Every event's hash ID, in document order, under the document's context and
    ``ignoreFields``."""
    context = parse_context(document.get("@context"))
    ignored = document_ignore_fields(document)
    return [event_hash_id(event, context=context, ignore_fields=ignored)
            for event in document_events(document)]

