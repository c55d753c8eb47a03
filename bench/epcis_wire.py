"""EPCIS wire-format benchmark: event hash IDs and JSON Schema validation of a 10,000-event
capture document (the ``GS1-EPCIS-Capture-Limit`` issue 9 asks for).

Run ``.venv/bin/python bench/epcis_wire.py`` (part of ``make bench``); ``--quick`` is a smoke
run; ``--schema PATH`` names GS1's EPCIS JSON Schema (default ``$TRACENET_EPCIS_SCHEMA``, else
``$TRACENET_SHARED/epcis/gs1/EPCIS-JSON-Schema.json``, ``../shared`` by default; without one
the validation figures are skipped).

The document (:func:`capture_document`, seeded) is what a producer's system sends: commissioning
ObjectEvents with ILMD lot and expiry, shipping and receiving ObjectEvents with business
transactions, sources and destinations, AggregationEvents onto SSCCs, TransformationEvents,
inspections with sensor reports; EPC URIs and GS1 Digital Link URIs mixed, every EPC and time
its own. Figures, each against a limit of 2 s ("well under a few seconds") and a peer measured
in the same run:

1. **Hash** -- ``document_event_hash_ids`` over all N events, cold (first call in the process):
   seconds; peer: the RFC 8785 canonical bytes + SHA-256 of each event, which the ledger takes
   of every entry anyway (``ledger.log.canonical``).
2. **Validate** -- ``EPCISSchema.problems`` of the valid document (the compiled screen):
   seconds; peer: ``jsonschema`` alone on 200 of the events, scaled to N.
3. **Diagnose** -- the same document with one bad event (an ``action`` of ``CREATE``) at its
   end: seconds until the problem is named with its path.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ledger.epcis.hashing import document_event_hash_ids  # noqa: E402
from ledger.epcis.schema import SchemaUnavailable, load_schema  # noqa: E402
from ledger.log.canonical import canonical_bytes  # noqa: E402

LIMIT_S = 2.0
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def capture_document(events: int, seed: int = 0) -> dict[str, Any]:
    """A valid EPCISDocument of ``events`` varied events (see the module docstring)."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    prefixes = ["4012345", "0614141", "9521141", "6901234"]
    out: list[dict[str, Any]] = []
    for index in range(events):
        prefix = rng.choice(prefixes)
        item = f"{rng.randrange(10**(13 - len(prefix) - 1)):0{13 - len(prefix)}d}"
        serials = [f"{index}{k}" for k in range(rng.randint(1, 4))]
        gtin_dl = f"https://id.gs1.org/01/0{prefix}{item[1:]}0"
        epcs = [f"urn:epc:id:sgtin:{prefix}.{item}.{serial}" if k % 2 == 0
                else f"{gtin_dl}/21/{serial}" for k, serial in enumerate(serials)]
        when = start + timedelta(seconds=index * 37, milliseconds=rng.randrange(1000))
        offset = rng.choice(["+08:00", "+01:00", "-05:00"])
        base: dict[str, Any] = {
            "eventTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "eventTimeZoneOffset": offset,
            "readPoint": {"id": f"urn:epc:id:sgln:{prefix}.{rng.randrange(10**5):05d}.0"},
        }
        kind = index % 5
        if kind == 0:
            event = {"type": "ObjectEvent", **base, "epcList": epcs, "action": "ADD",
                     "bizStep": "commissioning", "disposition": "active",
                     "ilmd": {"cbvmda:lotNumber": f"L{index % 97}",
                              "cbvmda:itemExpirationDate": "2027-01-31"}}
        elif kind == 1:
            event = {"type": "ObjectEvent", **base, "epcList": epcs, "action": "OBSERVE",
                     "bizStep": rng.choice(["shipping", "receiving"]),
                     "disposition": "in_transit",
                     "bizLocation": {"id": f"urn:epc:id:sgln:{prefix}.00001.0"},
                     "bizTransactionList": [
                         {"type": "desadv", "bizTransaction": f"urn:epcglobal:cbv:bt:"
                                                              f"{prefix}000009:{index}"},
                         {"type": "po", "bizTransaction": f"http://po.example.com/{index}"}],
                     "sourceList": [{"type": "owning_party",
                                     "source": f"urn:epc:id:pgln:{prefix}.00000"}],
                     "destinationList": [{"type": "owning_party",
                                          "destination": "urn:epc:id:pgln:0614141.00000"}]}
        elif kind == 2:
            event = {"type": "AggregationEvent", **base, "action": "ADD",
                     "parentID": f"urn:epc:id:sscc:{prefix}.{index:0{17 - len(prefix)}d}",
                     "childEPCs": epcs, "bizStep": "packing",
                     "disposition": "in_progress"}
        elif kind == 3:
            event = {"type": "TransformationEvent", **base,
                     "inputEPCList": epcs,
                     "outputQuantityList": [{"epcClass": f"urn:epc:class:lgtin:{prefix}."
                                                         f"{item}.B{index}",
                                             "quantity": round(rng.uniform(1, 500), 1),
                                             "uom": "KGM"}],
                     "bizStep": "commissioning"}
        else:
            event = {"type": "ObjectEvent", **base, "epcList": epcs, "action": "OBSERVE",
                     "bizStep": "inspecting", "disposition": "conformant",
                     "sensorElementList": [{
                         "sensorMetadata": {"time": base["eventTime"],
                                            "deviceID": f"urn:epc:id:giai:{prefix}.D{index % 9}"},
                         "sensorReport": [{"type": "Temperature",
                                           "value": round(rng.uniform(2, 8), 2), "uom": "CEL"},
                                          {"type": "RelativeHumidity",
                                           "value": rng.randrange(30, 90), "uom": "P1"}]}]}
        out.append(event)
    return {"@context": [CONTEXT, {"cbvmda": "urn:epcglobal:cbv:mda:"}],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-03-01T08:00:00.000Z", "epcisBody": {"eventList": out}}


def _seconds(run: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    result = run()
    return time.perf_counter() - began, result


def _line(name: str, seconds: float, detail: str) -> None:
    verdict = "met" if seconds <= LIMIT_S else "MISSED"
    print(f"{name:<10} {seconds:7.3f} s  ({seconds / LIMIT_S:.2f} of the {LIMIT_S:.0f} s limit, "
          f"{verdict}); {detail}")


def main() -> None:
    """Run the figures and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="500 events, a smoke run")
    shared = Path(os.environ.get("TRACENET_SHARED", REPO.parent / "shared"))
    parser.add_argument("--schema", default=os.environ.get(
        "TRACENET_EPCIS_SCHEMA", str(shared / "epcis/gs1/EPCIS-JSON-Schema.json")))
    args = parser.parse_args()
    events = 500 if args.quick else args.events
    document = capture_document(events)
    print(f"EPCIS wire format: a {events:,}-event capture document "
          f"({len(str(document)) / 1e6:.1f} MB as Python text)")

    hashing, ids = _seconds(lambda: document_event_hash_ids(document))
    assert len(set(ids)) == events, "every generated event is distinct"
    peer, _ = _seconds(lambda: [hashlib.sha256(canonical_bytes(event)).digest()
                                for event in document["epcisBody"]["eventList"]])
    _line("hash", hashing, f"{hashing / events * 1e6:.0f} us/event; {hashing / peer:.1f}x the "
          f"JCS + SHA-256 of the same events ({peer:.3f} s)")

    try:
        compiled, schema = _seconds(lambda: load_schema(args.schema))
    except SchemaUnavailable as missing:
        print(f"validate   skipped: {missing}")
        return
    validating, problems = _seconds(lambda: schema.problems(document))
    assert problems == [], problems[:3]
    sample = copy.deepcopy(document)
    sample["epcisBody"]["eventList"] = sample["epcisBody"]["eventList"][:200]
    reference, _ = _seconds(lambda: list(schema._root.diagnosis.iter_errors(sample)))
    scaled = reference * events / 200
    _line("validate", validating, f"{validating / events * 1e6:.0f} us/event; jsonschema alone "
          f"would take ~{scaled:.0f} s ({scaled / validating:.0f}x); compiling the schema "
          f"once per process: {compiled:.2f} s")

    broken = copy.deepcopy(document)
    broken["epcisBody"]["eventList"][-1]["action"] = "CREATE"
    broken["epcisBody"]["eventList"][-1]["type"] = "ObjectEvent"
    diagnosing, problems = _seconds(lambda: schema.problems(broken))
    assert problems and problems[0].field[:3] == ("epcisBody", "eventList", events - 1)
    _line("diagnose", diagnosing, f"named: {problems[0].message}")


if __name__ == "__main__":
    main()
