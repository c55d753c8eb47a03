"""Ledger benchmarks: every figure is a ratio to a limit or to a baseline measured in the same run.

Run ``.venv/bin/python bench/ledger.py`` (``make bench``); ``--quick`` runs the same code paths at
small sizes, as a smoke test. Absolute times depend on the machine, so the targets are ratios and
nothing here asserts a time; the script prints, for each figure, the ratio, the target and
whether it is met, and exits 0 either way.

1. **Append** -- ``submit`` (the one door) of pre-signed ``shipment`` statements (~450 byte
   payloads) plus a commit per batch, into a freshly migrated SQLite file holding one enrolled
   enterprise with a client-side key and a registered, produced and inspected lot (what the
   supervision rules require before a lot ships), against a raw
   ``sqlite3`` ``executemany`` of the very rows our append stored (the ``entries`` columns) into
   a fresh file with the same PRAGMAs (WAL, ``synchronous=NORMAL``), the same ``entries`` DDL
   (its primary key, unique and secondary indexes) and the same batch commits: no hashing, no
   ORM. Figure: our entries/s divided by the raw entries/s; target >= 0.5. A measured cost
   breakdown per entry says where the time goes: JCS canonicalisation, SHA-256 leaf hash,
   Ed25519 verify and tree node hashing timed on their own over a sample; the DB insert timed
   as a SQLAlchemy Core insert of the same rows and nodes; the supervision rules
   (``RecordAdmission.admit``) timed inside the timed run; the rest by difference.
2. **Verify** -- ``ledger.verify.verify`` over the ledger benchmark 1 built, against one bare
   ``hashlib`` pass ``sha256(b"\\x00" + body)`` over the same ``body`` bytes held in memory.
   Figure: baseline time / verify time; target >= 0.5. A per-entry breakdown follows.
3. **Proofs** -- ``ledger.log.inclusion_proof`` and ``ledger.log.consistency_proof`` on a tree of
   ``--proof-size`` entries (1,000,000 by default), each call in its own session as a web request
   does. The tree storage is written directly with raw ``sqlite3`` (building a million signed
   entries through ``append`` would take an hour) but honestly: a migrated schema, real RFC 6962
   leaf hashes of the stored bodies, every inner node from ``ledger.merkle.CompactRange`` and the
   ``ledger_head`` row. Arguments are uniform random (tree size, then a leaf or old size below
   it). Figures: mean and p99 latency as a ratio to the 1 ms limit (target <= 1), and the
   speed-up over pymerkle 7's ``SqliteTree`` holding the same leaf data (target >= 10), timed on
   the same arguments. pymerkle keeps its default configuration -- SHA-256 with its "security"
   prefixes ``0x00``/``0x01`` on, which is exactly RFC 6962 hashing, and its subroot LRU cache
   on; its root is checked equal to ours. Each proof kind starts with pymerkle's cache cleared
   (as after a restart) and the figure uses that first pass over the arguments, during which
   the cache fills; a second pass over the same arguments (warm cache, pymerkle's best case)
   is printed beside it. Its proofs are timed without computing a root (ours return the root
   too), which favours pymerkle. Timed loops run with the collector's existing objects frozen
   (``gc.freeze``, as every timed loop here: ``harness_frozen``), so earlier benchmarks'
   garbage does not land in the p99. A sample of
   proofs is checked with ``ledger.merkle.verify_*`` and against pymerkle's independently
   computed roots, outside the timed part. Then both sides again over the same arguments, each
   with its cache filled by the first pass (pymerkle's subroot cache, our in-process cache of
   immutable nodes, ``ledger.log.storage.NodeCache``), ours and pymerkle's calls alternating so
   that bursts of load elsewhere fall on both alike: figure pymerkle warm mean / ours warm
   mean, target >= 1 (medians printed beside it).

2b. **Verify in a process pool** -- ``verify(..., jobs=1)`` and ``jobs=N`` (N = usable cores)
   over benchmark 1's ledger, the better of two runs each, against N x libsodium's Ed25519
   verify rate measured in the same run (``verify_signature`` over the ledger's own first
   2,000 entries: their keys, signatures and signed bytes). Figures: entries/s / (N x the
   libsodium rate); target >= 0.8 with N jobs, >= 0.8 / N with one.
4. **verify --since at scale** -- on a copy of the ~1,000,000-entry network bench/trace.py
   measures (bench/network.py, built once and cached): the latest checkpoint and its leaf
   hashes are saved, ``--new`` entries (1,000) are appended through ``submit`` (an enrolment
   and material intakes), then ``verify_since`` with 1 and N jobs (better of two each), and
   with nothing new beforehand (its fixed part: the consistency proof, the identity entries'
   multi-leaf proof and key ring, the anchor). Figures: µs per new entry (that fixed part
   included) with one job / full verify µs per entry of benchmark 2b with one job, target <= 2
   (like for like: so few new entries are checked in one process, a worker pool would not pay
   for itself); the N-job run / a full verify of the whole grown network with N jobs, target
   <= 0.01. That full verify is also figure 2b at scale: entries/s / (N x libsodium's rate
   on the network's own first 2,000 entries), target >= 0.8. Then a byte is flipped in a new
   entry and ``verify_since`` must name its seq (the script exits non-zero otherwise).
5. **Append against its floor** -- the log's ``append`` + commit per batch of as many
   pre-signed shipments as benchmark 1, into a fresh ledger (the hash chain, the tree and its
   nodes, the key ring, the signature checks before the head lock, the inserts, the checkpoint
   cadence; ``NO_ADMISSION``: no supervision rules) against the least any signed append can
   cost: benchmark 1's raw ``sqlite3`` insert plus one libsodium Ed25519 verify
   (``crypto_sign_open`` on the same statements and key, the message built outside the timed
   loop). One process, one core. Figure: floor / ours; target >= 0.8. **5s** reports
   benchmark 1's ``submit`` (the same append with the supervision rules and their
   projections, what a producer's API call does) against the same floor, with no target: the
   floor holds no rules, so the log's append is what it measures, and the rules' cost is
   shown apart.
6. **Append over HTTP** -- the same pre-signed shipments (in the API's normal form) appended
   in-process with ``submit`` (the one-core library rate), then posted as JSON lists of
   ``--batch`` events to gunicorn with two workers by two client threads, the bodies encoded
   before the clock starts; ``tracenet worker`` runs beside it, as ``make run`` starts it.
   Figure: HTTP entries/s / library entries/s; target >= 1.5 (signature checks outside the
   head lock run on both cores).
7. **Checkpoint freshness under load** -- during benchmark 6, a third client appends one event
   every 20 ms (its request waits its turn behind the batches: gunicorn's workers are
   synchronous); a read-only connection polls the newest checkpoint's size every 3 ms. For
   every append (batches and probes), the time from its answer to the first checkpoint
   covering it (0 when the append itself signed it). Figure: p99 / the checkpoint interval
   (``--interval``, default 1 s); target <= 1.25 (the interval, plus the worker's look every
   quarter interval).

``--only`` picks benchmarks (``append``, ``verify``, ``jobs``, ``since``, ``proofs``,
``cadence``: 5, 6 and 7).
"""

# Run as a script, bench/ is sys.path[0] and this file, ledger.py, would shadow the ``ledger``
# package; drop that entry before importing it (hence the late imports below).
# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import base64
import gc
import hashlib
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.db import create_ledger_engine, migrate
from ledger.log import (
    NO_ADMISSION,
    Ledger,
    append,
    consistency_proof,
    inclusion_proof,
    initialise,
    merkle,
    rfc3339,
)
from ledger.log.canonical import canonical_bytes
from ledger.log.checkpoint import CHECKPOINT_ENTRIES, CHECKPOINT_INTERVAL, open_checkpoint
from ledger.log.entry import Entry, SignedStatement, Statement
from ledger.log.keys import generate_private_key, public_key_bytes, verify_signature
from ledger.log.storage import EntryRow, MerkleNode, node_id
from ledger.supervision.admission import RecordAdmission
from ledger.supervision.submit import submit

