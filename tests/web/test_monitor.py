"""``tracenet monitor``: following a log through its checkpoint and tiles, and catching an
insider who rewrites history with the operator key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from ledger import log
from ledger.errors import VerificationError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint
from ledger.log.cosignature import parse_cosigner_key
from ledger.log.entry import Entry, Statement
from ledger.log.monitor import Monitor, MonitorError, MonitorState
from ledger.log.sequencer import NO_ADMISSION
from ledger.log.storage import node_id
from ledger.log.tiles import decode_bundle
from tests.conftest import make_app, run_cli
from tests.ledger.conftest import Producer, append, enrol
from tests.ledger.test_tamper import tamper
from tests.processes import tracenet_env
from tests.web.conftest import served
from web.cli import main
from web.db import get_ledger, get_session


@pytest.fixture(autouse=True)
def _checkpoint_every_append(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests compare checkpoints with the head: sign one at every append, in this
    process and in the servers and commands it starts (the cadence's interval of 0)."""
    monkeypatch.setenv("TRACENET_CHECKPOINT_INTERVAL", "0")


def grow(app: Flask, producer: Producer | None, count: int, batch: int = 100) -> Producer:
    with app.app_context():
        session, ledger = get_session(), get_ledger()
        producer = producer or enrol(session, ledger, 5)
        for start in range(0, count, batch):
            append(session, ledger, [producer.signed(lot=f"M{start + i}")
                                     for i in range(min(batch, count - start))])
            session.commit()
        log.latest_checkpoint(session, ledger)
        session.commit()
    return producer


def size_of(app: Flask) -> int:
    with app.app_context():
        return log.ledger_size(get_session())


def client_fetch(client: FlaskClient) -> Callable[[str], bytes]:
    def fetch(path: str) -> bytes:
        response = client.get("/" + path)
        if response.status_code != 200:
            raise MonitorError(f"GET /{path}: HTTP {response.status_code}",
                               status=response.status_code)
        return response.get_data()
    return fetch


def insider_rewrite(app: Flask, producer: Producer, seq: int) -> None:
    """What an insider with the operator key (and the database) can do: change entry ``seq``
    (re-signed by its enterprise's key, so every signature still holds), relink every later
    entry, recompute every tree node and re-sign every checkpoint with the operator key."""
    with app.app_context():
        ledger = get_ledger()

    def change(connection: Connection) -> None:
        bodies = connection.execute(text("SELECT body FROM entries ORDER BY seq")).scalars()
        entries = [Entry.from_canonical(body) for body in bodies]
        old = entries[seq].statement
        forged = Statement(old.type, old.enterprise, old.key_id, old.event_time,
                           {**old.payload, "quantity": "1"}).sign(producer.key)
        prev = entries[seq - 1].leaf_hash
        for entry in entries[seq:]:
            rewritten = Entry.create(seq=entry.seq, recorded_at=entry.recorded_at, prev=prev,
                                     signed=forged if entry.seq == seq else entry.signed)
            connection.execute(text("UPDATE entries SET body = :b, leaf_hash = :h "
                                    "WHERE seq = :s"),
                               {"b": rewritten.canonical, "h": rewritten.leaf_hash,
                                "s": entry.seq})
            entries[entry.seq] = rewritten
            prev = rewritten.leaf_hash
        sizes = set(connection.execute(text("SELECT size FROM checkpoints")).scalars())
        connection.execute(text("DELETE FROM merkle_nodes"))
        tree, roots, nodes = merkle.CompactRange(), {}, []
        for entry in entries:
            nodes += [{"n": node_id(*key), "h": digest}
                      for key, digest in tree.append(entry.leaf_hash) if key[0] > 0]
            roots[tree.size] = tree.root()
        connection.execute(text("INSERT INTO merkle_nodes (node_id, hash) VALUES (:n, :h)"),
                           nodes)
        for size in sizes:
            note = ledger.sign(Checkpoint(ledger.origin, size, roots[size]))
            connection.execute(text("UPDATE checkpoints SET root_hash = :r, note = :n "
                                    "WHERE size = :s"), {"r": roots[size], "n": note, "s": size})
        connection.execute(text("UPDATE ledger_head SET last_leaf_hash = :h"), {"h": prev})

    tamper(app, change)


