"""ledger.log.evidence: a third party's check of published evidence, and every way it fails."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ledger import log
from ledger.consumer.evidence import checkpoint_time
from ledger.errors import CheckpointError, ProofError
from ledger.log.checkpoint import verifier_key
from ledger.log.evidence import verify_evidence
from ledger.log.keys import generate_private_key
from tests.ledger.conftest import Producer, append


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def build_evidence(session: Session, ledger: log.Ledger, public: list[int],
                   private: list[int]) -> dict[str, Any]:
    """Evidence as the server publishes it: checkpoint, key, proofs, public entries' bytes."""
    note = log.latest_checkpoint(session, ledger)
    size = log.ledger_size(session)
    entries: list[dict[str, Any]] = []
    for seq in sorted(public + private):
        proof = log.inclusion_proof(session, seq, size)
        entries.append({"seq": seq, "leaf_hash": b64(proof.leaf_hash),
                        "entry": b64(log.get_entry(session, seq).canonical)
                        if seq in public else None,
                        "proof": [b64(h) for h in proof.hashes]})
    return {"checkpoint": note,
            "checkpoint_time": checkpoint_time(session, ledger, size),
            "operator_key": {"verifier_key": verifier_key(ledger.origin,
                                                          ledger.signing_key.public_key())},
            "entries": entries}


@pytest.fixture
def published(session: Session, ledger: log.Ledger,
              producer: Producer) -> tuple[dict[str, Any], str]:
    # Checkpoint every append (no cadence), so the latest checkpoint is at the ledger's size.
    ledger = dataclasses.replace(ledger, checkpoint_interval=0)
    appended = append(session, ledger, [producer.signed(lot=f"RM00{i}") for i in range(5)])
    session.commit()
    seqs = [a.entry.seq for a in appended]
    key = verifier_key(ledger.origin, ledger.signing_key.public_key())
    return build_evidence(session, ledger, seqs[::2], [*seqs[1::2], 1]), key


def test_published_evidence_verifies(published: tuple[dict[str, Any], str]) -> None:
    evidence, key = published
    report = verify_evidence(evidence, verifier_key=key)
    assert [e.seq for e in report.entries] == [e["seq"] for e in evidence["entries"]]
    assert sum(e.body is not None for e in report.entries) == 3
    assert report.entries[-1].body is not None
    assert report.entries[-1].body["payload"]["lot"] == "RM004"


def test_the_checkpoint_time_is_checked(published: tuple[dict[str, Any], str]) -> None:
    evidence, key = published
    report = verify_evidence(evidence, verifier_key=key)
    assert report.time is not None and report.time.endswith("Z")
    late = copy.deepcopy(evidence)
    late["checkpoint_time"]["timestamp"]["integrated_time"] = "2099-01-01T00:00:00Z"
    with pytest.raises(ProofError, match="signature does not verify"):
        verify_evidence(late, verifier_key=key)
    other = copy.deepcopy(evidence)
    other["checkpoint_time"]["proof"][0] = other["entries"][0]["proof"][0]
    with pytest.raises(ProofError, match="root"):
        verify_evidence(other, verifier_key=key)
    del evidence["checkpoint_time"]
    assert verify_evidence(evidence, verifier_key=key).time is None


def test_another_pinned_key_fails(published: tuple[dict[str, Any], str],
                                  ledger: log.Ledger) -> None:
    evidence, _ = published
    other = verifier_key(ledger.origin, generate_private_key().public_key())
    with pytest.raises(ProofError, match="pinned operator key"):
        verify_evidence(evidence, verifier_key=other)
    evidence["operator_key"] = {"verifier_key": other}
    with pytest.raises(CheckpointError, match="expected a signature by"):
        verify_evidence(evidence, verifier_key=other)


def test_a_tampered_checkpoint_fails(published: tuple[dict[str, Any], str]) -> None:
    evidence, key = published
    origin, size, *rest = evidence["checkpoint"].split("\n")
    evidence["checkpoint"] = "\n".join([origin, str(int(size) + 1), *rest])
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_evidence(evidence, verifier_key=key)


def test_tampered_entry_bytes_fail(published: tuple[dict[str, Any], str]) -> None:
    evidence, key = published
    item = next(e for e in evidence["entries"] if e["entry"])
    body = json.loads(base64.b64decode(item["entry"]))
    body["payload"]["lot"] = "FAKE"
    item["entry"] = b64(json.dumps(body).encode())
    with pytest.raises(ProofError, match="leaf hash"):
        verify_evidence(evidence, verifier_key=key)
    del item["leaf_hash"]
    with pytest.raises(ProofError, match="root: expected"):
        verify_evidence(evidence, verifier_key=key)


def test_another_entrys_bytes_fail(published: tuple[dict[str, Any], str]) -> None:
    evidence, key = published
    public = [e for e in evidence["entries"] if e["entry"]]
    public[0]["entry"] = public[1]["entry"]
    with pytest.raises(ProofError, match="another entry's"):
        verify_evidence(evidence, verifier_key=key)


# The fixture is only read: each example deep-copies the evidence it mangles.
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flipped_bit_of_a_proof_or_leaf_fails(
        published: tuple[dict[str, Any], str], data: st.DataObject) -> None:
    original, key = published
    evidence = copy.deepcopy(original)
    item = data.draw(st.sampled_from(evidence["entries"]))
    targets = [("proof", i) for i in range(len(item["proof"]))]
    if item["entry"] is None:
        targets.append(("leaf_hash", None))
    where, index = data.draw(st.sampled_from(targets))
    bit = data.draw(st.integers(0, 255))
    raw = bytearray(base64.b64decode(item[where][index] if index is not None else item[where]))
    raw[bit // 8] ^= 1 << (bit % 8)
    if index is None:
        item[where] = b64(bytes(raw))
    else:
        item[where][index] = b64(bytes(raw))
    with pytest.raises(ProofError):
        verify_evidence(evidence, verifier_key=key)


@pytest.mark.parametrize("mangle", [
    lambda e: e.update(entries=[]),
    lambda e: e.update(entries="x"),
    lambda e: e.update(checkpoint=None),
    lambda e: e["entries"][0].update(seq="1"),
    lambda e: e["entries"][0].update(proof="abc"),
    lambda e: e["entries"][0].update(proof=["not base64!"]),
    lambda e: e["entries"][1].update(entry=b64(b"not json")),
])
def test_malformed_evidence_fails(published: tuple[dict[str, Any], str], mangle: Any) -> None:
    evidence, key = published
    mangle(evidence)
    with pytest.raises(ProofError):
        verify_evidence(evidence, verifier_key=key)
