"""EPCIS 2.0 benchmarks: capture throughput against the native batch append of the same events.

Run ``.venv/bin/python bench/epcis.py`` (``--only capture`` or ``--only query``; ``--events
N``; ``--quick`` is a smoke run). ``query`` is ``bench/epcis_query.py`` on an index of 100 x N
events (its docstring says what it times). Every figure is measured in this run, on this machine:

**capture** -- one EPCISDocument of 10,000 events (2,500 lots, each commissioned, inspected
``conformant``, shipped to a customer and received by it: ObjectEvents with LGTIN quantities,
ILMD lot and expiry, a sensor report, desadv / testres bizTransactions) is posted to
``POST /epcis/capture`` (rollback, an admin's token for both enterprises), and the same 10,000
events as native records (``production``, ``inspection``, ``shipment``, ``receipt``) are posted
to ``POST /api/v1/events`` as one list per enterprise (the maker's 7,500, then the buyer's
2,500 receipts; an enterprise's token writes as itself only), each into a fresh SQLite
ledger with the same enterprises and product, through the app in-process (Flask's test
client: no sockets, so the two differ only in what the service does); the document lists the
events in the same order (the maker's, then the buyer's). The figure is events/s of each and
their ratio (goal: capture >= 0.5 of native). Capture does more per event: the JSON Schema
check, the CBV 2.0 hash ID, the mapping, and a record that carries the whole event as
received. The schema is compiled before timing (once per process, as a worker does).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TRACENET_EPCIS_SCHEMA", str(
    Path(os.environ.get("TRACENET_SHARED", REPO.parent / "shared"))
    / "epcis" / "gs1" / "EPCIS-JSON-Schema.json"))

from click.testing import CliRunner  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from ledger.epcis.schema import load_schema  # noqa: E402
from ledger.supervision.check_digits import gs1_check_digit  # noqa: E402
from schemas.identifiers import uscc_check_character  # noqa: E402
from web import create_app  # noqa: E402
from web.cli import main as cli  # noqa: E402

PREFIXES = {"maker": "6901234", "buyer": "6905678"}
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
           {"tracenet": "https://tracenet.dev/epcis/"}]


def uscc(serial: int) -> str:
    first17 = f"91350100MA{serial:07d}"
    return first17 + uscc_check_character(first17)


def with_check(digits: str) -> str:
    return digits + gs1_check_digit(digits)


MAKER, BUYER = uscc(801), uscc(802)
PRODUCT = with_check("0" + PREFIXES["maker"] + "00017")
GLN = {MAKER: with_check(PREFIXES["maker"] + "00000"),
       BUYER: with_check(PREFIXES["buyer"] + "00000")}


def _time(minute: int) -> str:
    return f"2026-11-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00+08:00"


def _where(enterprise: str) -> dict[str, Any]:
    location = f"https://id.gs1.org/414/{GLN[enterprise]}"
    return {"readPoint": {"id": location}, "bizLocation": {"id": location}}


def epcis_events(lots: int) -> list[dict[str, Any]]:
    """Four ObjectEvents per lot: commissioning, inspecting, shipping, receiving; the maker's
    first, then the buyer's (the order the native records are posted in)."""
    events: list[dict[str, Any]] = []
    for n in range(lots):
        lot, minute = f"L{n:06d}", n * 4
        klass = [{"epcClass": f"https://id.gs1.org/01/{PRODUCT}/10/{lot}", "quantity": 48}]
        desadv = [{"type": "desadv",
                   "bizTransaction": f"urn:epcglobal:cbv:bt:{GLN[MAKER]}:DN{n:06d}"}]
        parties = {"sourceList": [{"type": "owning_party",
                                   "source": f"https://id.gs1.org/417/{GLN[MAKER]}"}],
                   "destinationList": [{"type": "owning_party",
                                        "destination": f"https://id.gs1.org/417/{GLN[BUYER]}"}]}
        base = {"type": "ObjectEvent", "eventTimeZoneOffset": "+08:00"}
        events += [
            {**base, "eventTime": _time(minute), "action": "ADD", "bizStep": "commissioning",
             "disposition": "active", "quantityList": [{**klass[0], "quantity": 480}],
             "ilmd": {"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": "2027-05-26"},
             **_where(MAKER)},
            {**base, "eventTime": _time(minute + 1), "action": "OBSERVE",
             "bizStep": "inspecting", "disposition": "conformant", "quantityList": klass,
             "bizTransactionList": [{"type": "testres", "bizTransaction":
                                     f"urn:epcglobal:cbv:bt:{GLN[MAKER]}:QC{n:06d}"}],
             "sensorElementList": [{"sensorReport": [{"type": "gs1:Temperature",
                                                      "value": 4.5, "uom": "CEL"}]}],
             "tracenet:lab": "福建省产品质量检验研究院", **_where(MAKER)},
            {**base, "eventTime": _time(minute + 2), "action": "OBSERVE", "bizStep": "shipping",
             "disposition": "in_transit", "quantityList": klass, "bizTransactionList": desadv,
             **parties, **_where(MAKER)},
            {**base, "eventTime": _time(minute + 3), "action": "OBSERVE",
             "bizStep": "receiving", "disposition": "in_progress", "quantityList": klass,
             "bizTransactionList": desadv, **parties, **_where(BUYER)},
        ]
    return by_enterprise(events, lambda event: event["bizLocation"]["id"].endswith(
        GLN[BUYER]))


