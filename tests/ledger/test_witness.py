"""The C2SP tlog-witness protocol and tlog-cosignature signatures (ledger.log.witness,
ledger.log.cosignature), on a real ledger, with the witness's state in SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from ledger import log
from ledger.db import Base, create_ledger_engine
from ledger.errors import CheckpointError, WitnessError
from ledger.log.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from ledger.log.cosignature import (
    CosignerKey,
    cosign,
    find_cosignatures,
    open_cosigned_checkpoint,
    parse_cosigner_key,
)
from ledger.log.keys import generate_private_key
from ledger.log.witness import (
    AddCheckpoint,
    Held,
    LogKey,
    SqlWitnessStore,
    Witness,
    encode_add_checkpoint,
    parse_add_checkpoint,
    parse_log_keys,
)
from tests.ledger.conftest import Producer, append

NOW = 1_795_000_000
WITNESS_NAME = "witness.test/w1"


def _every_append(ledger: log.Ledger) -> log.Ledger:
    """The ledger signing a checkpoint at every append (a cadence interval of 0), so that the
    latest checkpoint is at the head."""
    names = {field.name for field in dataclasses.fields(ledger)}
    if "checkpoint_interval" in names:
        return dataclasses.replace(ledger, checkpoint_interval=0)  # type: ignore[call-arg]
    return ledger


class Witnessing:
    """A witness for the test ledger, and the ledger's checkpoints and proofs to send it."""

    def __init__(self, session: Session, ledger: log.Ledger, database_url: str) -> None:
        self.session, self.ledger = session, _every_append(ledger)
        self.key = generate_private_key()
        self.engine = create_ledger_engine(database_url)
        self.store = SqlWitnessStore(self.engine, clock=lambda: NOW)
        self.witness = Witness(WITNESS_NAME, self.key, [
            LogKey(ledger.origin, ledger.origin, ledger.signing_key.public_key())],
            self.store, clock=lambda: NOW)

    def note(self) -> str:
        note = log.latest_checkpoint(self.session, self.ledger)
        self.session.commit()
        return note

    def request(self, old: int, note: str | None = None) -> bytes:
        note = note or self.note()
        size = int(note.split("\n")[1])
        proof = log.consistency_proof(self.session, old, size).hashes if 0 < old < size else []
        return encode_add_checkpoint(old, proof, note)

    def submit(self, old: int, note: str | None = None) -> str:
        return self.witness.add_checkpoint(self.request(old, note))

    def held_size(self) -> int:
        held = self.store.held(self.ledger.origin)
        return 0 if held is None else held.size


@pytest.fixture
def witnessing(session: Session, ledger: log.Ledger, database_url: str,
               producer: Producer) -> Iterator[Witnessing]:
    w = Witnessing(session, ledger, database_url)
    yield w
    w.engine.dispose()


def grow(w: Witnessing, producer: Producer, count: int) -> int:
    append(w.session, w.ledger, [producer.signed(lot=f"W{i}") for i in range(count)])
    w.session.commit()
    return log.ledger_size(w.session)


def refusal(w: Witnessing, body: bytes) -> WitnessError:
    with pytest.raises(WitnessError) as caught:
        w.witness.add_checkpoint(body)
    return caught.value


# ---- cosignatures --------------------------------------------------------------------------

def test_cosignature_wire_format_from_the_spec() -> None:
    """key ID = SHA-256(name || "\\n" || 0x04 || key)[:4]; blob = key ID || u64 time || sig;
    Ed25519 over "cosignature/v1\\ntime <t>\\n" || note text."""
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes_raw()
    text = "example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    line = cosign(text, name="witness.example.com/w1", private_key=key, timestamp=1679315147)
    name, encoded = line.removeprefix("— ").removesuffix("\n").split(" ")
    blob = base64.b64decode(encoded)
    assert name == "witness.example.com/w1" and len(blob) == 76
    assert blob[:4] == hashlib.sha256(b"witness.example.com/w1\n\x04" + raw).digest()[:4]
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    key.public_key().verify(blob[12:], b"cosignature/v1\ntime 1679315147\n" + text.encode())
    vkey = CosignerKey.of("witness.example.com/w1", key).vkey
    assert vkey.split("+")[1] == blob[:4].hex()
    assert parse_cosigner_key(vkey) == CosignerKey("witness.example.com/w1", raw)


