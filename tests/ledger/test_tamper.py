"""Tampering with a real database is caught by `tracenet verify`, which names the first bad seq.

Each test builds a 20-entry ledger in batches, checkpointing every batch (a cadence interval of
0, so signed checkpoints pin sizes 3, 5, 10, 15 and 20), plays an attacker with write access
to the database, then runs the real CLI command. Verification's fast path runs on chunks of 4
entries here (see ``small_chunks``); tests/ledger/test_sweep.py checks it at its real size.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from ledger import log
from ledger.log import Ledger, merkle, sequencer
from ledger.log.canonical import canonical_bytes
from ledger.log.entry import SignedStatement
from ledger.log.identity import KEY_REVOKED, KeyRing
from ledger.log.storage import node_id
from ledger.supervision.admission import rebuild
from tests.conftest import run_cli
from tests.ledger.conftest import Producer, append, enrol
from web.db import get_engine, get_ledger, get_session

APPEND_ONLY = ("entries", "merkle_nodes", "checkpoints")


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 4 entries, so the fast path checks the 20 entries as five chunks, stitching
    their boundaries (and checkpoints inside them), before the sequential check names what it
    turned down: each test holds the two paths to one verdict."""
    monkeypatch.setattr("ledger.log.sweep.CHUNK_LEVEL", 2)
    monkeypatch.setattr("ledger.log.sweep.CHUNK", 4)


@pytest.fixture
def built(app: Flask) -> Iterator[tuple[Flask, Producer]]:
    """A ledger of 20 entries: genesis, one enterprise (2), then batches of 2, 5, 5, 5."""
    with app.app_context():
        session, ledger = get_session(), dataclasses.replace(get_ledger(), checkpoint_interval=0)
        producer = enrol(session, ledger, 7)
        for size in (2, 5, 5, 5):
            append(session, ledger, [producer.signed(lot=f"L{i}") for i in range(size)])
            session.commit()
        assert log.ledger_size(session) == 20
    yield app, producer


def run_verify(app: Flask, *args: str) -> Result:
    return run_cli(app, "verify", *args)


def assert_fails_at(app: Flask, seq: int, kind: str, *args: str) -> None:
    result = run_verify(app, *args)
    assert result.exit_code == 1, result.output
    assert f"FAILED at seq {seq}: {kind}:" in result.output, result.output


def tamper(app: Flask, change: Callable[[Connection], None]) -> None:
    """Run ``change`` as an attacker who first removes the append-only triggers."""
    with app.app_context(), get_engine().begin() as connection:
        if connection.dialect.name == "postgresql":
            for table in APPEND_ONLY:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            names = connection.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
            for name in names:
                connection.execute(text(f"DROP TRIGGER {name}"))
        change(connection)


def body(connection: Connection, seq: int) -> bytes:
    value: bytes = connection.execute(text("SELECT body FROM entries WHERE seq = :s"),
                                      {"s": seq}).scalar_one()
    return value


def test_intact_ledger_verifies(built: tuple[Flask, Producer]) -> None:
    app, _ = built
    result = run_verify(app)
    assert result.exit_code == 0, result.output
    assert "OK: 20 entries" in result.output


def test_changed_payload_byte(built: tuple[Flask, Producer]) -> None:
    app, _ = built

    def change(connection: Connection) -> None:
        changed = body(connection, 12).replace(b'"L2"', b'"L3"')
        connection.execute(text("UPDATE entries SET body = :b WHERE seq = 12"), {"b": changed})

    tamper(app, change)
    assert_fails_at(app, 12, "content hash")


def test_changed_stored_leaf_hash(built: tuple[Flask, Producer]) -> None:
    app, _ = built
    tamper(app, lambda c: c.execute(text(
        "UPDATE entries SET leaf_hash = :h WHERE seq = 9"), {"h": bytes(32)}))
    assert_fails_at(app, 9, "content hash")


def test_broken_link(built: tuple[Flask, Producer]) -> None:
    """The entry's content and stored hash agree, but it no longer points at its predecessor."""
    app, _ = built

    def change(connection: Connection) -> None:
        entry = json.loads(body(connection, 13))
        entry["prev"] = "00" * 32
        relinked = canonical_bytes(entry)
        connection.execute(text("UPDATE entries SET body = :b, leaf_hash = :h WHERE seq = 13"),
                           {"b": relinked, "h": merkle.leaf_hash(relinked)})

    tamper(app, change)
    assert_fails_at(app, 13, "link")


def test_changed_tree_node(built: tuple[Flask, Producer]) -> None:
    app, _ = built
    tamper(app, lambda c: c.execute(text(
        "UPDATE merkle_nodes SET hash = :h WHERE node_id = :n"),
        {"h": bytes(32), "n": node_id(2, 2)}))
    assert_fails_at(app, 8, "tree")


def test_deleted_row(built: tuple[Flask, Producer]) -> None:
    app, _ = built
    tamper(app, lambda c: c.execute(text("DELETE FROM entries WHERE seq = 6")))
    assert_fails_at(app, 6, "missing entry")


