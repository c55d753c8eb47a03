"""Checking evidence a verifier fetched: entries, their inclusion proofs, a signed checkpoint.

This is what ``web/static/verify.js`` does in a shopper's browser, for a third party with the
``tracenet check-lot`` command: given the evidence JSON a Tracenet server publishes for the
items on a page (``GET /api/v1/public/evidence``) and the operator's verifier key obtained
some other way (pinned), check that

1. the checkpoint note carries a valid Ed25519 signature by that key, for the key's own log
   (:func:`ledger.log.checkpoint.open_checkpoint`);
2. each entry's inclusion proof leads from its leaf hash to the checkpoint's root
   (:func:`ledger.log.merkle.verify_inclusion`);
3. a public entry's bytes hash to that leaf and are the entry at that seq;
4. when given, the checkpoint's time: the operator's signed entry timestamp of its last entry
   (:mod:`ledger.log.timestamp`), whose inclusion proof leads to the same root;
5. when the verifier requires ``min_cosignatures`` k > 0 of its pinned ``witnesses``, the
   checkpoint carries valid C2SP tlog-cosignature lines by at least k distinct ones of them
   (:func:`ledger.log.cosignature.open_cosigned_checkpoint`).

Evidence JSON (hashes in base64, or hex as the CLI prints them)::

    {"checkpoint": "<signed note>", "operator_key": {"verifier_key": "<name+hash+key>"},
     "entries": [{"seq": 7, "leaf_hash": "…", "entry": "<base64 bytes>" | null,
                  "proof": ["…", …]}, …]}
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.errors import CheckpointError, LedgerError, ProofError
from ledger.log.checkpoint import Checkpoint, open_checkpoint, parse_verifier_key
from ledger.log.cosignature import CosignerKey, find_cosignatures, open_cosigned_checkpoint
from ledger.log.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from ledger.log.timestamp import SignedEntryTimestamp

__all__ = ["CheckedEntry", "EvidenceReport", "verify_evidence"]

_HEX_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CheckedEntry:
    """An entry proven to be in the checkpoint's tree; ``body`` when its bytes were given."""

    seq: int
    leaf_hash: bytes
    proof_length: int
    body: Mapping[str, Any] | None


@dataclass(frozen=True)
class EvidenceReport:
    """What verified: the checkpoint (by the pinned key) and every entry in it."""

    checkpoint: Checkpoint
    verifier_key: str
    entries: tuple[CheckedEntry, ...]
    #: the integrated time of the checkpoint's last entry (RFC 3339 UTC), when it was given
    time: str | None = None
    #: the pinned witnesses whose cosignature on the checkpoint verified
    cosigners: tuple[CosignerKey, ...] = ()


def verify_evidence(evidence: Mapping[str, Any], *, verifier_key: str,
                    witnesses: Sequence[CosignerKey] = (), min_cosignatures: int = 0,
                    ) -> EvidenceReport:
    """Check ``evidence`` against the pinned ``verifier_key`` and, when ``min_cosignatures``
    k > 0, that at least k distinct pinned ``witnesses`` cosigned its checkpoint; raise a
    LedgerError if anything fails (CheckpointError for the key, note or cosignatures,
    ProofError for entries and proofs)."""
    served = evidence.get("operator_key", evidence.get("key"))
    if isinstance(served, Mapping):
        served = served.get("verifier_key")
    if not isinstance(served, str) or served.strip() != verifier_key.strip():
        raise ProofError("expected the evidence to name the pinned operator key, got "
                         f"{str(served)[:80]!r}", field="operator_key")
    name, public_key = parse_verifier_key(verifier_key.strip())
    note = evidence.get("checkpoint")
    if isinstance(note, Mapping):
        note = note.get("note")
    if not isinstance(note, str):
        raise ProofError("expected a signed checkpoint note", field="checkpoint")
    checkpoint = open_checkpoint(note, key_name=name, public_key=public_key, origin=name)
    cosigners = _cosigners(note, checkpoint, name, public_key, witnesses, min_cosignatures)
    items = evidence.get("entries")
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise ProofError("expected a non-empty list of entries", field="entries")
    checked = [_check_entry(item, i, checkpoint) for i, item in enumerate(items)]
    time = _checkpoint_time(evidence.get("checkpoint_time"), checkpoint, public_key)
    return EvidenceReport(checkpoint, verifier_key.strip(), tuple(checked), time, cosigners)