def test_monitor_follows_then_catches_an_insider_rewrite(app: Flask, tmp_path: Path) -> None:
    producer = grow(app, None, 300)
    client = app.test_client()
    first = Monitor(client_fetch(client), None)
    report = first.check()
    size = size_of(app)
    assert (report.old_size, report.size, report.entries) == (0, size, size)
    assert first.state is not None
    first.state.save(tmp_path / "state.json")
    assert (tmp_path / "state.json.leaves").stat().st_size == 32 * size

    grow(app, producer, 30)
    state = MonitorState.load(tmp_path / "state.json")
    second = Monitor(client_fetch(client), state)
    report = second.check()
    assert (report.old_size, report.entries) == (size, 30)
    assert second.check().entries == 0  # nothing new
    assert second.state is not None
    second.state.save(tmp_path / "state.json")

    insider_rewrite(app, producer, 150)
    assert run_cli_verify_passes(app)  # the rewritten ledger verifies on its own...
    with pytest.raises(VerificationError) as caught:
        Monitor(client_fetch(client), MonitorState.load(tmp_path / "state.json")).check()
    assert (caught.value.seq, caught.value.kind) == (150, "rewritten")  # ...not to a monitor
    assert "entry 150 is the first that differs" in caught.value.detail
    # The state is left as it was: every later check alerts again.
    grow(app, producer, 3)
    with pytest.raises(VerificationError, match="seq 150: rewritten"):
        Monitor(client_fetch(client), MonitorState.load(tmp_path / "state.json")).check()


def run_cli_verify_passes(app: Flask) -> bool:
    result = run_cli(app, "verify")
    return result.exit_code == 0


def test_monitor_names_a_tampered_entry_and_a_truncation(sqlite_app: Flask,
                                                         tmp_path: Path) -> None:
    producer = grow(sqlite_app, None, 20)
    client = sqlite_app.test_client()
    watcher = Monitor(client_fetch(client), None)
    watcher.check()
    assert watcher.state is not None
    saved = watcher.state
    grow(sqlite_app, producer, 10)
    size = size_of(sqlite_app)

    def flip(connection: Connection) -> None:
        body = connection.execute(text("SELECT body FROM entries WHERE seq = :s"),
                                  {"s": size - 4}).scalar_one()
        connection.execute(text("UPDATE entries SET body = :b WHERE seq = :s"),
                           {"b": body.replace(b'"M', b'"X', 1), "s": size - 4})

    tamper(sqlite_app, flip)
    with pytest.raises(VerificationError) as caught:
        Monitor(client_fetch(client), saved).check()
    assert (caught.value.seq, caught.value.kind) == (size - 4, "content hash")

    # The log cut back below what was verified (the checkpoint re-signed at the smaller size).
    def truncate(connection: Connection) -> None:
        cut = saved.size - 5
        with sqlite_app.app_context():
            ledger = get_ledger()
        connection.execute(text("DELETE FROM entries WHERE seq >= :s"), {"s": cut})
        for nid in connection.execute(text("SELECT node_id FROM merkle_nodes")).scalars().all():
            level, index = nid >> 48, nid & ((1 << 48) - 1)
            if (index + 1) << level > cut:
                connection.execute(text("DELETE FROM merkle_nodes WHERE node_id = :n"),
                                   {"n": nid})
        connection.execute(text("DELETE FROM checkpoints"))
        leaves = connection.execute(text("SELECT leaf_hash FROM entries ORDER BY seq")
                                    ).scalars().all()
        root = merkle.root_from_leaf_hashes(leaves)
        connection.execute(text("INSERT INTO checkpoints (size, root_hash, note) "
                                "VALUES (:s, :r, :n)"),
                           {"s": cut, "r": root,
                            "n": ledger.sign(Checkpoint(ledger.origin, cut, root))})
        connection.execute(text("UPDATE ledger_head SET size = :s, last_leaf_hash = :h"),
                           {"s": cut, "h": leaves[-1]})

    tamper(sqlite_app, truncate)
    with pytest.raises(VerificationError) as caught:
        Monitor(client_fetch(client), saved).check()
    assert (caught.value.seq, caught.value.kind) == (saved.size - 5, "rewritten")
    assert "gone" in caught.value.detail


