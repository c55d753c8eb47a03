"""EPCIS 2.0 queries on a 1,000,000-event ledger (``bench/epcis.py --only query`` runs it too;
results in docs/BENCHMARKS.md).

The EPCIS index (``ledger.epcis.index``: ``epcis_index_events`` and ``epcis_index_epcs``) of a
SQLite ledger is filled straight with N events (default 1,000,000) shaped as the index keeps a
rendered native shipment: an ObjectEvent with two serialised units in its ``epcList``
(200,000 units, so each unit is in about ten events), one of 200 enterprises as its location,
one event every ~31 s across a year. This times the reader, not the indexing (appending and
indexing a million signed entries would take the benchmark an hour). Each query is what
``GET /epcis/events`` does past the HTTP layer: ``find_events`` (the index, catch-up check
included, as a regulator sees everything) and the EPCISQueryDocument dumped to JSON.

- Q1: ``MATCH_epc`` of a unit, written as an SGTIN EPC URI (so normalised to its Digital Link
  as a client would send either): p50 and p99 over 300 random units, against a limit of
  50 ms for p99;
- Q2: a ``GE_eventTime`` / ``LT_eventTime`` window holding about 150 events (79 minutes at
  1,000,000 events), ordered by eventTime, its first page of 100 events: p50 and p99 over 300
  random windows, against a limit of 100 ms for p99;
- Q3: the same window's second page (through the page key): p99 against 100 ms.

``--events N`` sets the size (``--quick``: 100,000).
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.ledger import Figure, cpu_model, heading, load_average, report  # noqa: E402
from ledger.db import create_ledger_engine, migrate  # noqa: E402
from ledger.epcis.index import EPCISEventRow, EPCISKeyRow, instant  # noqa: E402
from ledger.epcis.query import EventFilter, find_events, query_document  # noqa: E402
from ledger.epcis.render import CONTEXT  # noqa: E402
from ledger.supervision.check_digits import gs1_check_digit  # noqa: E402

ENTERPRISES = 200
START = instant("2026-01-01T00:00:00+08:00")
YEAR_US = 365 * 24 * 3600 * 1_000_000
CHUNK = 20_000
SAMPLES = 300


def _gtin(unit: int) -> tuple[str, str]:
    """A unit's GTIN (company prefix 6901234, 50 items) and serial."""
    body = f"06901234{unit % 50:05d}"
    return body + gs1_check_digit(body), f"S{unit:07d}"


def _link(unit: int) -> str:
    gtin, serial = _gtin(unit)
    return f"https://id.gs1.org/01/{gtin}/21/{serial}"


def _urn(unit: int) -> str:
    gtin, serial = _gtin(unit)
    return f"urn:epc:id:sgtin:{gtin[1:8]}.{gtin[0]}{gtin[8:13]}.{serial}"


def _time(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:06d}Z"


