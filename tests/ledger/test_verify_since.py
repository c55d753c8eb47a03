"""`tracenet verify --jobs` (signatures in a process pool) and `--since` (only what is new).

The ledger is the 20-entry one of test_tamper; the pool's batch size and the fast path's chunks
are cut to 4 entries so that 20 entries make several of them in flight across real worker
processes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Connection, text

from ledger import log
from ledger.log import merkle
from ledger.log.canonical import canonical_bytes
from ledger.log.checkpoint import Checkpoint
from ledger.log.entry import SignedStatement
from ledger.log.storage import node_id
from tests.conftest import run_cli
from tests.ledger.conftest import Producer, append
from tests.ledger.test_tamper import (
    _append_bypassing_identity,
    _re_extend,
    _rewind,
    body,
    built,  # noqa: F401 - the fixture
    tamper,
)
from web.db import get_ledger, get_session


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ledger.log.verify._CHUNK", 4)
    monkeypatch.setattr("ledger.log.sweep.CHUNK_LEVEL", 2)  # the fast path's chunks too
    monkeypatch.setattr("ledger.log.sweep.CHUNK", 4)


def verify_line(app: Flask, *args: str) -> str:
    """The outcome line of ``tracenet verify ARGS`` (OK: ..., FAILED at seq ..., FAILED in ...)."""
    result = run_cli(app, "verify", *args)
    found = re.search(r"^(OK: .*|FAILED (at seq|in) .*)$", result.output, re.MULTILINE)
    assert found, result.output
    assert result.exit_code == (0 if found.group(1).startswith("OK") else 1), result.output
    return found.group(1)


def grow(app: Flask, producer: Producer, count: int, prefix: str = "NEW") -> None:
    with app.app_context():
        session = get_session()
        append(session, get_ledger(), [producer.signed(lot=f"{prefix}{i}") for i in range(count)])
        session.commit()


def flip_byte(connection: Connection, seq: int) -> None:
    original = body(connection, seq)
    changed = original.replace(b'"kg"', b'"kh"')
    assert changed != original
    connection.execute(text("UPDATE entries SET body = :b WHERE seq = :s"),
                       {"b": changed, "s": seq})


def relink(connection: Connection, seq: int) -> None:
    entry = json.loads(body(connection, seq))
    entry["prev"] = "00" * 32
    relinked = canonical_bytes(entry)
    connection.execute(text("UPDATE entries SET body = :b, leaf_hash = :h WHERE seq = :s"),
                       {"b": relinked, "h": merkle.leaf_hash(relinked), "s": seq})


@pytest.mark.parametrize("change", ["flip", "relink"])
def test_two_jobs_name_the_same_first_bad_seq(built: tuple[Flask, Producer],  # noqa: F811
                                              change: str) -> None:
    app, _ = built
    tamper(app, lambda c: (flip_byte if change == "flip" else relink)(c, 13))
    one, two = verify_line(app, "--jobs", "1"), verify_line(app, "--jobs", "2")
    assert one == two
    assert one.startswith("FAILED at seq 13: ")


def test_two_jobs_find_a_forged_signature_before_a_later_break(
        built: tuple[Flask, Producer], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # The pool learns of the bad signature after the sequential pass has read on to the broken
    # link: the signature, earlier, is still the one named.
    app, producer = built
    good = producer.signed(lot="FORGED")
    forged = _append_bypassing_identity(app, SignedStatement(good.statement, bytes(64)),
                                        monkeypatch)
    grow(app, producer, 10)
    tamper(app, lambda c: relink(c, forged + 6))
    one, two = verify_line(app, "--jobs", "1"), verify_line(app, "--jobs", "2")
    assert one == two == f"FAILED at seq {forged}: signature: signature does not verify"


def test_two_jobs_verify_an_intact_ledger(built: tuple[Flask, Producer]) -> None:  # noqa: F811
    app, _ = built
    assert verify_line(app, "--jobs", "2") == verify_line(app, "--jobs", "1")
    assert verify_line(app, "--jobs", "2").startswith("OK: 20 entries")


@pytest.fixture
def saved(built: tuple[Flask, Producer], tmp_path: Path) -> Iterator[Path]:  # noqa: F811
    """The checkpoint at size 20, saved with its leaf hashes."""
    app, _ = built
    note = tmp_path / "checkpoint-20.note"
    assert run_cli(app, "checkpoint", "--out", str(note)).exit_code == 0
    assert len(Path(f"{note}.leaves").read_bytes()) == 20 * 32
    yield note


def test_since_verifies_only_the_new_entries(built: tuple[Flask, Producer],  # noqa: F811
                                             saved: Path) -> None:
    app, producer = built
    grow(app, producer, 7)
    result = run_cli(app, "verify", "--since", str(saved), "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "OK: 27 entries" in result.output
    assert re.search(r"consistent with the saved checkpoint at size 20; verified the 7 entries "
                     r"after it in [0-9.]+ s, \d+ µs per entry \(2 jobs; [0-9.]+ s of it the "
                     r"consistency proof and the key ring at the saved size\)", result.output)
    assert verify_line(app).startswith("OK: 27 entries, root ")
    # The same root as a full verify; only the checkpoints past the saved one are counted.
    assert verify_line(app, "--since", str(saved)).split(", ")[:2] == \
        verify_line(app).split(", ")[:2]


def test_since_with_nothing_new(built: tuple[Flask, Producer], saved: Path) -> None:  # noqa: F811
    app, _ = built
    result = run_cli(app, "verify", "--since", str(saved))
    assert result.exit_code == 0, result.output
    assert "verified the 0 entries after it" in result.output


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_since_finds_a_flipped_byte_in_the_new_entries(built: tuple[Flask, Producer],  # noqa: F811
                                                       saved: Path, jobs: str) -> None:
    app, producer = built
    grow(app, producer, 9)
    tamper(app, lambda c: flip_byte(c, 25))
    assert verify_line(app, "--since", str(saved), "--jobs", jobs).startswith(
        "FAILED at seq 25: content hash: ")


def test_since_finds_a_forged_signature_in_the_new_entries(
        built: tuple[Flask, Producer], saved: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    app, producer = built
    grow(app, producer, 3)
    good = producer.signed(lot="FORGED")
    forged = _append_bypassing_identity(app, SignedStatement(good.statement, bytes(64)),
                                        monkeypatch)
    grow(app, producer, 6)
    assert verify_line(app, "--since", str(saved), "--jobs", "2") == \
        f"FAILED at seq {forged}: signature: signature does not verify"


def test_since_names_the_first_rewritten_seq(built: tuple[Flask, Producer],  # noqa: F811
                                             saved: Path) -> None:
    # An insider with the operator key rewrites history from seq 12: entries, chain, tree and
    # checkpoints recomputed and re-signed, so only the saved checkpoint tells.
    app, producer = built
    tamper(app, lambda c: _rewind(c, 12, forget_checkpoints=True))
    _re_extend(app, producer, 10)
    assert verify_line(app).startswith("OK: 22 entries")  # the rewritten log is self-consistent
    line = verify_line(app, "--since", str(saved))
    assert line.startswith("FAILED at seq 12: rewritten: history was rewritten: the saved "
                           "checkpoint at size 20 is not consistent with the current tree"), line
    assert "entry 12 is the first that differs" in line


def test_since_takes_the_leaves_from_elsewhere(built: tuple[Flask, Producer],  # noqa: F811
                                               saved: Path, tmp_path: Path) -> None:
    # A note saved elsewhere (a witness's cosigned copy, say) with the leaves of its size.
    app, producer = built
    other = tmp_path / "elsewhere.note"
    other.write_text(saved.read_text())
    tamper(app, lambda c: _rewind(c, 12, forget_checkpoints=True))
    _re_extend(app, producer, 10)
    assert verify_line(app, "--since", str(other)).startswith("FAILED at seq 0: rewritten: ")
    assert verify_line(app, "--since", str(other), "--leaves", f"{saved}.leaves").startswith(
        "FAILED at seq 12: rewritten: ")


def test_since_without_the_leaves_still_reports_a_rewrite(built: tuple[Flask, Producer],  # noqa: F811
                                                          saved: Path) -> None:
    app, producer = built
    Path(f"{saved}.leaves").unlink()
    tamper(app, lambda c: _rewind(c, 12, forget_checkpoints=True))
    _re_extend(app, producer, 10)
    line = verify_line(app, "--since", str(saved))
    assert line.startswith("FAILED at seq 0: rewritten: history was rewritten"), line
    assert "an entry among 0..19 differs" in line
    assert "the first cannot be named" in line


def test_since_without_the_leaves_is_narrowed_by_other_saved_checkpoints(
        built: tuple[Flask, Producer], saved: Path, tmp_path: Path) -> None:  # noqa: F811
    app, producer = built
    Path(f"{saved}.leaves").unlink()
    with app.app_context():  # an auditor saved the checkpoints at sizes 10 and 15 too
        ledger, session = get_ledger(), get_session()
        notes = {size: ledger.sign(Checkpoint(ledger.origin, size, log.tree_root(session, size)))
                 for size in (10, 15)}
    others = []
    for size, note in notes.items():
        others += ["--checkpoint", str(tmp_path / f"{size}.note")]
        (tmp_path / f"{size}.note").write_text(note)
    tamper(app, lambda c: _rewind(c, 12, forget_checkpoints=True))
    _re_extend(app, producer, 10)
    line = verify_line(app, "--since", str(saved), *others)
    assert line.startswith("FAILED at seq 10: rewritten: "), line
    assert "an entry among 10..14 differs" in line


def test_since_reports_a_truncation(built: tuple[Flask, Producer], saved: Path) -> None:  # noqa: F811
    app, _ = built
    tamper(app, lambda c: _rewind(c, 16, forget_checkpoints=True))
    line = verify_line(app, "--since", str(saved))
    assert line.startswith("FAILED at seq 16: rewritten: "), line
    assert "the ledger holds 16 entries, fewer than the saved 20" in line


def test_since_refuses_a_note_not_signed_by_the_operator(
        built: tuple[Flask, Producer], saved: Path) -> None:  # noqa: F811
    app, _ = built
    forged = saved.read_text().replace("\n20\n", "\n19\n")
    saved.write_text(forged)
    assert verify_line(app, "--since", str(saved)).startswith(
        "FAILED in a checkpoint: checkpoint: the saved checkpoint: signature by ")


@pytest.mark.parametrize("level", [1, 40])
def test_since_finds_tree_nodes_past_the_head(built: tuple[Flask, Producer],  # noqa: F811
                                              saved: Path, level: int) -> None:
    app, producer = built
    grow(app, producer, 3)
    tamper(app, lambda c: c.execute(text(
        "INSERT INTO merkle_nodes (node_id, hash) VALUES (:n, :h)"),
        {"n": node_id(level, 1000 >> level), "h": bytes(32)}))
    assert verify_line(app, "--since", str(saved)).startswith(
        "FAILED at seq 23: missing entry: a stored tree node")