def test_cosigner_keys_are_checked() -> None:
    vkey = CosignerKey.of("w.test/a", Ed25519PrivateKey.generate()).vkey
    name, key_id, material = vkey.split("+", 2)
    with pytest.raises(CheckpointError, match="expected key ID"):
        parse_cosigner_key(f"w.test/b+{key_id}+{material}")
    note_vkey = verifier_key("w.test/a", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CheckpointError, match=r"type 0x04\), got type 0x01"):
        parse_cosigner_key(note_vkey)
    with pytest.raises(CheckpointError, match="expected <name>"):
        parse_cosigner_key("nothing")


def _signed(origin: str = "log.test/a", size: int = 5) -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint(origin, size, bytes(range(32))), key_name=origin,
                           private_key=key)
    return note, key


def test_k_of_n() -> None:
    note, log_key = _signed()
    text = note.rpartition("\n\n")[0] + "\n"
    witnesses = [Ed25519PrivateKey.generate() for _ in range(3)]
    keys = [CosignerKey.of(f"w.test/{i}", k) for i, k in enumerate(witnesses)]
    cosigned = note + "".join(cosign(text, name=f"w.test/{i}", private_key=k, timestamp=NOW)
                              for i, k in enumerate(witnesses[:2]))
    opened = open_cosigned_checkpoint(cosigned, key_name="log.test/a",
                                      public_key=log_key.public_key(), witnesses=keys,
                                      min_cosignatures=2)
    assert [c.witness for c in opened.cosignatures] == keys[:2]
    assert opened.cosignatures[0].timestamp == NOW
    with pytest.raises(CheckpointError, match=r"has 2 of the 3 witness cosignatures required "
                                              r"\(missing: w.test/2\+"):
        open_cosigned_checkpoint(cosigned, key_name="log.test/a",
                                 public_key=log_key.public_key(), witnesses=keys,
                                 min_cosignatures=3)
    with pytest.raises(CheckpointError, match="only 3 witnesses are trusted"):
        open_cosigned_checkpoint(cosigned, key_name="log.test/a",
                                 public_key=log_key.public_key(), witnesses=keys,
                                 min_cosignatures=4)
    # A cosignature of another checkpoint moved onto this one does not count; it is refused.
    other, _ = _signed(size=6)
    moved = other + cosigned.rpartition("\n\n")[2].split("\n", 1)[1]
    with pytest.raises(CheckpointError):
        open_cosigned_checkpoint(moved, key_name="log.test/a", public_key=log_key.public_key(),
                                 witnesses=keys, min_cosignatures=1)
    # Lines by keys nobody trusts are ignored.
    assert find_cosignatures(cosigned, []) == []



def test_one_key_is_one_witness_whatever_its_names() -> None:
    """The cosigned message does not name the witness: one key listed twice, or under a
    second name (its line relabelled), must not count as two of k."""
    note, log_key = _signed()
    text = note.rpartition("\n\n")[0] + "\n"
    witness = Ed25519PrivateKey.generate()
    line = cosign(text, name="w.test/0", private_key=witness, timestamp=NOW)
    relabelled = cosign(text, name="alias.test/0", private_key=witness, timestamp=NOW)
    twice = [CosignerKey.of("w.test/0", witness), CosignerKey.of("alias.test/0", witness)]
    for keys in (twice, [twice[0], twice[0]]):
        with pytest.raises(CheckpointError, match="only 1 witnesses are trusted"):
            open_cosigned_checkpoint(note + line + relabelled, key_name="log.test/a",
                                     public_key=log_key.public_key(), witnesses=keys,
                                     min_cosignatures=2)
        opened = open_cosigned_checkpoint(note + line + relabelled, key_name="log.test/a",
                                          public_key=log_key.public_key(), witnesses=keys,
                                          min_cosignatures=1)
        assert [c.witness for c in opened.cosignatures] == [keys[0]]
    other = Ed25519PrivateKey.generate()
    keys = [*twice, CosignerKey.of("w.test/1", other)]
    with pytest.raises(CheckpointError, match=r"has 1 of the 2 .*\(missing: w.test/1\+"):
        open_cosigned_checkpoint(note + line + relabelled, key_name="log.test/a",
                                 public_key=log_key.public_key(), witnesses=keys,
                                 min_cosignatures=2)


