"""Checkpoint cadence, signed entry timestamps and the signature checks before the head lock."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from ledger import log
from ledger.errors import EntryError, LedgerError, SignatureError
from ledger.log import sequencer
from ledger.log.canonical import canonical_bytes
from ledger.log.checkpoint import open_checkpoint
from ledger.log.entry import Entry, SignedStatement, Statement
from ledger.log.keys import generate_private_key
from ledger.log.storage import LedgerHead
from ledger.log.timestamp import SignedEntryTimestamp, sign_entry_timestamp
from ledger.log.verify import verify
from tests.ledger.conftest import ORIGIN, Producer, append


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def checkpoint_sizes(session: Session) -> list[int]:
    return list(session.execute(text("SELECT size FROM checkpoints ORDER BY size")).scalars())


def covered(session: Session, ledger: log.Ledger) -> int:
    note = log.latest_checkpoint(session, ledger)
    session.commit()
    return open_checkpoint(note, key_name=ORIGIN,
                           public_key=ledger.signing_key.public_key()).size


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(clock: FakeClock) -> log.Ledger:
    return log.Ledger(ORIGIN, generate_private_key(), clock=clock, checkpoint_interval=1.0,
                      checkpoint_entries=10)


# ----------------------------------------------------------------------------------- cadence


def test_appends_within_an_interval_share_one_checkpoint(
        session: Session, ledger: log.Ledger, clock: FakeClock, producer: Producer) -> None:
    first = checkpoint_sizes(session)  # genesis signs at once: there was no checkpoint
    assert first == [1]
    for lot in range(4):
        clock.advance(0.1)
        append(session, ledger, [producer.signed(lot=f"L{lot}")])
        session.commit()
    assert checkpoint_sizes(session) == [1]
    assert log.ledger_size(session) == 7
    clock.advance(0.7)  # one second after the genesis checkpoint: the next append crosses
    append(session, ledger, [producer.signed(lot="L9")])
    session.commit()
    assert checkpoint_sizes(session) == [1, 8]
    head = session.get(LedgerHead, 1, populate_existing=True)
    assert head is not None and head.checkpoint_size == 8
    assert head.checkpoint_at == log.rfc3339(clock())


def test_the_entry_count_boundary_signs_before_the_interval(
        session: Session, ledger: log.Ledger, clock: FakeClock, producer: Producer) -> None:
    for lot in range(9):  # sizes 4..12; at 11, 10 entries lie past the genesis checkpoint
        append(session, ledger, [producer.signed(lot=f"L{lot}")])
        session.commit()
    assert checkpoint_sizes(session) == [1, 11]  # 11 - 1 == checkpoint_entries
    append(session, ledger, [producer.signed(lot=f"M{lot}") for lot in range(12)])
    session.commit()
    assert checkpoint_sizes(session) == [1, 11, 24]  # one batch crossing: one checkpoint


def test_the_worker_step_covers_the_tail(session: Session, ledger: log.Ledger,
                                         clock: FakeClock, producer: Producer) -> None:
    append(session, ledger, [producer.signed()])
    session.commit()
    assert log.ensure_checkpoint(session, ledger) is None  # not due yet
    assert log.checkpoint_due_in(session, ledger) == pytest.approx(1.0)
    assert covered(session, ledger) == 1  # readers see the newest, which lags
    clock.advance(1.0)
    assert log.checkpoint_due_in(session, ledger) == 0
    note = log.ensure_checkpoint(session, ledger)
    session.commit()
    assert note is not None and covered(session, ledger) == 4
    assert log.ensure_checkpoint(session, ledger) is None  # covered: nothing to sign
    assert log.checkpoint_due_in(session, ledger) is None
    assert checkpoint_sizes(session) == [1, 4]


def test_keep_checkpoints_signs_when_due_until_stopped(
        sessions: sessionmaker[Session], session: Session, ledger: log.Ledger,
        producer: Producer) -> None:
    ledger = dataclasses.replace(ledger, clock=lambda: datetime.now(UTC),
                                 checkpoint_interval=0.2)
    append(session, ledger, [producer.signed()])
    session.commit()
    stop = threading.Event()
    worker = threading.Thread(target=log.keep_checkpoints, args=(sessions, ledger),
                              kwargs={"stop": stop, "poll": 0.05})
    worker.start()
    try:
        note = log.await_checkpoint(sessions, ledger, 3, timeout=5,
                                    sleep=lambda _: stop.wait(0.01))
    finally:
        stop.set()
        worker.join(5)
    assert note is not None
    assert open_checkpoint(note, key_name=ORIGIN,
                           public_key=ledger.signing_key.public_key()).size == 4


def test_await_checkpoint_signs_when_due_and_times_out_otherwise(
        sessions: sessionmaker[Session], session: Session, ledger: log.Ledger,
        clock: FakeClock, producer: Producer) -> None:
    append(session, ledger, [producer.signed()])
    session.commit()
    slept: list[float] = []
    assert log.await_checkpoint(sessions, ledger, 3, timeout=0, sleep=slept.append) is None
    assert log.covering_checkpoint(session, ledger, 0) is not None
    assert log.covering_checkpoint(session, ledger, 3) is None

    def sleep(seconds: float) -> None:  # time passes only while the waiter sleeps
        slept.append(seconds)
        clock.advance(seconds)

    note = log.await_checkpoint(sessions, ledger, 3, timeout=10, sleep=sleep)
    assert note is not None and "\n4\n" in note
    assert 0.98 <= sum(slept) <= 1.02  # it waited for the interval, and no longer


def test_verify_accepts_old_per_batch_and_new_cadence_checkpoints(
        session: Session, ledger: log.Ledger, clock: FakeClock, producer: Producer) -> None:
    every = dataclasses.replace(ledger, checkpoint_interval=0)  # as before the cadence
    for lot in range(3):
        append(session, every, [producer.signed(lot=f"OLD{lot}")])
        session.commit()
    for lot in range(5):
        clock.advance(0.4)
        append(session, ledger, [producer.signed(lot=f"NEW{lot}")])
        session.commit()
    sizes = checkpoint_sizes(session)
    # genesis; each old-style batch; then the one append 1 s after the last checkpoint
    assert sizes == [1, 4, 5, 6, 9]
    report = verify(session, origin=ORIGIN, operator_key=ledger.signing_key.public_key())
    assert report.size == log.ledger_size(session) and report.checkpoints == len(sizes)


def test_cadence_settings_are_checked() -> None:
    with pytest.raises(LedgerError, match="checkpoint interval"):
        log.Ledger(ORIGIN, generate_private_key(), checkpoint_interval=-1)
    with pytest.raises(LedgerError, match="checkpoint interval"):
        log.Ledger(ORIGIN, generate_private_key(), checkpoint_entries=0)


# -------------------------------------------------------------- signatures before the lock


def test_a_bad_signature_is_refused_before_the_head_lock(
        session: Session, ledger: log.Ledger, producer: Producer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_lock(_session: Session) -> LedgerHead:
        raise AssertionError("the head was locked for a batch with a bad signature")

    monkeypatch.setattr(sequencer, "_lock_head", no_lock)
    good = producer.signed(lot="GOOD")
    bad = SignedStatement(producer.statement(lot="BAD"), bytes(64))
    with pytest.raises(SignatureError, match="does not verify") as info:
        append(session, ledger, [good, bad])
    assert info.value.item == 1
    session.rollback()


def test_signatures_are_verified_once_per_entry(
        session: Session, ledger: log.Ledger, producer: Producer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[bytes] = []
    real = sequencer.verify_signature

    def counting(public_key: bytes, signature: bytes, message: bytes) -> bool:
        checked.append(signature)
        return real(public_key, signature, message)

    monkeypatch.setattr(sequencer, "verify_signature", counting)
    monkeypatch.setattr("ledger.log.identity.verify_signature", counting)
    batch = [producer.signed(lot=f"L{lot}") for lot in range(5)]
    append(session, ledger, batch)
    session.commit()
    assert checked == [signed.signature for signed in batch]


# ------------------------------------------------------------------ signed entry timestamps


def test_signed_entry_timestamps_verify_and_a_tampered_one_fails(
        session: Session, ledger: log.Ledger, producer: Producer) -> None:
    (appended,) = append(session, ledger, [producer.signed()])
    session.commit()
    entry = appended.entry
    stamp = sign_entry_timestamp(origin=ORIGIN, seq=entry.seq, leaf_hash=entry.leaf_hash,
                                 integrated_time=entry.recorded_at,
                                 private_key=ledger.signing_key)
    public = ledger.signing_key.public_key()
    parsed = SignedEntryTimestamp.from_json(json.loads(json.dumps(stamp.as_json())))
    assert parsed == stamp
    parsed.verify(public, origin=ORIGIN)
    assert stamp.signed_bytes() == (
        b"tracenet signed entry timestamp v1\n" + ORIGIN.encode() + b"\n"
        + str(entry.seq).encode() + b"\n" + base64.b64encode(entry.leaf_hash) + b"\n"
        + entry.recorded_at.encode() + b"\n")
    # Deterministic: signing again gives the same bytes.
    assert sign_entry_timestamp(origin=ORIGIN, seq=entry.seq, leaf_hash=entry.leaf_hash,
                                integrated_time=entry.recorded_at,
                                private_key=ledger.signing_key) == stamp
    for change in ({"seq": entry.seq + 1}, {"leaf_hash": bytes(32)},
                   {"integrated_time": "2026-11-28T08:00:00.000001Z"},
                   {"signature": bytes(64)}):
        with pytest.raises(SignatureError, match="does not verify"):
            dataclasses.replace(stamp, **change).verify(public)  # type: ignore[arg-type]
    with pytest.raises(EntryError, match="expected origin"):
        dataclasses.replace(stamp, origin="other.example/log").verify(public, origin=ORIGIN)
    with pytest.raises(SignatureError, match="expected a timestamp by key"):
        stamp.verify(generate_private_key().public_key())


@pytest.mark.parametrize(("change", "field"), [
    ({"seq": -1}, "seq"), ({"seq": True}, "seq"), ({"leaf_hash": "AAAA"}, "leaf_hash"),
    ({"signature": "not base64!"}, "signature"), ({"origin": ""}, "origin"),
])
def test_malformed_timestamps_name_their_field(change: dict[str, object], field: str) -> None:
    key = generate_private_key()
    body = sign_entry_timestamp(origin=ORIGIN, seq=5, leaf_hash=bytes(range(32)),
                                integrated_time="2026-11-28T08:00:00.000000Z",
                                private_key=key).as_json()
    with pytest.raises(EntryError) as info:
        SignedEntryTimestamp.from_json({**body, **change})
    assert info.value.field == (field,)


# ---------------------------------------------------------- the entry's spliced JCS bytes


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(type_=st.text(min_size=1, max_size=12), payload=st.dictionaries(st.text(max_size=8),
                                                                         _JSON, max_size=5),
       seq=st.integers(0, 2**53 - 1), signature=st.binary(min_size=64, max_size=64),
       prev=st.binary(min_size=32, max_size=32),
       recorded_at=st.sampled_from(["2026-11-28T08:00:00.000000Z", "", "a\"b", "x\\y",
                                    "2026-11-28T08:00:00+08:00", "时间"]))
def test_entry_bytes_are_the_jcs_of_the_whole_body(
        type_: str, payload: dict[str, object], seq: int, signature: bytes, prev: bytes,
        recorded_at: str) -> None:
    statement = Statement(type_, "91350100MA0000001P", "00" * 8, "2026-11-28T08:00:00Z",
                          payload)
    entry = Entry.create(seq=seq, signed=SignedStatement(statement, signature),
                         recorded_at=recorded_at, prev=prev)
    body = {**statement.as_json(), "seq": seq, "recorded_at": recorded_at, "prev": prev.hex(),
            "signature": base64.b64encode(signature).decode()}
    assert entry.canonical == canonical_bytes(body)
    assert Entry.from_canonical(entry.canonical) == entry


def test_stored_entries_are_byte_identical_to_full_canonicalisation(
        session: Session, ledger: log.Ledger, producer: Producer) -> None:
    append(session, ledger, [producer.signed(lot=f"L{lot}", note="含 \"引号\" \\ 与换行\n")
                             for lot in range(3)])
    session.commit()
    for body in session.execute(text("SELECT body FROM entries ORDER BY seq")).scalars():
        parsed = json.loads(body)
        assert canonical_bytes(parsed) == body
    assert session.scalar(select(LedgerHead.size)) == 6


_TIMES = st.builds(
    lambda day, second, fraction: f"2026-11-{day:02d}T08:00:{second:02d}{fraction}Z",
    st.integers(1, 28), st.integers(0, 59), st.sampled_from(["", ".1", ".000001", ".123456789"]))


@settings(max_examples=200, deadline=None)
@given(origin=st.text(min_size=1, max_size=30).filter(lambda o: "\n" not in o),
       seq=st.integers(0, 2**63), leaf_hash=st.binary(min_size=32, max_size=32),
       integrated_time=_TIMES)
def test_timestamps_round_trip_and_verify(origin: str, seq: int, leaf_hash: bytes,
                                          integrated_time: str) -> None:
    key = _KEY
    stamp = sign_entry_timestamp(origin=origin, seq=seq, leaf_hash=leaf_hash,
                                 integrated_time=integrated_time, private_key=key)
    parsed = SignedEntryTimestamp.from_json(json.loads(json.dumps(stamp.as_json())))
    assert parsed == stamp
    parsed.verify(key.public_key(), origin=origin)


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(st.sampled_from(["origin", "seq", "leaf_hash", "integrated_time",
                                             "key_id", "signature", "other"]),
                            st.none() | st.booleans() | st.integers() | st.text(max_size=90)
                            | st.binary(max_size=70).map(lambda b: base64.b64encode(b).decode()),
                            max_size=7))
def test_arbitrary_timestamp_json_raises_only_entry_or_signature_errors(
        body: dict[str, object]) -> None:
    try:
        SignedEntryTimestamp.from_json(body).verify(_KEY.public_key())
    except (EntryError, SignatureError):
        pass


_KEY = generate_private_key()


def test_a_ledger_written_before_the_cadence_migrates_and_verifies(
        tmp_path: Path, ledger: log.Ledger, clock: FakeClock) -> None:
    """A ledger with one checkpoint per batch, at the schema before 0009_checkpoint_cadence,
    upgrades (the head learns its newest checkpoint), still verifies, and appends at the
    cadence from then on."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from ledger import db as ledger_db
    from ledger.db import Base, create_ledger_engine, migrate
    from tests.ledger.conftest import enrol

    # The old ledger's rows, written by this code with a checkpoint per batch (interval 0).
    every = dataclasses.replace(ledger, checkpoint_interval=0)
    source = create_ledger_engine(f"sqlite:///{tmp_path / 'source.db'}")
    migrate(source)
    with Session(source) as session:
        log.initialise(session, every)
        session.commit()
        producer = enrol(session, every, 1)
        for lot in range(3):
            append(session, every, [producer.signed(lot=f"OLD{lot}")])
            session.commit()

    # The same rows in a database migrated to every head but the cadence's.
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location",
                           str(Path(ledger_db.__file__).with_name("migrations")))
    heads = ScriptDirectory.from_config(config).get_heads()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        for head in heads:
            if head != "0009_checkpoint_cadence":
                command.upgrade(config, head)
    tables = ("entries", "merkle_nodes", "checkpoints", "enterprises", "keys", "records",
              "stock", "lots", "lot_edges", "products")
    with source.connect() as old, engine.begin() as new:
        for name in tables:
            table = Base.metadata.tables[name]
            rows = [dict(row._mapping) for row in old.execute(select(table))]
            if rows:
                new.execute(insert(table), rows)
        head = old.exec_driver_sql("SELECT id, size, last_leaf_hash, last_recorded_at FROM "
                                   "ledger_head").one()
        new.exec_driver_sql("INSERT INTO ledger_head (id, size, last_leaf_hash, "
                            "last_recorded_at) VALUES (?, ?, ?, ?)", tuple(head))
        assert "checkpoint_size" not in [
            c[1] for c in new.exec_driver_sql("PRAGMA table_info(ledger_head)")]
    source.dispose()

    migrate(engine)  # now with 0009_checkpoint_cadence
    with Session(engine) as session:
        upgraded = session.get(LedgerHead, 1)
        assert upgraded is not None
        assert upgraded.checkpoint_size == upgraded.size == 6
        assert upgraded.checkpoint_at == upgraded.last_recorded_at
        assert checkpoint_sizes(session) == [1, 3, 4, 5, 6]
        report = verify(session, origin=ORIGIN, operator_key=ledger.signing_key.public_key())
        assert (report.size, report.checkpoints) == (6, 5)
        for lot in range(3):  # within the interval: one checkpoint at most
            clock.advance(0.3)
            append(session, ledger, [producer.signed(lot=f"NEW{lot}")])
            session.commit()
        assert checkpoint_sizes(session) == [1, 3, 4, 5, 6]
        clock.advance(0.2)
        assert log.ensure_checkpoint(session, ledger) is not None
        session.commit()
        report = verify(session, origin=ORIGIN, operator_key=ledger.signing_key.public_key())
        assert (report.size, report.checkpoints) == (9, 6)
    engine.dispose()