def by_enterprise(events: list[dict[str, Any]],
                  is_buyers: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The maker's events, then the buyer's, each in their own order."""
    return ([event for event in events if not is_buyers(event)]
            + [event for event in events if is_buyers(event)])


def native_events(lots: int) -> list[dict[str, Any]]:
    """The same events as native records (what the capture maps them to)."""
    events: list[dict[str, Any]] = []
    for n in range(lots):
        lot, minute = f"L{n:06d}", n * 4
        common = {"gtin": PRODUCT, "lot": lot}
        moved = {**common, "quantity": "48", "unit": "pcs", "document_no": f"DN{n:06d}"}
        events += [
            {"type": "production", "enterprise": MAKER, "event_time": _time(minute),
             "payload": {**common, "quantity": "480", "unit": "pcs",
                         "produced_at": _time(minute), "expiry": "2027-05-26"}},
            {"type": "inspection", "enterprise": MAKER, "event_time": _time(minute + 1),
             "payload": {**common, "kind": "self", "lab": "福建省产品质量检验研究院",
                         "items": [{"name": "Temperature", "value": "4.5", "unit": "CEL",
                                    "pass": True}],
                         "verdict": "pass", "report_no": f"QC{n:06d}",
                         "inspected_at": _time(minute + 1)}},
            {"type": "shipment", "enterprise": MAKER, "event_time": _time(minute + 2),
             "payload": {**moved, "counterparty": BUYER, "shipped_at": _time(minute + 2)}},
            {"type": "receipt", "enterprise": BUYER, "event_time": _time(minute + 3),
             "payload": {**moved, "counterparty": MAKER, "received_at": _time(minute + 3)}},
        ]
    return by_enterprise(events, lambda event: event["enterprise"] == BUYER)


def _cli(app: Flask, *args: str) -> str:
    env = {"TRACENET_DATABASE_URL": app.config["DATABASE_URL"],
           "TRACENET_LEDGER_KEY": app.config["LEDGER_KEY"],
           "TRACENET_SECRET_KEY": app.config["SECRET_KEY"],
           "TRACENET_CODE_SECRET": app.config["CODE_SECRET"],
           "TRACENET_INSTANCE": app.instance_path}
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    return str(result.output)


def _token(output: str) -> str:
    return output.split("shown once): ")[1].strip()


def fresh_app(workdir: Path) -> tuple[FlaskClient, dict[str, str]]:
    """An app over a new SQLite ledger with the maker (and its product), the buyer, their GS1
    keys and tokens (a producer's for each, an admin's)."""
    workdir.mkdir(parents=True)
    app = create_app({"DATABASE_URL": f"sqlite:///{workdir / 'tracenet.db'}",
                      "LEDGER_KEY": str(workdir / "ledger_key.pem"), "SECRET_KEY": "bench",
                      "CODE_SECRET": "bench", "RATELIMIT_ENABLED": False,
                      "MAX_CONTENT_LENGTH": 256 * 1024 * 1024})
    _cli(app, "init")
    tokens = {}
    for enterprise, name, key in ((MAKER, "乳业", "maker"), (BUYER, "超市", "buyer")):
        tokens[enterprise] = _token(_cli(
            app, "enterprise", "add", "--uscc", enterprise, "--name", name, "--district",
            "福州市", "--gs1-prefix", PREFIXES[key], "--gln", GLN[enterprise]))
    tokens["admin"] = _token(_cli(app, "token", "add", "--enterprise", "operator", "--role",
                                  "admin"))
    client = app.test_client()
    answer = client.post("/api/v1/events", json={
        "type": "product_registered", "event_time": "2026-11-01T00:00:00+08:00",
        "payload": {"gtin": PRODUCT, "name": "纯牛奶 250mL", "category": "08",
                    "standard": "GB 7101-2022"}},
        headers={"Authorization": f"Bearer {tokens[MAKER]}"})
    if answer.status_code != 201:
        raise RuntimeError(answer.get_json())
    return client, tokens


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def capture_section(events: int, workdir: Path) -> None:
    lots = max(1, events // 4)
    count = lots * 4
    document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2026-11-26T00:00:00Z",
                "epcisBody": {"eventList": epcis_events(lots)}}
    body = json.dumps(document, ensure_ascii=False).encode()
    native = json.dumps(native_events(lots), ensure_ascii=False).encode()

    client, tokens = fresh_app(workdir / "native")
    # an admin writes as the operator only: each enterprise's token posts its records
    seconds_native, answer = timed(lambda: _native_by_enterprise(client, tokens, native))
    if answer.status_code != 201:
        raise RuntimeError(answer.get_json())

    client, tokens = fresh_app(workdir / "capture")
    load_schema()  # compiled once per process (a worker's start), as the native path's are
    seconds_capture, answer = timed(lambda: client.post(
        "/epcis/capture", data=body, content_type="application/ld+json",
        headers={"Authorization": f"Bearer {tokens['admin']}"}))
    job = answer.get_json()
    if answer.status_code != 202 or not job["success"] or job["captured"] != count:
        raise RuntimeError(json.dumps(job)[:2000])

    rate_native, rate_capture = count / seconds_native, count / seconds_capture
    print(f"capture: {count} events, document {len(body) / 1e6:.1f} MB, native list "
          f"{len(native) / 1e6:.1f} MB")
    print(f"  native batch append (POST /api/v1/events, a list per enterprise): "
          f"{seconds_native:6.2f} s "
          f"= {rate_native:7.0f} events/s")
    print(f"  EPCIS capture (POST /epcis/capture, rollback):       {seconds_capture:6.2f} s "
          f"= {rate_capture:7.0f} events/s")
    print(f"  capture / native = {rate_capture / rate_native:.2f} (goal >= 0.5)")


def _native_by_enterprise(client: FlaskClient, tokens: dict[str, str], native: bytes) -> Any:
    """The native events posted as one list per enterprise, in order (the maker's records,
    then the buyer's receipts, which need the shipments before them)."""
    events = json.loads(native)
    answer = None
    for enterprise in (MAKER, BUYER):
        mine = [{k: v for k, v in e.items() if k != "enterprise"} for e in events
                if e["enterprise"] == enterprise]
        answer = client.post("/api/v1/events", data=json.dumps(mine, ensure_ascii=False),
                             content_type="application/json",
                             headers={"Authorization": f"Bearer {tokens[enterprise]}"})
        if answer.status_code != 201:
            return answer
    return answer


def query_section(events: int, _workdir: Path) -> None:
    """MATCH_epc and time-window queries on an index of 100 x ``events`` events (1,000,000
    by default): bench/epcis_query.py."""
    from bench.epcis_query import run

    run(events * 100)


SECTIONS: dict[str, Callable[[int, Path], None]] = {"capture": capture_section,
                                                    "query": query_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run (400 events)")
    args = parser.parse_args()
    events = 400 if args.quick else args.events
    with tempfile.TemporaryDirectory(prefix="tracenet-bench-epcis-") as tmp:
        for name in args.only or sorted(SECTIONS):
            SECTIONS[name](events, Path(tmp) / name)


if __name__ == "__main__":
    main()