def fill(session: Session, events: int) -> int:
    """N events in the index; return the number of units."""
    units = max(events // 5, 10)
    step = YEAR_US // events
    for start in range(0, events, CHUNK):
        rows, keys = [], []
        for seq in range(start, min(start + CHUNK, events)):
            pair = ((2 * seq) % units, (2 * seq + 1) % units)
            when = START + seq * step
            enterprise = f"9135{seq % ENTERPRISES:014d}"
            event_id = ("ni:///sha-256;" + hashlib.sha256(seq.to_bytes(8, "big")).hexdigest()
                        + "?ver=CBV2.0")
            location = f"urn:tracenet:uscc:{enterprise}"
            native = {
                "type": "ObjectEvent", "eventTime": _time(when),
                "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
                "epcList": [_link(unit) for unit in pair], "bizStep": "shipping",
                "disposition": "in_transit",
                "bizTransactionList": [{"type": "desadv",
                                        "bizTransaction": f"urn:tracenet:document:DN-{seq}"}],
                "readPoint": {"id": location}, "bizLocation": {"id": location},
                "tracenet:seq": seq, "eventID": event_id}
            rows.append({
                "seq": seq, "event_id": event_id, "hash_id": event_id,
                "event_type": "ObjectEvent", "action": "OBSERVE", "event_time": when,
                "record_time": when + 1_000_000, "biz_step": "shipping",
                "disposition": "in_transit", "read_point": location, "biz_location": location,
                "enterprise": enterprise, "captured": False,
                "native": json.dumps(native, separators=(",", ":")), "error_declared": False,
                "corrected_by": None, "correction_reason": None})
            keys += [{"value": _link(unit), "role": "epc", "seq": seq} for unit in pair]
        session.execute(insert(EPCISEventRow), rows)
        session.execute(insert(EPCISKeyRow), keys)
        session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    return units


def _timings(run: Callable[[int], int], samples: int) -> tuple[list[float], int]:
    seconds, found = [], 0
    for index in range(samples):
        start = time.perf_counter()
        found += run(index)
        seconds.append(time.perf_counter() - start)
    return seconds, found


def _p(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _answer(session: Session, query: EventFilter, *, order_by: str = "recordTime",
            after: tuple[int, int] | None = None, limit: int = 100) -> tuple[int, Any]:
    page = find_events(session, query, viewer=None, limit=limit, order_by=order_by,
                       after=after)
    body = json.dumps(query_document(page.events, now=_now()), ensure_ascii=False)
    assert body and CONTEXT[0] in body
    return len(page.events), page.after


def _now() -> datetime:
    return datetime.now(UTC)


@click.command()
@click.option("--events", type=int, default=1_000_000, show_default=True)
@click.option("--quick", is_flag=True, help="100,000 events.")
def main(events: int, quick: bool) -> None:
    """Time MATCH_epc and time-window queries on an EPCIS index of N events."""
    run(100_000 if quick else events)


def run(events: int) -> list[Figure]:
    """Fill the index with ``events`` events and report Q1-Q3."""
    heading(f"EPCIS queries: {events:,} events ({cpu_model()}, load {load_average()})")
    rng = random.Random(9)
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_ledger_engine(f"sqlite:///{Path(tmp) / 'epcis.db'}")
        migrate(engine)
        with Session(engine) as session:
            began = time.perf_counter()
            units = fill(session, events)
            click.echo(f"  filled in {time.perf_counter() - began:.0f} s")
            chosen = [rng.randrange(units) for _ in range(SAMPLES)]

            def by_epc(index: int) -> int:
                query = EventFilter(match={"MATCH_epc": (_urn(chosen[index]),)})
                return _answer(session, query)[0]

            span = 150 * (YEAR_US // events)  # about 150 events a window (79 min at 1M)
            windows = [START + rng.randrange(YEAR_US - span) for _ in range(SAMPLES)]

            def window(index: int, second: bool = False) -> int:
                query = EventFilter(ge_event_time=windows[index],
                                    lt_event_time=windows[index] + span)
                found, after = _answer(session, query, order_by="eventTime")
                if second:
                    found, _ = _answer(session, query, order_by="eventTime", after=after)
                return found

            by_epc(0)  # statements compiled once, as a serving worker has them
            epc_s, epc_found = _timings(by_epc, SAMPLES)
            window_s, window_found = _timings(window, SAMPLES)
            second_s, _ = _timings(lambda index: window(index, second=True), SAMPLES)
        engine.dispose()
    assert epc_found >= SAMPLES  # every unit is in some event
    assert window_found >= SAMPLES * 100 * 0.9  # a full page nearly every time
    per_epc = epc_found / SAMPLES
    figures.append(report(Figure(
        "Q1 MATCH_epc p99 / 50 ms", _p(epc_s, 99) / 0.050, 1.0, False,
        f"p50 {_p(epc_s, 50) * 1000:.1f} ms, p99 {_p(epc_s, 99) * 1000:.1f} ms, "
        f"{per_epc:.1f} events an answer")))
    figures.append(report(Figure(
        "Q2 eventTime window, first 100 events, p99 / 100 ms", _p(window_s, 99) / 0.100,
        1.0, False, f"p50 {_p(window_s, 50) * 1000:.1f} ms, "
                    f"p99 {_p(window_s, 99) * 1000:.1f} ms")))
    figures.append(report(Figure(
        "Q3 the same window, first and second page, p99 / 100 ms",
        _p(second_s, 99) / 0.100, 1.0, False,
        f"p50 {_p(second_s, 50) * 1000:.1f} ms, p99 {_p(second_s, 99) * 1000:.1f} ms")))
    return figures


if __name__ == "__main__":
    main()