#: custodial keys are not used: every statement here is signed client side
VAULT = KeyVault("bench")
ORIGIN = "bench.tracenet.example/ledger"
USCC = "91350100M000100Y43"
ENTRY_COLUMNS = ("seq", "leaf_hash", "type", "enterprise", "key_id", "event_time",
                 "recorded_at", "body")
INSERT_ENTRY = ("INSERT INTO entries (seq, leaf_hash, type, enterprise, key_id, event_time, "
                "recorded_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
SELECT_ENTRIES = ("SELECT seq, leaf_hash, type, enterprise, key_id, event_time, recorded_at, body "
                  "FROM entries WHERE seq >= ? ORDER BY seq")
PROOF_LIMIT_MS = 1.0
PYMERKLE_BUILD_BUDGET_S = 300.0  # past this, pymerkle is compared at the size it reached
PYMERKLE_SAMPLE_BUDGET_S = 120.0  # per proof kind

T = TypeVar("T")


# --------------------------------------------------------------------------------- reporting


@dataclass(frozen=True)
class Figure:
    """One benchmark figure: a ratio, its target and whether the target is met."""

    name: str
    ratio: float
    #: None for a figure that is reported, not held to a target
    target: float | None
    higher_is_better: bool
    detail: str

    @property
    def met(self) -> bool:
        if self.target is None:
            return True
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "none: reported"
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}"

    @property
    def verdict(self) -> str:
        return "report" if self.target is None else "MET" if self.met else "MISSED"

    def line(self) -> str:
        return (f"  => {self.name}: ratio {self.ratio:.3f} (target {self.target_text}) "
                f"{self.verdict}  [{self.detail}]")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def heading(text: str) -> None:
    click.echo("")
    click.echo(click.style(text, bold=True))
    click.echo("-" * len(text))


def report(figure: Figure) -> Figure:
    click.echo(click.style(figure.line(), fg="green" if figure.met else "red"))
    return figure


def breakdown(title: str, parts: Sequence[tuple[str, float]], total_us: float) -> None:
    """Print measured per-entry costs (µs) and their share of ``total_us``."""
    click.echo(f"  {title} (µs per entry, measured separately):")
    for label, micros in parts:
        click.echo(f"    {label:<66} {micros:8.1f} µs {100 * micros / total_us:5.1f} %")
    click.echo(f"    {'total measured end to end':<66} {total_us:8.1f} µs 100.0 %")


def progress(items: Iterable[T], length: int, label: str) -> Any:
    """A click progress bar on stderr, so stdout keeps only the figures."""
    return click.progressbar(items, length=length, label=f"  {label}", file=sys.stderr,
                             show_pos=True)


def per_entry_us(func: Callable[[T], object], items: Sequence[T], repeat: int = 3) -> float:
    """Mean µs of ``func`` over ``items``, the best of ``repeat`` timed loops (loop overhead
    included; the best run is the one least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            func(item)
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1e6


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ------------------------------------------------------------------------------- the ledger


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def fresh_engine(path: Path) -> Engine:
    """A migrated ledger database in a fresh SQLite file (WAL, synchronous=NORMAL)."""
    engine = create_ledger_engine(sqlite_url(path))
    migrate(engine)
    return engine


GTIN = "06901234567892"
LOT = "MX-2024-0501"
BUYER = "91350200MA2Y0KQ27X"


def shipment_payload(rng: random.Random, index: int) -> dict[str, Any]:
    """A realistic shipment from the bench lot: about 470 bytes once canonicalised."""
    return {
        "gtin": GTIN,
        "lot": LOT,
        "product": "Fuding white tea (白毫银针), 250 g tin",
        "quantity": rng.randint(1, 20),
        "unit": "case",
        "counterparty": BUYER,
        "counterparty_name": "Xiamen Coldchain Logistics Co., Ltd.",
        "document_no": f"DN-2024-{index:08d}",
        "from": {"district": "Gulou, Fuzhou", "site": f"WH-{rng.randint(1, 40):02d}"},
        "to": {"district": "Siming, Xiamen", "site": f"DC-{rng.randint(1, 90):02d}"},
        "vehicle": f"闽A{rng.randint(10000, 99999)}",
        "temperature_c": rng.choice([2, 4, 6, 8]),
        "documents": [f"INV-{rng.randrange(10**9):09d}", f"QC-{rng.randrange(10**7):07d}"],
    }


def lot_statements(key_id: str, shipments: int) -> list[Statement]:
    """Register the product, produce the lot (enough stock for every shipment), inspect it:
    what the supervision rules ask before a lot may ship."""
    at = "2024-05-01T07:00:00.000000Z"
    return [
        Statement("product_registered", USCC, key_id, at, {
            "gtin": GTIN, "category": "17", "name": "福鼎白茶 白毫银针 250 g",
            "standard": "GB 2762-2022", "spec": "250 g tin, 24 tins per case"}),
        Statement("production", USCC, key_id, at, {
            "gtin": GTIN, "lot": LOT, "quantity": 20 * shipments + 1000, "unit": "case",
            "produced_at": "2024-04-28", "expiry": "2026-04-27"}),
        Statement("inspection", USCC, key_id, at, {
            "gtin": GTIN, "lot": LOT, "verdict": "pass", "standard": "GB 2762-2022",
            "report_no": "FJ-QC-2024-0815", "lab_uscc": "12350000488099123K",
            "items": [{"name": "lead", "pass": True}, {"name": "moisture", "pass": True}]}),
    ]


def setup_ledger(path: Path, shipments: int) -> tuple[Engine, Ledger, Ed25519PrivateKey, str]:
    """A fresh ledger with the enterprise, its client-side key and a lot ready to ship."""
    engine = fresh_engine(path)
    ledger = Ledger(ORIGIN, generate_private_key())
    client_key = generate_private_key()
    with Session(engine) as session:
        initialise(session, ledger)
        session.commit()
        key_id = enrol_enterprise(session, ledger, VAULT, {
            "uscc": USCC, "name": "Fuzhou Mingxiang Tea Co., Ltd.", "roles": ["producer"],
            "district": "Gulou, Fuzhou"}, client_key.public_key())
        session.commit()
        submit(session, ledger, VAULT, [statement.sign(client_key)
                                        for statement in lot_statements(key_id, shipments)])
        session.commit()
    return engine, ledger, client_key, key_id


def entry_of(appended: Any) -> Entry:
    """``append`` returns entries, or records carrying one (``.entry``) once rules attach
    notices; accept both."""
    entry: Entry = getattr(appended, "entry", appended)
    return entry


@dataclass
class AppendOutcome:
    """What benchmark 1 leaves behind for benchmark 2 (and the append-floor figure)."""

    db_path: Path
    ledger: Ledger
    entries: int
    #: benchmark 1's timings, and a sample of its statements and their key, for the floor
    append_seconds: float = 0.0
    raw_seconds: float = 0.0
    appended: int = 0
    sample: Sequence[SignedStatement] = ()
    client_key: bytes = b""


def sign_statements(key: Ed25519PrivateKey, key_id: str, count: int,
                    rng: random.Random) -> list[SignedStatement]:
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    signed = []
    with progress(range(count), count, "pre-signing statements") as bar:
        for i in bar:
            event_time = rfc3339(start + timedelta(seconds=37 * i))
            statement = Statement("shipment", USCC, key_id, event_time,
                                  shipment_payload(rng, i))
            signed.append(statement.sign(key))
    return signed


def raw_insert(path: Path, ddl: Sequence[str], rows: Sequence[tuple[Any, ...]],
               batch: int) -> float:
    """Seconds to executemany ``rows`` into ``entries`` of a fresh file, committing per batch."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for statement in ddl:
            connection.execute(statement)
        connection.commit()
        start = time.perf_counter()
        for part in chunks(rows, batch):
            connection.executemany(INSERT_ENTRY, part)
            connection.commit()
        return time.perf_counter() - start