def test_monitor_pins_the_operator_key(sqlite_app: Flask, tmp_path: Path) -> None:
    grow(sqlite_app, None, 2)
    client = sqlite_app.test_client()
    watcher = Monitor(client_fetch(client), None)
    watcher.check()
    assert watcher.state is not None
    other = "tracenet.test/ledger+00000000+AQ" + "A" * 42 + "="
    with pytest.raises(VerificationError, match="is not the one pinned"):
        Monitor(client_fetch(client), watcher.state, vkey=other).check()


def test_tracenet_monitor_over_http(sqlite_url: str, tmp_path: Path) -> None:
    app = make_app(sqlite_url, tmp_path)
    try:
        producer = grow(app, None, 260)
        env = tracenet_env(sqlite_url, tmp_path)
        state = str(tmp_path / "mon.json")
        with served(env, tmp_path) as url:
            runner = CliRunner()
            first = runner.invoke(main, ["monitor", url, "--once", "--state", state])
            assert first.exit_code == 0, first.output
            assert "pinned the operator key tracenet.test/ledger+" in first.output
            grow(app, producer, 5)
            second = runner.invoke(main, ["monitor", url, "--once", "--state", state])
            assert second.exit_code == 0, second.output
            assert "verified 5 new entries" in second.output
            insider_rewrite(app, producer, 200)
            alert = runner.invoke(main, ["monitor", url, "--once", "--state", state])
            assert alert.exit_code == 1
            assert "ALERT at seq 200: rewritten:" in alert.output
            down = runner.invoke(main, ["monitor", "http://127.0.0.1:9", "--once", "--state",
                                        str(tmp_path / "other.json")])
            assert down.exit_code == 1 and "cannot check" in down.output
    finally:
        app.extensions["tracenet.runtime"].close()


def test_monitor_can_require_witness_cosignatures(sqlite_app: Flask, tmp_path: Path) -> None:
    from tests.web.test_witnesses import cosigner_for, witness_app
    from web.witness import get_witness

    grow(sqlite_app, None, 3)
    w1 = witness_app(sqlite_app, tmp_path, "witness.test/w1")
    client = sqlite_app.test_client()
    keys = [get_witness(w1).key]
    with pytest.raises(VerificationError, match=r"has 0 of the 1 witness cosignatures"):
        Monitor(client_fetch(client), None, witnesses=keys, min_cosignatures=1).check()
    cosigner_for(sqlite_app, [(w1, "http://w1.test")]).round()
    report = Monitor(client_fetch(client), None, witnesses=keys, min_cosignatures=1).check()
    assert report.cosignatures == 1


def test_entries_too_long_for_a_bundle(sqlite_app: Flask) -> None:
    """An entry over 65,535 bytes cannot be framed by a uint16: its bundle is a 404 naming
    it, the uint32 bundle serves it, and the monitor reads that one instead."""
    producer = grow(sqlite_app, None, 2)
    with sqlite_app.app_context():
        session, ledger = get_session(), get_ledger()
        big = producer.signed("opaque_note", text="x" * 70_000)
        log.append(session, ledger, [big, producer.signed("opaque_note", text="small")],
                   NO_ADMISSION)
        session.commit()
        log.latest_checkpoint(session, ledger)
        session.commit()
    size = size_of(sqlite_app)
    client = sqlite_app.test_client()
    refused = client.get(f"/tile/entries/000.p/{size}")
    assert refused.status_code == 404
    assert f"entry {size - 2} has" in refused.get_json()["error"]["message"]
    large = client.get(f"/tile/entries-u32/000.p/{size}")
    assert large.status_code == 200
    entries = decode_bundle(large.get_data(), prefix=4)
    assert len(entries) == size and len(entries[-2]) > 70_000
    assert [merkle.leaf_hash(e) for e in entries] == [
        client.get(f"/tile/0/000.p/{size}").get_data()[i * 32:(i + 1) * 32]
        for i in range(size)]
    report = Monitor(client_fetch(client), None).check()
    assert report.size == size