# ---- the request body ----------------------------------------------------------------------

@given(old=st.integers(0, 2**63), proof=st.lists(st.binary(min_size=32, max_size=32),
                                                   max_size=63))
def test_request_bodies_round_trip(old: int, proof: list[bytes]) -> None:
    note = b"log.test/a\n5\nAAAA\n\n\xe2\x80\x94 log.test/a AAAA\n"
    body = encode_add_checkpoint(old, proof, note)
    assert parse_add_checkpoint(body) == AddCheckpoint(old, tuple(proof), note)


@given(st.binary(max_size=300))
def test_any_request_body_parses_or_is_a_400(body: bytes) -> None:
    try:
        parsed = parse_add_checkpoint(body)
    except WitnessError as exc:
        assert exc.status == 400
        return
    assert encode_add_checkpoint(parsed.old_size, parsed.proof, parsed.note) == body


@given(st.text(max_size=300))
def test_any_note_yields_cosignatures_or_a_checkpoint_error(note: str) -> None:
    key = CosignerKey("w.test/a", bytes(32))
    try:
        assert find_cosignatures(note, [key]) == []
    except CheckpointError:
        pass


def test_the_spec_example_request_parses() -> None:
    body = ("old 20852014\n"
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
            "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
            "\n"
            "example.com/behind-the-sofa\n20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
            "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeO"
            "oRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n").encode()
    parsed = parse_add_checkpoint(body)
    assert parsed.old_size == 20852014 and len(parsed.proof) == 2
    assert parsed.note.startswith(b"example.com/behind-the-sofa\n20852163\n")


@pytest.mark.parametrize(("body", "message"), [
    (b"", "expected an 'old <size>' line"),
    (b"old 01\n\nx", "expected an 'old <size>' line"),
    (b"old -1\n\nx", "expected an 'old <size>' line"),
    (b"new 1\n\nx", "expected an 'old <size>' line"),
    (b"old 1", "expected an 'old <size>' line"),
    (b"old 1\nAAAA\n\nx", "proof line 1 is not one canonical base64 SHA-256 hash"),
    (b"old 1\n!!!\n\nx", "proof line 1 is not base64"),
    (b"old 1\n" + b"A" * 43 + b"=\n", "expected a blank line before the checkpoint"),
    (b"old 1\n\n", "expected a checkpoint after the blank line"),
    (b"old 1\n" + (base64.b64encode(bytes(32)) + b"\n") * 64 + b"\nx",
     "more than 63 consistency proof lines"),
])
def test_malformed_requests(body: bytes, message: str) -> None:
    with pytest.raises(WitnessError, match=message) as caught:
        parse_add_checkpoint(body)
    assert caught.value.status == 400


def test_log_keys_configuration() -> None:
    key = Ed25519PrivateKey.generate()
    vkey = verifier_key("log.test/a", key.public_key())
    assert [(k.origin, k.key_name) for k in parse_log_keys(f"{vkey}; other.test {vkey}\n")] == [
        ("log.test/a", "log.test/a"), ("other.test", "log.test/a")]
    with pytest.raises(CheckpointError):
        parse_log_keys("log.test/a+00000000+AAAA")


# ---- the witness -----------------------------------------------------------------------------

def test_happy_path(witnessing: Witnessing, producer: Producer) -> None:
    w = witnessing
    first = w.note()
    size = int(first.split("\n")[1])
    line = w.submit(0, first)
    [cosignature] = find_cosignatures(first + line, [w.witness.key])
    assert cosignature.timestamp == NOW
    assert w.held_size() == size
    # Growing: the proof from the held size is checked, then the new tree is cosigned.
    bigger = grow(w, producer, 5)
    second = w.note()
    line = w.submit(size, second)
    assert find_cosignatures(second + line, [w.witness.key])
    assert w.held_size() == bigger
    # The same checkpoint again: cosigned again, nothing changes.
    assert w.submit(bigger, second).startswith(f"— {WITNESS_NAME} ")
    assert w.store.evidence() == []


def test_old_size_mismatch_is_409_with_the_held_size(witnessing: Witnessing,
                                                     producer: Producer) -> None:
    w = witnessing
    size = log.ledger_size(w.session)
    w.submit(0)
    grow(w, producer, 3)
    for old in (0, size - 1):
        error = refusal(w, w.request(old))
        assert (error.status, error.known_size) == (409, size)
    # The client retries from what it was told, and succeeds.
    w.submit(size)