def _cosigners(note: str, checkpoint: Checkpoint, name: str, public_key: Ed25519PublicKey,
               witnesses: Sequence[CosignerKey], min_cosignatures: int,
               ) -> tuple[CosignerKey, ...]:
    """The pinned witnesses that cosigned ``note``, at least ``min_cosignatures`` of them."""
    if min_cosignatures <= 0:
        return tuple(c.witness for c in find_cosignatures(note, witnesses))
    distinct = {w.public_key for w in witnesses}
    if min_cosignatures > len(distinct):
        raise CheckpointError(f"{min_cosignatures} cosignatures are required but only "
                              f"{len(distinct)} witnesses are pinned", field="witnesses")
    opened = open_cosigned_checkpoint(note, key_name=name, public_key=public_key, origin=name,
                                      witnesses=witnesses)
    if len(opened.cosignatures) < min_cosignatures:
        raise CheckpointError(
            f"only {len(opened.cosignatures)} of {min_cosignatures} witnesses cosigned the "
            f"checkpoint at size {checkpoint.size}", field="checkpoint")
    return tuple(c.witness for c in opened.cosignatures)


def _checkpoint_time(given: Any, checkpoint: Checkpoint, public_key: Ed25519PublicKey,
                     ) -> str | None:
    """The signed entry timestamp of the checkpoint's last entry, checked and proven in it."""
    if given is None:
        return None
    if not isinstance(given, Mapping) or not isinstance(given.get("timestamp"), Mapping):
        raise ProofError("expected a checkpoint time with a timestamp", field="checkpoint_time")
    try:
        stamp = SignedEntryTimestamp.from_json(given["timestamp"])
        stamp.verify(public_key, origin=checkpoint.origin)
    except LedgerError as exc:
        raise ProofError(f"checkpoint time: {exc.message}", field="checkpoint_time") from None
    if stamp.seq != checkpoint.size - 1:
        raise ProofError(f"checkpoint time: expected the timestamp of entry "
                         f"{checkpoint.size - 1}, got entry {stamp.seq}", field="checkpoint_time")
    path = given.get("proof")
    if not isinstance(path, Sequence) or isinstance(path, str):
        raise ProofError("checkpoint time: expected a list of proof hashes",
                         field="checkpoint_time")
    verify_inclusion(leaf_hash=stamp.leaf_hash, index=stamp.seq, size=checkpoint.size,
                     proof=[_hash(h, f"checkpoint time proof[{i}]") for i, h in enumerate(path)],
                     root=checkpoint.root_hash)
    return stamp.integrated_time


def _check_entry(item: Any, position: int, checkpoint: Checkpoint) -> CheckedEntry:
    """One entry's leaf (from its bytes when given) and proof, to the checkpoint's root."""
    if not isinstance(item, Mapping):
        raise ProofError("expected an entry object", field=("entries", position))
    seq = item.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ProofError("expected an integer seq", field=("entries", position, "seq"))
    path = item.get("proof")
    if isinstance(path, Mapping):  # the proof API's object form
        path = path.get("proof")
    if not isinstance(path, Sequence) or isinstance(path, str):
        raise ProofError(f"entry {seq}: expected a list of proof hashes",
                         field=("entries", position, "proof"))
    hashes = [_hash(h, f"entry {seq} proof[{i}]") for i, h in enumerate(path)]
    body: Mapping[str, Any] | None = None
    raw = item.get("entry")
    if raw is not None:
        data = _base64(raw, f"entry {seq} bytes")
        leaf = leaf_hash(data)
        try:
            body = json.loads(data)
        except ValueError:
            raise ProofError(f"entry {seq}: expected JSON bytes",
                             field=("entries", position, "entry")) from None
        if not isinstance(body, Mapping) or body.get("seq") != seq:
            raise ProofError(f"entry {seq}: the bytes given are another entry's",
                             field=("entries", position, "entry"))
        claimed = item.get("leaf_hash")
        if claimed is not None and _hash(claimed, f"entry {seq} leaf hash") != leaf:
            raise ProofError(f"entry {seq}: expected leaf hash {leaf.hex()} of its bytes",
                             field=("entries", position, "leaf_hash"))
    else:
        leaf = _hash(item.get("leaf_hash"), f"entry {seq} leaf hash")
    verify_inclusion(leaf_hash=leaf, index=seq, size=checkpoint.size, proof=hashes,
                     root=checkpoint.root_hash)
    return CheckedEntry(seq, leaf, len(hashes), body)


def _hash(text: Any, what: str) -> bytes:
    """A 32-byte hash in hex or base64."""
    if isinstance(text, str) and _HEX_HASH.fullmatch(text):
        return bytes.fromhex(text)
    raw = _base64(text, what)
    if len(raw) != HASH_SIZE:
        raise ProofError(f"{what}: expected {HASH_SIZE} bytes, got {len(raw)}")
    return raw


def _base64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise ProofError(f"{what}: expected base64 text, got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProofError(f"{what}: expected base64, got {text[:40]!r}") from None