def test_swapped_rows(built: tuple[Flask, Producer]) -> None:
    app, _ = built

    def change(connection: Connection) -> None:
        rows = {seq: connection.execute(text(
            "SELECT leaf_hash, body FROM entries WHERE seq = :s"), {"s": seq}).one()
            for seq in (5, 11)}
        for seq, other in ((5, 11), (11, 5)):
            connection.execute(text("UPDATE entries SET leaf_hash = :h, body = :b WHERE seq = :s"),
                               {"h": bytes([seq]) * 32, "b": rows[other].body, "s": seq})
        for seq, other in ((5, 11), (11, 5)):
            connection.execute(text("UPDATE entries SET leaf_hash = :h WHERE seq = :s"),
                               {"h": rows[other].leaf_hash, "s": seq})

    tamper(app, change)
    assert_fails_at(app, 5, "order")


def test_truncated_tail(built: tuple[Flask, Producer]) -> None:
    app, _ = built
    tamper(app, lambda c: c.execute(text("DELETE FROM entries WHERE seq >= 16")))
    assert_fails_at(app, 16, "missing entry")


def _rewind(connection: Connection, size: int, forget_checkpoints: bool) -> None:
    """Cut the log back to ``size`` as a careful attacker would: entries, nodes and head."""
    last = connection.execute(text("SELECT leaf_hash, recorded_at FROM entries WHERE seq = :s"),
                              {"s": size - 1}).one()
    connection.execute(text("DELETE FROM entries WHERE seq >= :s"), {"s": size})
    nodes = connection.execute(text("SELECT node_id FROM merkle_nodes")).scalars().all()
    for nid in nodes:
        level, index = nid >> 48, nid & ((1 << 48) - 1)
        if (index + 1) << level > size:
            connection.execute(text("DELETE FROM merkle_nodes WHERE node_id = :n"), {"n": nid})
    if forget_checkpoints:
        connection.execute(text("DELETE FROM checkpoints WHERE size > :s"), {"s": size})
    connection.execute(text("UPDATE ledger_head SET size = :s, last_leaf_hash = :h, "
                            "last_recorded_at = :r WHERE id = 1"),
                       {"s": size, "h": last.leaf_hash, "r": last.recorded_at})


def _re_extend(app: Flask, producer: Producer, count: int) -> None:
    with app.app_context():
        session = get_session()
        rebuild(session)  # the attacker recomputes the projections too
        append(session, get_ledger(),
                   [producer.signed(lot=f"FORGED{i}") for i in range(count)])
        session.commit()


def test_truncated_and_re_extended(built: tuple[Flask, Producer]) -> None:
    app, producer = built
    tamper(app, lambda c: _rewind(c, 15, forget_checkpoints=False))
    _re_extend(app, producer, 7)
    assert_fails_at(app, 15, "checkpoint")


def test_saved_checkpoint_proves_a_rewrite(built: tuple[Flask, Producer], tmp_path: Path) -> None:
    app, producer = built
    saved = tmp_path / "checkpoint-20.note"
    assert run_cli(app, "checkpoint", "--out", str(saved)).exit_code == 0
    # The attacker also destroys the stored checkpoints, so only the auditor's copy is left.
    tamper(app, lambda c: _rewind(c, 15, forget_checkpoints=True))
    _re_extend(app, producer, 7)
    result = run_cli(app, "consistency", str(saved))
    assert result.exit_code == 1
    assert "INCONSISTENT: tree 20 -> 22" in result.output
    assert_fails_at(app, 15, "checkpoint", "--checkpoint", str(saved))


def _append_bypassing_identity(app: Flask, signed: SignedStatement,
                               monkeypatch: pytest.MonkeyPatch) -> int:
    """An attacker writing an entry straight into the tables, skipping the key ring's checks."""
    with app.app_context(), monkeypatch.context() as patch:
        patch.setattr(KeyRing, "admit", lambda self, entry, **_: None)
        patch.setattr(sequencer, "_check_signatures", lambda session, batch: [None] * len(batch))
        session: Session = get_session()
        ledger: Ledger = get_ledger()
        tamper(app, lambda c: None)  # the attacker also drops the triggers
        (appended,) = append(session, ledger, [signed])
        session.commit()
        return appended.entry.seq


def test_forged_signature(built: tuple[Flask, Producer], monkeypatch: pytest.MonkeyPatch) -> None:
    app, producer = built
    good = producer.signed(lot="FORGED")
    seq = _append_bypassing_identity(app, SignedStatement(good.statement, bytes(64)), monkeypatch)
    assert_fails_at(app, seq, "signature")


def test_signed_with_revoked_key(built: tuple[Flask, Producer],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    app, producer = built
    with app.app_context():
        session = get_session()
        append(session, get_ledger(), [producer.signed(KEY_REVOKED, key_id=producer.key_id,
                                                           reason="stolen")])
        session.commit()
    seq = _append_bypassing_identity(app, producer.signed(lot="AFTER-REVOCATION"), monkeypatch)
    result = run_verify(app)
    assert result.exit_code == 1
    assert f"FAILED at seq {seq}: identity: key {producer.key_id} was revoked at seq 20" \
        in result.output