def test_bad_proof_is_422_and_leaves_evidence(witnessing: Witnessing,
                                              producer: Producer) -> None:
    w = witnessing
    size = log.ledger_size(w.session)
    w.submit(0)
    grow(w, producer, 4)
    body = w.request(size)
    proof_line = body.split(b"\n")[1]
    flipped = base64.b64encode(bytes([base64.b64decode(proof_line)[0] ^ 1])
                               + base64.b64decode(proof_line)[1:])
    error = refusal(w, body.replace(proof_line, flipped))
    assert error.status == 422
    assert "is not proved consistent with the cosigned one" in error.message
    assert error.evidence is not None and "-- the checkpoint this witness cosigned --" in \
        error.evidence
    assert w.held_size() == size  # nothing cosigned, nothing changed
    [evidence] = w.store.evidence(w.ledger.origin)
    assert evidence.kind == "inconsistent"
    assert evidence.submitted.startswith(f"old {size}\n")
    # A proof of the wrong length, or missing, is refused the same way.
    missing = encode_add_checkpoint(size, [], w.note())
    assert refusal(w, missing).status == 422


def test_unknown_log_is_404_and_unknown_key_is_403(witnessing: Witnessing) -> None:
    w = witnessing
    note, _ = _signed(origin="elsewhere.test/log")
    assert refusal(w, encode_add_checkpoint(0, [], note)).status == 404
    # Our origin, signed by a key the witness does not trust for it.
    impostor, _ = _signed(origin=w.ledger.origin)
    error = refusal(w, encode_add_checkpoint(0, [], impostor))
    assert error.status == 403
    assert "no valid signature by a key trusted" in error.message
    # A trusted signature line that does not verify.
    good = w.note()
    text, _, sig = good.rpartition("\n\n")
    name, blob = sig.removeprefix("— ").split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    forged = f"{text}\n\n— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    assert refusal(w, encode_add_checkpoint(0, [], forged)).status == 403
    assert w.held_size() == 0


def test_other_bad_requests_are_400(witnessing: Witnessing) -> None:
    w = witnessing
    note = w.note()
    size = int(note.split("\n")[1])
    assert refusal(w, encode_add_checkpoint(size + 1, [], note)).status == 400
    assert refusal(w, encode_add_checkpoint(0, [bytes(32)], note)).status == 400
    assert refusal(w, encode_add_checkpoint(0, [], "not a note")).status == 400


def test_a_fork_of_the_same_size_is_refused_with_evidence(witnessing: Witnessing) -> None:
    w = witnessing
    note = w.note()
    size = int(note.split("\n")[1])
    w.submit(0, note)
    fork = w.ledger.sign(Checkpoint(w.ledger.origin, size, hashlib.sha256(b"fork").digest()))
    error = refusal(w, encode_add_checkpoint(size, [], fork))
    assert (error.status, error.known_size) == (409, size)
    assert "fork" in error.message
    [evidence] = w.store.evidence()
    assert evidence.kind == "same size, another root"
    assert evidence.held_note == note and fork in evidence.submitted


def test_compare_and_swap_never_rolls_back(witnessing: Witnessing, producer: Producer) -> None:
    """Two requests checked against the same held state: only the first one's write lands."""
    w = witnessing
    w.submit(0)
    held = w.store.held(w.ledger.origin)
    assert held is not None
    grow(w, producer, 2)
    newer = Held(held.size + 2, bytes(32), "x")
    assert w.store.replace(w.ledger.origin, held, newer)
    assert not w.store.replace(w.ledger.origin, held, Held(held.size + 1, bytes(32), "y"))
    assert w.store.replace("new.test/log", None, newer)  # the first insert lands
    assert not w.store.replace("new.test/log", None, newer)  # the second loses
    current = w.store.held(w.ledger.origin)
    assert current is not None and current.size == held.size + 2


def test_the_cosignatures_migration_matches_the_model(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        differences = compare_metadata(MigrationContext.configure(session.connection()),
                                       Base.metadata)
    assert [d for d in differences if "checkpoint_cosignatures" in repr(d)] == []
