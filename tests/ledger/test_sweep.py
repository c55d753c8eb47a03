"""Verification's fast path (ledger.log.sweep): entries read without parsing their payload, whole
chunks checked in worker processes, the sequential check taking over only where it must.

test_tamper and test_verify_since hold the fast path to the sequential check's verdicts with
chunks of 4 entries; here it runs at its real size, 2,048 entries a chunk.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ledger import log
from ledger.errors import VerificationError
from ledger.log import NO_ADMISSION, sweep, verify
from ledger.log.entry import Entry, EntryFields, Statement, entry_fields
from ledger.log.keys import generate_private_key
from ledger.log.storage import CheckpointRow
from tests.ledger.conftest import Producer, enrol
from tests.ledger.test_canonical import json_values
from tests.ledger.test_canonical import text as json_text

_KEY = generate_private_key()


def _expected(entry: Entry) -> EntryFields:
    statement = entry.statement
    return EntryFields(entry.seq, entry.prev, entry.recorded_at, statement.enterprise,
                       statement.key_id, statement.type, entry.signature,
                       statement.signing_bytes())


@settings(max_examples=300)
@given(type_=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True) | json_text.filter(bool),
       enterprise=json_text, key_id=json_text, event_time=json_text,
       payload=st.dictionaries(json_text, json_values, max_size=5),
       seq=st.integers(0, 10**15), prev=st.binary(min_size=32, max_size=32),
       recorded_at=st.sampled_from(["2026-11-28T08:00:00.123456Z", "2026-11-28T16:00:00+08:00"])
       | json_text)
def test_entry_fields_read_what_was_signed(type_: str, enterprise: str, key_id: str,
                                           event_time: str, payload: dict[str, Any], seq: int,
                                           prev: bytes, recorded_at: str) -> None:
    # Whatever the strings hold (quotes, escapes, astral characters), the bytes are read
    # either straight out of the spliced form or by the whole parse, to the same fields.
    signed = Statement(type_, enterprise, key_id, event_time, payload).sign(_KEY)
    entry = Entry.create(seq=seq, signed=signed, recorded_at=recorded_at, prev=prev)
    assert entry_fields(entry.canonical) == _expected(entry)
    # A JSON-equal form the ledger never writes is parsed whole, to the same fields.
    spaced = json.dumps(json.loads(entry.canonical), indent=1, ensure_ascii=True).encode()
    assert entry_fields(spaced) == _expected(entry)


def test_the_signed_bytes_are_cut_out_exactly() -> None:
    # A payload that itself holds "prev", "seq" and "signature" members: only the entry's own
    # members, after the payload, are cut out.
    payload = {"note": {"prev": "00" * 32, "recorded_at": "x", "seq": 1, "signature": "AA=="},
               "lot": "L1"}
    signed = Statement("material_intake", "E1", "k1", "2026-11-28T08:00:00Z", payload).sign(_KEY)
    entry = Entry.create(seq=7, signed=signed, recorded_at="2026-11-28T08:00:01Z",
                         prev=bytes(range(32)))
    fields = entry_fields(entry.canonical)
    assert fields.signing_bytes == signed.statement.signing_bytes()
    assert fields.prev == bytes(range(32)) and fields.seq == 7


@pytest.fixture
def counted_sequential_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seqs the sequential check looks at (the fast path does not use it)."""
    seen: list[int] = []
    original = verify.check_entry

    def counting(expected: int, seq: int, *args: Any, **kwargs: Any) -> Any:
        seen.append(seq)
        return original(expected, seq, *args, **kwargs)

    monkeypatch.setattr(verify, "check_entry", counting)
    return seen


@pytest.fixture
def long_ledger(session: Session, ledger: log.Ledger) -> Iterator[tuple[Session, log.Ledger]]:
    """Two whole chunks and a short one (4,300 entries), checkpointed inside chunks."""
    producer: Producer = enrol(session, ledger, 7)
    every_batch = dataclasses.replace(ledger, checkpoint_interval=0)
    for first in range(log.ledger_size(session), 4300, 700):
        log.append(session, every_batch, [
            producer.signed(lot=f"L{i}") for i in range(first, min(first + 700, 4300))],
            NO_ADMISSION)
        session.commit()
    assert log.ledger_size(session) == 4300
    yield session, ledger


def _verify(session: Session, ledger: log.Ledger, jobs: int) -> verify.VerifyReport:
    return verify.verify(session, origin=ledger.origin,
                         operator_key=ledger.signing_key.public_key(), jobs=jobs)


def _tamper(session: Session, change: Callable[[Session], None]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE entries DISABLE TRIGGER USER"))
    else:
        for name in session.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all():
            session.execute(text(f"DROP TRIGGER {name}"))
    change(session)
    session.commit()


def _flip(seq: int) -> Callable[[Session], None]:
    def change(session: Session) -> None:
        body = session.execute(text("SELECT body FROM entries WHERE seq = :s"),
                               {"s": seq}).scalar_one()
        session.execute(text("UPDATE entries SET body = :b WHERE seq = :s"),
                        {"b": body.replace(b'"L', b'"M', 1), "s": seq})
    return change


def test_an_intact_ledger_goes_by_the_fast_path_alone(
        long_ledger: tuple[Session, log.Ledger], counted_sequential_checks: list[int]) -> None:
    session, ledger = long_ledger
    for jobs in (1, 2):
        report = _verify(session, ledger, jobs)
        assert report.size == 4300
        assert report.root == log.tree_root(session, 4300)
        assert report.checkpoints >= 6  # sizes inside chunks among them: roots recomputed
    assert counted_sequential_checks == []


def test_a_bad_entry_is_named_by_the_sequential_check_from_its_chunk(
        long_ledger: tuple[Session, log.Ledger], counted_sequential_checks: list[int]) -> None:
    session, ledger = long_ledger
    # From the end back, so that each flip is the first bad entry: in the short last chunk,
    # at the first entry of a chunk and at the last.
    for seq in (4299, 2048, 2047):
        _tamper(session, _flip(seq))
        counted_sequential_checks.clear()
        with pytest.raises(VerificationError) as failed:
            _verify(session, ledger, 2)
        assert (failed.value.seq, failed.value.kind) == (seq, "content hash")
        chunk = seq // sweep.CHUNK * sweep.CHUNK
        assert counted_sequential_checks == list(range(chunk, seq + 1))


def test_verify_since_goes_by_the_fast_path_from_a_saved_size_off_a_boundary(
        long_ledger: tuple[Session, log.Ledger], counted_sequential_checks: list[int]) -> None:
    session, ledger = long_ledger
    size, note = session.execute(
        select(CheckpointRow.size, CheckpointRow.note)
        .where(CheckpointRow.size > 2048, CheckpointRow.size < 4096)
        .order_by(CheckpointRow.size)).first()  # type: ignore[misc]
    assert size % sweep.CHUNK

    def since() -> verify.SinceReport:
        return verify.verify_since(session, origin=ledger.origin,
                                   operator_key=ledger.signing_key.public_key(),
                                   saved_note=note, jobs=2)

    report = since()
    assert (report.since, report.size, report.entries) == (size, 4300, 4300 - size)
    assert counted_sequential_checks == []
    _tamper(session, _flip(size + 1))
    with pytest.raises(VerificationError) as failed:
        since()
    assert (failed.value.seq, failed.value.kind) == (size + 1, "content hash")
    assert counted_sequential_checks == [size, size + 1]