def entries_ddl(path: Path) -> list[str]:
    """The ``entries`` table and index DDL of a migrated database, as SQLite stored it."""
    with closing(sqlite3.connect(path)) as connection:
        found = connection.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'entries' AND sql IS NOT NULL "
            "AND type IN ('table', 'index') ORDER BY type DESC").fetchall()
    return [sql for (sql,) in found]


def sqlalchemy_insert(path: Path, rows: Sequence[tuple[Any, ...]],
                      nodes: Sequence[dict[str, Any]], batch: int) -> float:
    """Seconds to insert the entry rows and their tree nodes as ``append`` does (SQLAlchemy Core
    ``insert`` with a list of dicts), per batch with a commit, into a fresh migrated file."""
    engine = fresh_engine(path)
    dicts = [dict(zip(ENTRY_COLUMNS, row, strict=True)) for row in rows]
    node_batches: dict[int, list[dict[str, Any]]] = {}
    first_seq = rows[0][0]
    for node in nodes:  # the batch whose append completed the node
        level, index = node["node_id"] >> 48, node["node_id"] & ((1 << 48) - 1)
        last_leaf = ((index + 1) << level) - 1
        node_batches.setdefault((last_leaf - first_seq) // batch, []).append(node)
    try:
        with Session(engine) as session:
            start = time.perf_counter()
            for number, part in enumerate(chunks(dicts, batch)):
                session.execute(insert(EntryRow), list(part))
                if node_batches.get(number):
                    session.execute(insert(MerkleNode), node_batches[number])
                session.commit()
            return time.perf_counter() - start
    finally:
        engine.dispose()


class RulesTimer:
    """Times ``RecordAdmission.admit`` (the supervision rules: check, update the projections)
    during the timed append; two ``perf_counter`` calls per entry, well under 0.1 %."""

    def __init__(self) -> None:
        self.module: Any = RecordAdmission
        self.original: Callable[..., Any] | None = RecordAdmission.admit
        self.spent = 0.0

    def __enter__(self) -> RulesTimer:
        original = self.original
        if original is not None:
            def timed(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.spent += time.perf_counter() - start

            self.module.admit = timed
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.original is not None:
            self.module.admit = self.original


def bench_append(workdir: Path, count: int, batch: int, rng: random.Random
                 ) -> tuple[list[Figure], AppendOutcome]:
    heading(f"1. Bulk append of {count:,} signed entries into SQLite (batches of {batch:,})")
    db_path = workdir / "append.db"
    engine, ledger, client_key, key_id = setup_ledger(db_path, count)
    signed = sign_statements(client_key, key_id, count, rng)

    appended: list[Entry] = []
    elapsed = 0.0
    with Session(engine) as session, RulesTimer() as rules, harness_frozen():
        with progress(list(chunks(signed, batch)), -(-count // batch), "append") as bar:
            for part in bar:
                start = time.perf_counter()
                appended += map(entry_of, submit(session, ledger, VAULT, part))
                session.commit()
                elapsed += time.perf_counter() - start
    first_seq = appended[0].seq
    engine.dispose()

    with closing(sqlite3.connect(db_path)) as connection:
        rows = connection.execute(SELECT_ENTRIES, (first_seq,)).fetchall()
        nodes = [{"node_id": nid, "hash": digest} for nid, digest in connection.execute(
            "SELECT node_id, hash FROM merkle_nodes").fetchall()
            if ((nid & ((1 << 48) - 1)) + 1) << (nid >> 48) > first_seq]
    assert len(rows) == count
    body_sizes = [len(row[-1]) for row in rows]
    raw_seconds = raw_insert(workdir / "append-raw.db", entries_ddl(db_path), rows, batch)
    ours_rate, raw_rate = count / elapsed, count / raw_seconds
    click.echo(f"  entry body {min(body_sizes)}-{max(body_sizes)} bytes "
               f"(mean {statistics.fmean(body_sizes):.0f}); "
               f"payload JSON ~{len(canonical_bytes(signed[0].statement.payload))} bytes")
    click.echo(f"  submit + commit            : {ours_rate:10,.0f} entries/s "
               f"({elapsed:.2f} s)")
    click.echo(f"  raw sqlite3 executemany    : {raw_rate:10,.0f} entries/s "
               f"({raw_seconds:.2f} s, same rows, same entries DDL and PRAGMAs)")

    # The breakdown: each step append takes per entry, timed on its own over a sample.
    sample = appended[:min(count, 2000)]
    bodies = [json.loads(entry.canonical) for entry in sample]
    assert all(canonical_bytes(body) == entry.canonical for body, entry in zip(
        bodies, sample, strict=True))
    signing = [entry.statement.signing_bytes() for entry in sample]
    public = public_key_bytes(client_key)
    tree = merkle.CompactRange()
    total_us = elapsed / count * 1e6
    sqlalchemy_us = sqlalchemy_insert(workdir / "append-sqlalchemy.db", rows, nodes,
                                      batch) / count * 1e6
    parts = [
        ("JCS canonicalisation of the entry (Entry.create)",
         per_entry_us(canonical_bytes, bodies)),
        ("JCS canonicalisation of the statement (signing bytes, KeyRing.admit)",
         per_entry_us(lambda e: e.statement.signing_bytes(), sample)),
        ("SHA-256 leaf hash", per_entry_us(lambda e: merkle.leaf_hash(e.canonical), sample)),
        ("Ed25519 verify", per_entry_us(
            lambda i: verify_signature(public, sample[i].signature, signing[i]),
            range(len(sample)))),
        ("tree nodes (CompactRange.append: ~1 SHA-256 per entry)",
         per_entry_us(lambda e: tree.append(e.leaf_hash), sample)),
        ("DB insert via SQLAlchemy Core (entries + merkle_nodes)", sqlalchemy_us),
    ]
    if rules.original is not None:
        parts.append(("supervision rules + projections (RecordAdmission.admit, in the timed run)",
                      rules.spent / count * 1e6))
    parts.append(("the rest (objects, key ring, projection flush, head, checkpoint, commit)",
                  total_us - sum(micros for _, micros in parts)))
    breakdown("append cost", parts, total_us)
    raw_us = raw_seconds / count * 1e6
    click.echo(f"  raw insert costs {raw_us:.1f} µs per entry, so the 0.5 target allows "
               f"{2 * raw_us:.1f} µs; Ed25519 verify alone takes {parts[3][1]:.1f} µs.")
    figure = report(Figure("append vs raw sqlite3 insert", ours_rate / raw_rate, 0.5, True,
                           f"{ours_rate:,.0f} vs {raw_rate:,.0f} entries/s"))
    return [figure], AppendOutcome(db_path, ledger, count + first_seq, elapsed, raw_seconds,
                                   count, signed[:2000], public_key_bytes(client_key))


# ----------------------------------------------------------------------------------- verify


def bench_verify(workdir: Path, outcome: AppendOutcome) -> list[Figure]:
    from ledger.log.verify import verify

    heading(f"2. Full verify of the {outcome.entries:,}-entry ledger from benchmark 1")
    with closing(sqlite3.connect(outcome.db_path)) as connection:
        bodies = [body for (body,) in connection.execute("SELECT body FROM entries ORDER BY seq")]
        notes = [note for (note,) in connection.execute("SELECT note FROM checkpoints")]
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for body in bodies:
            hashlib.sha256(b"\x00" + body).digest()
        runs.append(time.perf_counter() - start)
    baseline = statistics.median(runs)

    engine = create_ledger_engine(sqlite_url(outcome.db_path))
    operator_key = outcome.ledger.signing_key.public_key()
    try:
        with Session(engine) as session:
            with click.progressbar(length=len(bodies), label="  verify", file=sys.stderr,
                                   show_pos=True) as bar:
                done = 0

                def advance(size: int) -> None:
                    nonlocal done
                    bar.update(size - done)
                    done = size

                start = time.perf_counter()
                result = verify(session, origin=ORIGIN, operator_key=operator_key,
                                progress=advance)
                elapsed = time.perf_counter() - start
        assert result.size == len(bodies)
        # How long streaming the rows alone takes, as verify reads them.
        with Session(engine) as session:
            start = time.perf_counter()
            for _row in session.execute(select(EntryRow.seq, EntryRow.leaf_hash, EntryRow.body)
                                        .order_by(EntryRow.seq)).yield_per(2000):
                pass
            read_us = (time.perf_counter() - start) / len(bodies) * 1e6
    finally:
        engine.dispose()
    click.echo(f"  ledger.verify.verify       : {len(bodies) / elapsed:10,.0f} entries/s "
               f"({elapsed:.3f} s, {result.checkpoints} checkpoints)")
    click.echo(f"  hashlib sha256(0x00||body) : {len(bodies) / baseline:10,.0f} entries/s "
               f"({baseline * 1e3:.2f} ms, median of 5)")

    sample = bodies[:min(len(bodies), 2000)]
    parsed = [Entry.from_canonical(body) for body in sample]
    signing = [entry.statement.signing_bytes() for entry in parsed]
    client = _signer_keys(parsed)
    tree = merkle.CompactRange()
    total_us = elapsed / len(bodies) * 1e6
    parse_us = per_entry_us(Entry.from_canonical, sample)
    checkpoint_us = per_entry_us(
        lambda note: open_checkpoint(note, key_name=ORIGIN, public_key=operator_key,
                                     origin=ORIGIN), notes[:200]) * len(notes) / len(bodies)
    parts = [
        ("read rows (SQLAlchemy, yield_per)", read_us),
        ("parse entry: JSON + base64 + leaf SHA-256", parse_us),
        ("JCS canonicalisation of the statement (signing bytes)",
         per_entry_us(lambda e: e.statement.signing_bytes(), parsed)),
        ("Ed25519 verify", per_entry_us(
            lambda i: verify_signature(client[parsed[i].statement.key_id],
                                       parsed[i].signature, signing[i]),
            range(len(parsed)))),
        ("tree nodes (CompactRange.append)",
         per_entry_us(lambda e: tree.append(e.leaf_hash), parsed)),
        (f"checkpoint notes ({len(notes)} signatures, per entry)", checkpoint_us),
    ]
    parts.append(("the rest (node comparison queries, key ring, checks)",
                  total_us - sum(micros for _, micros in parts)))
    breakdown("verify cost", parts, total_us)
    click.echo(f"  the baseline spends {baseline / len(bodies) * 1e6:.2f} µs per entry, so the "
               f"0.5 target allows {2 * baseline / len(bodies) * 1e6:.2f} µs.")
    return [report(Figure("verify vs bare sha256 pass", baseline / elapsed, 0.5, True,
                          f"{elapsed:.3f} s vs {baseline:.4f} s"))]


def _signer_keys(entries: Sequence[Entry]) -> dict[str, Any]:
    """Public keys by key ID, replayed from the registrations among (or before) ``entries``."""
    from ledger.log.identity import KeyRing

    ring = KeyRing()
    keys: dict[str, Any] = {}
    for entry in entries:
        ring.admit(entry)
        record = ring.key(entry.statement.key_id)
        if record is not None:
            keys[record.key_id] = public_key_bytes(record.public_key)
    return keys


# ------------------------------------------------------------------- verify in a process pool


def libsodium_us(db_path: Path) -> float:
    """µs per libsodium Ed25519 verify (``verify_signature``), best of three loops over the
    first 2,000 entries of the ledger at ``db_path``: their own keys, signatures and bytes."""
    with closing(sqlite3.connect(db_path)) as connection:
        bodies = [body for (body,) in connection.execute(
            "SELECT body FROM entries ORDER BY seq LIMIT 2000")]
    parsed = [Entry.from_canonical(body) for body in bodies]
    signing = [entry.statement.signing_bytes() for entry in parsed]
    keys = _signer_keys(parsed)
    return per_entry_us(lambda i: verify_signature(keys[parsed[i].statement.key_id],
                                                   parsed[i].signature, signing[i]),
                        range(len(parsed)))


def bench_verify_jobs(outcome: AppendOutcome) -> tuple[list[Figure], dict[int, float]]:
    """Full verify with 1 and N jobs against N cores x libsodium's verify rate; the figures
    and the µs per entry of the N-job run."""
    from ledger.log.verify import default_jobs, verify

    cores = default_jobs()
    heading(f"2b. Full verify of the {outcome.entries:,}-entry ledger, signatures checked by "
            f"1 and {cores} processes (tracenet verify --jobs)")
    lib_us = libsodium_us(outcome.db_path)
    limit = cores * 1e6 / lib_us
    click.echo(f"  libsodium Ed25519 verify (PyNaCl, this ledger's entries): {lib_us:.1f} µs, "
               f"{1e6 / lib_us:,.0f}/s per core; the limit with {cores} cores: {limit:,.0f}/s")
    engine = create_ledger_engine(sqlite_url(outcome.db_path))
    operator_key = outcome.ledger.signing_key.public_key()
    figures: list[Figure] = []
    per_entry: dict[int, float] = {}
    try:
        for jobs in sorted({1, cores}):
            best = float("inf")
            for _ in range(2):  # the better of two: the run least disturbed by others
                with Session(engine) as session, harness_frozen():
                    start = time.perf_counter()
                    report_ = verify(session, origin=ORIGIN, operator_key=operator_key,
                                     jobs=jobs)
                    best = min(best, time.perf_counter() - start)
            rate = report_.size / best
            per_entry[jobs] = best / report_.size * 1e6
            click.echo(f"  verify --jobs {jobs}: {rate:10,.0f} entries/s ({best:.3f} s, "
                       f"{per_entry[jobs]:.1f} µs per entry)")
            target = 0.8 if jobs == cores else 0.8 / cores
            figures.append(report(Figure(
                f"verify, {jobs} job{'s' if jobs > 1 else ''} / ({cores} cores x libsodium)",
                rate / limit, target, True,
                f"{rate:,.0f} vs {limit:,.0f} entries/s; {jobs} of {cores} cores")))
    finally:
        engine.dispose()
    return figures, per_entry


# ------------------------------------------------------------------- verify --since at scale

BENCH_SUPPLIER = "91350100MA0000001P"


def bench_since(workdir: Path, quick: bool, new: int, full_us: dict[int, float]
                ) -> list[Figure]:
    """``verify_since`` on a copy of the network bench/trace.py measures (~1,000,000 entries,
    built once and cached), grown by ``new`` entries after a saved checkpoint."""
    from bench.network import cached_network, network_ledger
    from bench.trace import FULL, QUICK
    from ledger.accounts.enrolment import enrol_enterprise
    from ledger.errors import VerificationError
    from ledger.log import latest_checkpoint, leaf_hashes, ledger_size
    from ledger.log.verify import default_jobs, verify_since

    shape = QUICK if quick else FULL
    source = cached_network(shape)
    path = workdir / "since.db"
    started = time.perf_counter()
    shutil.copyfile(source, path)  # the cached network stays as it was built
    engine = create_ledger_engine(sqlite_url(path))
    migrate(engine)  # a network cached before newer migrations gets their (empty) tables
    ledger = network_ledger(shape)
    cores = default_jobs()
    with Session(engine) as session:
        note = latest_checkpoint(session, ledger)
        session.commit()
        saved = ledger_size(session)
        leaves = leaf_hashes(session, saved)
    heading(f"4. verify --since a checkpoint saved at {saved:,} entries, then {new:,} more "
            f"(network {shape.slug})")
    click.echo(f"  network copied, checkpoint and its {len(leaves) // 32:,} leaf hashes saved "
               f"in {time.perf_counter() - started:.1f} s (not measured)")

    def since(jobs: int) -> tuple[float, Any]:
        best, result = float("inf"), None
        for _ in range(2):
            with Session(engine) as session, harness_frozen():
                start = time.perf_counter()
                result = verify_since(session, origin=ledger.origin,
                                      operator_key=ledger.signing_key.public_key(),
                                      saved_note=note, saved_leaves=leaves, jobs=jobs)
                best = min(best, time.perf_counter() - start)
        return best, result

    fixed, _ = since(cores)
    click.echo(f"  nothing new yet: {fixed * 1e3:.1f} ms (the consistency proof, the identity "
               "entries' multi-leaf proof and key ring, the anchor entry)")
    key = generate_private_key()
    at = "2026-11-28T08:00:00.000000Z"
    with Session(engine) as session:
        key_id = enrol_enterprise(session, ledger, VAULT, {
            "uscc": USCC, "name": "Fuzhou Mingxiang Tea Co., Ltd.", "roles": ["producer"],
            "district": "Gulou, Fuzhou"}, key.public_key())
        session.commit()
        statements = [Statement("material_intake", USCC, key_id, at, {
            "gtin": GTIN, "lot": f"RM-{i:05d}", "material": "白毫银针 鲜叶",
            "supplier": BENCH_SUPPLIER, "quantity": "1000", "unit": "kg", "received_at": at,
            "accepted": True}).sign(key) for i in range(new - 2)]  # enrolment added 2
        for part in chunks(statements, 500):
            submit(session, ledger, VAULT, part)
            session.commit()
        grown = ledger_size(session)
    figures = []
    runs = {jobs: since(jobs) for jobs in sorted({1, cores})}
    # Then a full verify of the whole grown network with every core: 2b at scale (a steady
    # rate over ~500 chunks, where benchmark 1's 20,006 entries make ten, so the pool's start
    # and the last chunk weigh on them), and 4b's denominator, measured rather than estimated.
    from ledger.log.verify import verify

    lib_us = libsodium_us(path)
    with Session(engine) as session, harness_frozen():
        start = time.perf_counter()
        verify(session, origin=ledger.origin, operator_key=ledger.signing_key.public_key(),
               jobs=cores)
        full_seconds = time.perf_counter() - start
    for jobs, (elapsed, result) in runs.items():
        per_new = elapsed / result.entries * 1e6
        marginal = (elapsed - result.setup_seconds) / result.entries * 1e6
        click.echo(f"  verify --since --jobs {jobs}: {result.entries:,} new entries of {grown:,} "
                   f"in {elapsed * 1e3:.1f} ms: {per_new:.1f} µs per new entry; "
                   f"{result.setup_seconds * 1e3:.1f} ms before the first new entry, then "
                   f"{marginal:.1f} µs per new entry")
        if jobs == 1:  # like for like: 1,000 new entries are too few for a pool to pay
            figures.append(report(Figure(
                "verify --since, µs per new entry / full verify's (1 job)",
                per_new / full_us[1], 2.0, False,
                f"{per_new:.1f} vs {full_us[1]:.1f} µs (the {result.setup_seconds * 1e3:.1f} ms "
                f"before the first new entry included; {marginal:.1f} µs without it)")))
    elapsed, _ = runs[cores]
    figures.append(report(Figure(
        f"verify --since {grown - saved:,} new / full verify of {grown:,}",
        elapsed / full_seconds, 0.01, False,
        f"{elapsed:.3f} s vs {full_seconds:.1f} s, {cores} jobs each")))
    rate, limit = grown / full_seconds, cores * 1e6 / lib_us
    click.echo(f"  full verify of all {grown:,} entries, --jobs {cores}: {full_seconds:.1f} s, "
               f"{rate:,.0f} entries/s; libsodium on this network's entries {lib_us:.1f} µs, "
               f"{cores} cores x its rate {limit:,.0f}/s")
    figures.append(report(Figure(
        f"verify of {grown:,}, {cores} jobs / ({cores} cores x libsodium)", rate / limit, 0.8,
        True, f"{rate:,.0f} vs {limit:,.0f} entries/s")))

    # A flipped byte in one of the new entries is found, and named.
    flipped = saved + (grown - saved) // 2
    with closing(sqlite3.connect(path)) as connection:
        for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            connection.execute(f"DROP TRIGGER {name}")
        (body,) = connection.execute("SELECT body FROM entries WHERE seq = ?",
                                     (flipped,)).fetchone()
        connection.execute("UPDATE entries SET body = ? WHERE seq = ?",
                           (body.replace(b'"kg"', b'"kh"'), flipped))
        connection.commit()
    try:
        with Session(engine) as session:
            verify_since(session, origin=ledger.origin,
                         operator_key=ledger.signing_key.public_key(), saved_note=note,
                         saved_leaves=leaves, jobs=cores)
        raise SystemExit(f"verify --since missed the byte flipped at seq {flipped}")
    except VerificationError as exc:
        if (exc.seq, exc.kind) != (flipped, "content hash"):
            raise SystemExit(f"flipped seq {flipped}, verify --since says {exc}") from None
        click.echo(f"  a byte flipped in seq {flipped:,}: FAILED at seq {exc.seq}: {exc.kind}")
    finally:
        engine.dispose()
        path.unlink()
    return figures


# ----------------------------------------------------------------------------------- proofs


def leaf_data(index: int) -> bytes:
    """Deterministic leaf data, about 100 bytes, the same for our tree and pymerkle's."""
    return (f'{{"lot":"LOT-2024-{index:08d}","gtin":"069{index * 7919 % 10**10:010d}",'
            f'"quantity":{index % 997 + 1},"unit":"carton","seq":{index}}}').encode()


def build_tree_storage(path: Path, size: int) -> bytes:
    """Write ``size`` entries, every inner node and the head into a migrated file; the root."""
    fresh_engine(path).dispose()
    tree = merkle.CompactRange()
    recorded_at = "2024-05-01T08:00:00.000000Z"
    last = b""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")  # building is not what is measured
        step = 50_000
        with progress(range(0, size, step), -(-size // step), "building our tree") as bar:
            for start in bar:
                rows, nodes = [], []
                for seq in range(start, min(size, start + step)):
                    body = leaf_data(seq)
                    last = merkle.leaf_hash(body)
                    rows.append((seq, last, "bench", USCC, "0" * 16, recorded_at, recorded_at,
                                 body))
                    nodes += [(node_id(*key), digest) for key, digest in tree.append(last)
                              if key[0] > 0]
                connection.executemany(INSERT_ENTRY, rows)
                connection.executemany("INSERT INTO merkle_nodes (node_id, hash) VALUES (?, ?)",
                                       nodes)
                connection.commit()
        connection.execute("INSERT INTO ledger_head (id, size, last_leaf_hash, "
                           "last_recorded_at) VALUES (1, ?, ?, ?)", (size, last, recorded_at))
        connection.commit()
    return tree.root()


def build_pymerkle(path: Path, size: int) -> tuple[Any, float]:
    """A pymerkle SqliteTree over the same leaf data (bulk ``append_entries``), stopping early
    once the build passes its budget; the tree and the build seconds."""
    from pymerkle import SqliteTree

    tree = SqliteTree(str(path))  # sha256, security prefixes on: RFC 6962 hashing
    step = 50_000
    start = time.perf_counter()
    with progress(range(0, size, step), -(-size // step), "building pymerkle tree") as bar:
        for first in bar:
            tree.append_entries(leaf_data(i) for i in range(first, min(size, first + step)))
            if time.perf_counter() - start > PYMERKLE_BUILD_BUDGET_S:
                break
    return tree, time.perf_counter() - start


@contextmanager
def harness_frozen() -> Iterator[None]:
    """Hold what the harness keeps alive (pre-signed statements, earlier benchmarks' results,
    pymerkle's cache) out of the garbage collector's reach while a timed loop runs.

    Its full passes would otherwise walk all of it, a cost of the harness landing in the timed
    code: only that code's own garbage should count. A server does the same with what loading
    the app made (gunicorn.conf.py freezes it in each worker).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def time_calls(label: str, calls: Sequence[Callable[[], object]], budget_s: float | None = None
               ) -> list[float]:
    """Seconds of each call, in order; stops early once ``budget_s`` is spent."""
    times: list[float] = []
    spent = 0.0
    with harness_frozen(), progress(calls, len(calls), label) as bar:
        for call in bar:
            start = time.perf_counter()
            call()
            took = time.perf_counter() - start
            times.append(took)
            spent += took
            if budget_s is not None and spent > budget_s and len(times) >= 20:
                break
    return times


def stats_ms(times: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(times) * 1e3, percentile(times, 0.99) * 1e3


def bench_proofs(workdir: Path, size: int, samples: int, rng: random.Random) -> list[Figure]:
    from pymerkle import verify_consistency as pm_verify_consistency
    from pymerkle import verify_inclusion as pm_verify_inclusion

    heading(f"3. Inclusion and consistency proofs at {size:,} entries")
    ours_path = workdir / "proofs.db"
    start = time.perf_counter()
    root = build_tree_storage(ours_path, size)
    click.echo(f"  our tree storage written in {time.perf_counter() - start:.1f} s "
               "(raw sqlite3; not measured)")
    pm_tree, pm_build = build_pymerkle(workdir / "pymerkle.db", size)
    pm_size = pm_tree.get_size()
    click.echo(f"  pymerkle SqliteTree built with append_entries in {pm_build:.1f} s "
               f"({pm_size:,} leaves)")
    compared = size
    if pm_size < size:
        compared = pm_size
        click.echo(f"  pymerkle's build passed {PYMERKLE_BUILD_BUDGET_S:.0f} s: both are "
                   f"compared on arguments within its {pm_size:,} leaves")
    elif pm_tree.get_root() != root:
        raise SystemExit("pymerkle's root differs from ours: the hashing is not comparable")
    else:
        click.echo("  pymerkle root == our root (RFC 6962 hashing on both sides)")

    inclusion_args = []
    for _ in range(samples):
        tree_size = rng.randint(1, compared)
        inclusion_args.append((rng.randrange(tree_size), tree_size))
    consistency_args = []
    for _ in range(samples):
        new = rng.randint(1, compared)
        consistency_args.append((rng.randint(1, new), new))

    engine = create_ledger_engine(sqlite_url(ours_path))
    figures: list[Figure] = []
    try:
        def ours_inclusion(seq: int, tree_size: int) -> Any:
            with Session(engine) as session:
                return inclusion_proof(session, seq, tree_size)

        def ours_consistency(old: int, new: int) -> Any:
            with Session(engine) as session:
                return consistency_proof(session, old, new)

        for kind, args, ours, theirs in (
                ("inclusion", inclusion_args, ours_inclusion,
                 lambda a, b: pm_tree.prove_inclusion(a + 1, b)),
                ("consistency", consistency_args, ours_consistency, pm_tree.prove_consistency)):
            ours(*args[0])  # warm the connection pool and statement caches
            ours_times = time_calls(f"ledger {kind} proofs",
                                    [partial(ours, a, b) for a, b in args])
            pm_tree.cache_clear()  # each kind starts cold, as after a restart
            pm_times = time_calls(f"pymerkle {kind} proofs",
                                  [partial(theirs, a, b) for a, b in args],
                                  PYMERKLE_SAMPLE_BUDGET_S)
            # The same arguments again, both caches now holding what the first passes read;
            # ours and theirs alternate, so a burst of load elsewhere lands on both alike.
            paired = time_calls(f"both {kind} proofs again, alternating (warm caches)",
                                [call for a, b in args[:len(pm_times)]
                                 for call in (partial(ours, a, b), partial(theirs, a, b))],
                                2 * PYMERKLE_SAMPLE_BUDGET_S)
            ours_warm, pm_warm = paired[0::2], paired[1::2][:len(paired) // 2]
            ours_warm = ours_warm[:len(pm_warm)]
            checked = _check_proofs(kind, args[:50], ours, theirs, pm_tree,
                                    pm_verify_inclusion, pm_verify_consistency)
            mean, p99 = stats_ms(ours_times)
            pm_mean, pm_p99 = stats_ms(pm_times)
            warm_mean, _ = stats_ms(pm_warm)
            ours_same = statistics.fmean(ours_times[:len(pm_times)]) * 1e3
            ours_warm_same, ours_warm_p99 = stats_ms(ours_warm)
            warm_median = statistics.median(pm_warm) * 1e3
            ours_warm_median = statistics.median(ours_warm) * 1e3
            click.echo(f"  {kind}: ours mean {mean:.3f} ms, p99 {p99:.3f} ms over "
                       f"{len(ours_times)} calls; {checked} checked against "
                       "ledger.merkle.verify_* and pymerkle's roots")
            click.echo(f"  {kind}: pymerkle mean {pm_mean:.3f} ms, p99 {pm_p99:.3f} ms over "
                       f"the first {len(pm_times)} of the same arguments (cache filling)")
            click.echo(f"  {kind}, both warm, alternating over {len(ours_warm)} arguments: "
                       f"pymerkle mean {warm_mean:.3f} ms (median {warm_median:.3f}), ours mean "
                       f"{ours_warm_same:.3f} ms (median {ours_warm_median:.3f}, p99 "
                       f"{ours_warm_p99:.3f}; each call still opens a session and reads the head)")
            figures.append(report(Figure(f"{kind} proof mean / 1 ms", mean / PROOF_LIMIT_MS,
                                         1.0, False, f"mean {mean:.3f} ms")))
            figures.append(report(Figure(f"{kind} proof p99 / 1 ms", p99 / PROOF_LIMIT_MS,
                                         1.0, False, f"p99 {p99:.3f} ms")))
            figures.append(report(Figure(
                f"{kind} speed-up over pymerkle SqliteTree", pm_mean / ours_same, 10.0, True,
                f"mean {pm_mean:.3f} vs {ours_same:.3f} ms at {compared:,} leaves; warm "
                f"pymerkle cache: {warm_mean / ours_same:.1f}x")))
            figures.append(report(Figure(
                f"{kind}, both warm: pymerkle / ours", warm_mean / ours_warm_same, 1.0, True,
                f"mean {warm_mean:.3f} vs {ours_warm_same:.3f} ms (medians {warm_median:.3f} vs "
                f"{ours_warm_median:.3f}), same arguments alternating, pymerkle's subroot cache "
                "and our node cache both filled by a first pass")))
    finally:
        engine.dispose()
        pm_tree.close()
    return figures


def _check_proofs(kind: str, args: Sequence[tuple[int, int]],
                  ours: Callable[[int, int], Any], theirs: Callable[[int, int], Any],
                  pm_tree: Any, pm_verify_inclusion: Any, pm_verify_consistency: Any) -> int:
    """Verify a sample of both libraries' proofs, outside the timed loops."""
    for a, b in args:
        proof = ours(a, b)
        theirs_proof = theirs(a, b)
        if kind == "inclusion":
            root = pm_tree.get_root(b)
            assert proof.root == root, (a, b)
            merkle.verify_inclusion(leaf_hash=proof.leaf_hash, index=a, size=b,
                                    proof=proof.hashes, root=proof.root)
            assert proof.leaf_hash == merkle.leaf_hash(leaf_data(a))
            pm_verify_inclusion(proof.leaf_hash, root, theirs_proof)
        else:
            old_root, new_root = pm_tree.get_root(a), pm_tree.get_root(b)
            assert (proof.old_root, proof.new_root) == (old_root, new_root), (a, b)
            merkle.verify_consistency(old_size=a, new_size=b, old_root=proof.old_root,
                                      new_root=proof.new_root, proof=proof.hashes)
            pm_verify_consistency(old_root, new_root, theirs_proof)
    return len(args)


# ------------------------------------------------------------- append floor, HTTP, freshness
# (the checkpoint cadence's figures: 5, 6 and 7 of the module docstring)


def bench_append_floor(workdir: Path, outcome: AppendOutcome, count: int, batch: int,
                       rng: random.Random) -> list[Figure]:
    """Figure 5: the log's append against raw insert + one libsodium verify per entry; 5s:
    ``submit``, the same append with the supervision rules, against the same floor."""
    import nacl.bindings

    heading("5. Append against its floor: raw insert + one libsodium Ed25519 verify per entry")
    signed = list(outcome.sample)
    # The messages are built outside the timed loop: the floor is the verify alone.
    messages = [item.signature + item.statement.signing_bytes() for item in signed]
    verify_us = per_entry_us(
        lambda message: nacl.bindings.crypto_sign_open(message, outcome.client_key), messages)
    raw_us = outcome.raw_seconds / outcome.appended * 1e6
    floor_us = raw_us + verify_us
    click.echo(f"  raw sqlite3 insert {raw_us:.1f} µs + libsodium verify {verify_us:.1f} µs = "
               f"floor {floor_us:.1f} µs per entry ({1e6 / floor_us:,.0f} entries/s)")
    # The log's append (chain, tree, key ring, the signature checks, the inserts, the
    # checkpoint cadence, a commit per batch) of as many shipments, in batches of the same
    # size, into a fresh ledger: what the floor's raw insert and verify stand for.
    engine, ledger, client_key, key_id = setup_ledger(workdir / "log-alone.db", 10)
    log_alone = sign_statements(client_key, key_id, count, rng)
    with Session(engine) as session, harness_frozen():
        start = time.perf_counter()
        for part in chunks(log_alone, batch):
            append(session, ledger, part, NO_ADMISSION)
            session.commit()
        alone_us = (time.perf_counter() - start) / count * 1e6
    engine.dispose()
    ours_us = outcome.append_seconds / outcome.appended * 1e6
    click.echo(f"  the log's append + commit ({count:,} shipments, batches of {batch:,}, one "
               f"process, one core): {alone_us:.1f} µs per entry ({1e6 / alone_us:,.0f} "
               f"entries/s); the 0.8 target allows {floor_us / 0.8:.1f} µs")
    figures = [report(Figure("log append vs raw insert + libsodium verify (1 core)",
                             floor_us / alone_us, 0.8, True,
                             f"{alone_us:.1f} vs floor {floor_us:.1f} µs per entry"))]
    click.echo(f"  submit + commit (benchmark 1: the same append with the supervision rules "
               f"and their projections): {ours_us:.1f} µs per entry, of which the rules "
               f"{ours_us - alone_us:.1f} µs")
    figures.append(report(Figure("submit (append + rules) vs the same floor (1 core)",
                                 floor_us / ours_us, None, True,
                                 f"{ours_us:.1f} vs floor {floor_us:.1f} µs per entry")))
    return figures


def valid_shipments(key: Ed25519PrivateKey, key_id: str, count: int, prefix: str
                    ) -> list[SignedStatement]:
    """Client-signed shipments in the API's normal form (what ``POST /api/v1/events`` takes),
    so the library and the server append the very same statements."""
    from schemas.identifiers import uscc_check_character

    buyer = BUYER[:17] + uscc_check_character(BUYER[:17])  # the API checks the USCC's check
    statements = []
    for i in range(count):
        statement = Statement("shipment", USCC, key_id, "2024-05-01T08:00:00+08:00", {
            "gtin": GTIN, "lot": LOT, "quantity": str(1 + i % 20), "unit": "case",
            "counterparty": buyer, "document_no": f"{prefix}-{i:08d}",
            "shipped_at": "2024-05-01T09:00:00+08:00"})
        statements.append(statement.sign(key))
    return statements


def event_json(signed: SignedStatement) -> dict[str, Any]:
    statement = signed.statement
    return {"type": statement.type, "enterprise": statement.enterprise,
            "key_id": statement.key_id, "event_time": statement.event_time,
            "payload": dict(statement.payload),
            "signature": base64.b64encode(signed.signature).decode()}


class CheckpointWatch:
    """Polls the database's newest checkpoint size (read-only, every few ms) and remembers
    when each size was first seen; then answers when an entry was first covered."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="checkpoint-watch", daemon=True)

    def _run(self) -> None:
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as connection:
            last = -1
            while not self.stop.is_set():
                size = connection.execute("SELECT MAX(size) FROM checkpoints").fetchone()[0] or 0
                if size != last:
                    self.seen.append((time.monotonic(), size))
                    last = size
                time.sleep(0.003)

    def covered_at(self, seq: int) -> float | None:
        return next((at for at, size in self.seen if size > seq), None)

    def __enter__(self) -> CheckpointWatch:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def bench_append_http(workdir: Path, count: int, batch: int, interval: float) -> list[Figure]:
    """Figures 6 and 7: gunicorn with two workers against the one-core library rate, and how
    long an append waits for a checkpoint covering it while the load runs."""
    import requests

    from ledger.accounts.roles import PRODUCER
    from ledger.accounts.tokens import issue_token
    from ledger.log.keys import private_key_pem

    heading(f"6. Append over HTTP (gunicorn, 2 workers) against the one-core library rate, "
            f"{count:,} entries in batches of {batch:,}")
    # The library rate, on the very statements the server will take (the API's normal form).
    engine, ledger, client_key, key_id = setup_ledger(workdir / "library-rate.db", count)
    signed = valid_shipments(client_key, key_id, count, "LIB")
    with Session(engine) as session, harness_frozen():
        start = time.perf_counter()
        for part in chunks(signed, batch):
            submit(session, ledger, VAULT, part)
            session.commit()
        library_seconds = time.perf_counter() - start
    engine.dispose()
    library_rate = count / library_seconds
    click.echo(f"  library submit + commit, one process: {library_rate:10,.0f} entries/s")

    path = workdir / "http.db"
    engine, ledger, client_key, key_id = setup_ledger(path, count + 10_000)
    with Session(engine) as session:
        token = issue_token(session, USCC, PRODUCER, rfc3339(datetime.now(UTC)))
        session.commit()
    engine.dispose()
    key_path = workdir / "http-ledger.pem"
    key_path.write_bytes(private_key_pem(ledger.signing_key))
    bodies = [json.dumps([event_json(s) for s in part]).encode()
              for part in chunks(valid_shipments(client_key, key_id, count, "HTTP"), batch)]
    probes = [json.dumps([event_json(s)]).encode()
              for s in valid_shipments(client_key, key_id, 2000, "PROBE")]
    env = {**os.environ, "TRACENET_DATABASE_URL": sqlite_url(path),
           "TRACENET_LEDGER_KEY": str(key_path), "TRACENET_LEDGER_ORIGIN": ORIGIN,
           "TRACENET_SECRET_KEY": "bench", "TRACENET_INSTANCE": str(workdir / "instance"),
           "TRACENET_CHECKPOINT_INTERVAL": str(interval),
           "TRACENET_RATELIMIT_ENABLED": "false"}  # measure the server, not the limiter
    repo = Path(__file__).resolve().parents[1]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--timeout", "300", "--log-level", "warning", "wsgi:app"], env=env, cwd=repo)
    worker = subprocess.Popen(  # noqa: S603 - the checkpoint keeper, as `make run` starts it
        [sys.executable, "-c", "from web.cli import main; main()", "worker"], env=env, cwd=repo,
        stderr=subprocess.DEVNULL)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        _wait_healthy(url, requests)
        with requests.Session() as warm:  # both workers import and connect before the clock
            for probe in probes[:4]:
                warm.post(f"{url}/api/v1/events", data=probe, headers=headers, timeout=60)
        answers: list[tuple[float, int]] = []  # (answer time, last seq) of every append
        failures: list[str] = []
        lock = threading.Lock()
        queue = list(reversed(bodies))

        def client() -> None:
            with requests.Session() as http:
                while True:
                    with lock:
                        if not queue:
                            return
                        body = queue.pop()
                    response = http.post(f"{url}/api/v1/events", data=body, headers=headers,
                                         timeout=300)
                    at = time.monotonic()
                    with lock:
                        if response.status_code != 201:
                            failures.append(f"{response.status_code} {response.text[:200]}")
                        else:
                            answers.append((at, response.json()[-1]["seq"]))

        probe_answers: list[tuple[float, int]] = []
        loading = threading.Event()

        def prober() -> None:  # one small append every 20 ms while the load runs
            with requests.Session() as http:
                for body in probes[4:]:
                    if not loading.is_set():
                        return
                    response = http.post(f"{url}/api/v1/events", data=body, headers=headers,
                                         timeout=300)
                    if response.status_code == 201:
                        probe_answers.append((time.monotonic(), response.json()[-1]["seq"]))
                    time.sleep(0.02)

        with CheckpointWatch(path) as watch:
            loading.set()
            threads = [threading.Thread(target=client) for _ in range(2)]
            probe_thread = threading.Thread(target=prober)
            start = time.monotonic()
            for thread in [*threads, probe_thread]:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - start
            loading.clear()
            probe_thread.join()
            if failures or not answers:
                raise SystemExit(f"HTTP appends failed: {failures[:3]}")
            newest = max(seq for _, seq in answers + probe_answers)
            deadline = time.monotonic() + 10 * interval + 5
            while watch.covered_at(newest) is None and time.monotonic() < deadline:
                time.sleep(0.01)  # the worker covers the tail
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(30)
    http_rate = count / elapsed
    click.echo(f"  HTTP, 2 client threads, 2 gunicorn workers: {http_rate:10,.0f} entries/s "
               f"({elapsed:.2f} s; the clients share the machine's {os.cpu_count()} cores)")
    figures = [report(Figure("HTTP (2 workers) vs one-core library rate",
                             http_rate / library_rate, 1.5, True,
                             f"{http_rate:,.0f} vs {library_rate:,.0f} entries/s"))]

    heading(f"7. Checkpoint freshness under that load (interval {interval:g} s, "
            f"{CHECKPOINT_ENTRIES:,} entries)")
    waits = []
    for answered, seq in answers + probe_answers:
        covered = watch.covered_at(seq)
        waits.append(float("inf") if covered is None else max(0.0, covered - answered))
    signed_during = [size for at, size in watch.seen if start <= at <= start + elapsed]
    p50, p99 = percentile(waits, 0.5), percentile(waits, 0.99)
    click.echo(f"  {len(waits)} appends ({len(probe_answers)} single-entry probes every 20 ms, "
               f"{len(answers)} batches): from the append's answer to the first checkpoint "
               f"covering it, p50 {p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, max "
               f"{max(waits) * 1e3:.0f} ms")
    click.echo(f"  {len(signed_during)} checkpoints signed during the {elapsed:.1f} s of load "
               f"(at most one per {interval:g} s or per {CHECKPOINT_ENTRIES:,} entries)")
    figures.append(report(Figure("checkpoint freshness p99 / interval", p99 / interval, 1.25,
                                 False, f"p99 {p99 * 1e3:.0f} ms, interval "
                                        f"{interval * 1e3:.0f} ms")))
    return figures


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, requests: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


# ------------------------------------------------------------------------------------- main


@click.command()
@click.option("--entries", type=click.IntRange(min=10), default=None,
              help="Entries for the append and verify benchmarks [20000; --quick: 300].")
@click.option("--proof-size", type=click.IntRange(min=2), default=None,
              help="Tree size for the proof benchmarks [1000000; --quick: 5000].")
@click.option("--samples", type=click.IntRange(min=2), default=None,
              help="Random arguments per proof kind [1000; --quick: 100].")
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Statements per append batch [1000; --quick: 100].")
@click.option("--new", "since_new", type=click.IntRange(min=10), default=1000, show_default=True,
              help="Entries appended after the saved checkpoint for the verify --since figure.")
@click.option("--only", multiple=True,
              type=click.Choice(["append", "verify", "jobs", "since", "proofs", "cadence"]),
              help="Run only these benchmarks (repeatable); verify and jobs need append.")
@click.option("--quick", is_flag=True, help="Small sizes, same code paths (a smoke test).")
@click.option("--seed", type=int, default=6962, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures to this JSON file.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the databases here (default: a temporary directory, removed).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=CHECKPOINT_INTERVAL,
              show_default=True, help="Checkpoint interval (s) of the HTTP server (6, 7).")
def main(entries: int | None, proof_size: int | None, samples: int | None, batch: int | None,
         since_new: int, only: tuple[str, ...], quick: bool, seed: int, json_path: Path | None,
         workdir: Path | None, interval: float) -> None:
    """Run the ledger benchmarks and print each figure as a ratio with its target."""
    entries = entries or (300 if quick else 20_000)
    proof_size = proof_size or (5_000 if quick else 1_000_000)
    samples = samples or (100 if quick else 1000)
    batch = batch or (100 if quick else 1000)
    rng = random.Random(seed)
    click.echo(f"Tracenet ledger benchmarks: entries={entries:,} batch={batch:,} "
               f"proof-size={proof_size:,} samples={samples:,} seed={seed}"
               f"{' (quick)' if quick else ''}")
    click.echo(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; Python "
               f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
               f"load average {load_average()}")
    with tempfile.TemporaryDirectory(prefix="tracenet-bench-") as temporary:
        where = workdir or Path(temporary)
        where.mkdir(parents=True, exist_ok=True)
        wanted = set(only or ["append", "verify", "jobs", "since", "proofs", "cadence"])
        figures: list[Figure] = []
        full_us: dict[int, float] = {}
        if wanted & {"append", "verify", "jobs", "since", "cadence"}:
            figures, outcome = bench_append(where, entries, batch, rng)
            if "cadence" in wanted:
                figures += bench_append_floor(where, outcome, entries, batch, rng)
            if "verify" in wanted:
                figures += bench_verify(where, outcome)
            if wanted & {"jobs", "since"}:
                jobs_figures, full_us = bench_verify_jobs(outcome)
                figures += jobs_figures
        if "since" in wanted:
            figures += bench_since(where, quick, since_new, full_us)
        if "proofs" in wanted:
            figures += bench_proofs(where, proof_size, samples, rng)
        if "cadence" in wanted:
            figures += bench_append_http(where, entries, batch, interval)

    heading("Summary")
    click.echo(f"  load average at the end: {load_average()} (other processes skew timings)")
    for figure in figures:
        click.echo(f"  {figure.verdict.lower() if figure.met else 'MISSED':<6}  {figure.name:<52} "
                   f"{figure.ratio:9.3f}  (target {figure.target_text})")
    if json_path is not None:
        json_path.write_text(json.dumps(
            [{**asdict(figure), "met": figure.met} for figure in figures], indent=2) + "\n")


if __name__ == "__main__":
    main()