def test_an_insider_rewrite_against_an_earlier_cosigned_checkpoint(sqlite_app: Flask,
                                                                   tmp_path: Path) -> None:
    """The acceptance case end to end: a witness cosigned a checkpoint, someone saved it (and
    a monitor followed the log); an insider rewrites entry 40 and re-signs everything with the
    operator key. The monitor and `verify --since` the cosigned note both name seq 40, and the
    witness's cosignature no longer verifies on the re-signed checkpoint."""
    from tests.web.test_witnesses import cosigner_for, witness_app
    from web.witness import get_witness

    producer = grow(sqlite_app, None, 60)
    w1 = witness_app(sqlite_app, tmp_path, "witness.test/w1")
    assert [s.outcome for s in cosigner_for(sqlite_app, [(w1, "http://w1.test")]).round()] == [
        "cosigned"]
    saved = tmp_path / "cosigned.note"
    assert run_cli(sqlite_app, "checkpoint", "--out", str(saved)).exit_code == 0
    vkey = get_witness(w1).key.vkey
    assert run_cli(sqlite_app, "verify", "--checkpoint", str(saved), "--witness", vkey,
                   "--min-cosignatures", "1").exit_code == 0
    # The --since checkpoint is held to the k of n too (this one is cosigned, a bare copy not).
    assert run_cli(sqlite_app, "verify", "--since", str(saved), "--witness", vkey,
                   "--min-cosignatures", "1").exit_code == 0
    bare = tmp_path / "bare.note"
    bare.write_text(saved.read_text().partition("\n\n")[0] + "\n\n"
                    + saved.read_text().partition("\n\n")[2].split("\n")[0] + "\n")
    (tmp_path / "bare.note.leaves").write_bytes((tmp_path / "cosigned.note.leaves").read_bytes())
    refused = run_cli(sqlite_app, "verify", "--since", str(bare), "--witness", vkey,
                      "--min-cosignatures", "1")
    assert refused.exit_code == 1
    assert "has 0 of the 1 witness cosignatures required" in refused.output
    client = sqlite_app.test_client()
    watcher = Monitor(client_fetch(client), None)
    watcher.check()

    insider_rewrite(sqlite_app, producer, 40)
    grow(sqlite_app, producer, 2)
    with pytest.raises(VerificationError, match=r"seq 40: rewritten"):
        Monitor(client_fetch(client), watcher.state).check()
    # A monitor that requires the witness's cosignature sees it fail on the re-signed
    # checkpoint, and still names the entry that differs rather than the checkpoint.
    with pytest.raises(VerificationError, match=r"seq 40: rewritten"):
        Monitor(client_fetch(client), watcher.state, witnesses=[parse_cosigner_key(vkey)],
                min_cosignatures=1).check()
    since = run_cli(sqlite_app, "verify", "--since", str(saved))
    assert since.exit_code == 1
    assert "FAILED at seq 40: rewritten" in since.output
    # A client that also requires the cosignature sees them fail and still gets the seq.
    both = run_cli(sqlite_app, "verify", "--since", str(saved), "--witness", vkey,
                   "--min-cosignatures", "1")
    assert both.exit_code == 1
    assert "does not verify" in both.output
    assert "FAILED at seq 40: rewritten" in both.output
    cosigned = run_cli(sqlite_app, "verify", "--witness", vkey, "--min-cosignatures", "1")
    assert cosigned.exit_code == 1, cosigned.output
    assert "does not verify" in cosigned.output, cosigned.output
