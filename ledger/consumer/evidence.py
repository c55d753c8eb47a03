"""The evidence behind a shopper's answer: its entries, their inclusion proofs, a checkpoint.

A phone that pins the operator's key checks that every entry the page shows is in the tree
the signed checkpoint commits to. Entries a shopper may read
(:data:`~ledger.consumer.lookup.PUBLIC_ENTRY_TYPES`: the maker's registration, the product's,
inspections) come with their canonical bytes, so the phone can hash them itself and compare
the facts shown; the others (productions, serialisations, recalls' holders) only with their
leaf hash, which proves they are on the ledger without showing quantities, customers or
serials.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.consumer.lookup import Lookup
from ledger.log import Ledger, inclusion_proof, latest_checkpoint
from ledger.log.checkpoint import open_checkpoint, verifier_key
from ledger.log.keys import key_id_for, public_key_bytes
from ledger.log.storage import EntryRow
from ledger.log.timestamp import sign_entry_timestamp

__all__ = ["checkpoint_time", "evidence"]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def evidence(session: Session, ledger: Ledger, found: Lookup) -> dict[str, Any]:
    """The checkpoint, the operator key and each shown entry with its inclusion proof.

    Signing a checkpoint for the current size may add one (the caller commits).
    """
    public_key = ledger.signing_key.public_key()
    note = latest_checkpoint(session, ledger)
    checkpoint = open_checkpoint(note, key_name=ledger.origin, public_key=public_key)
    wanted = {entry.seq: entry for entry in found.entries if entry.seq < checkpoint.size}
    bodies: dict[int, bytes] = {}
    public = [seq for seq, entry in wanted.items() if entry.public]
    if public:
        bodies = dict(session.execute(select(EntryRow.seq, EntryRow.body)
                                      .where(EntryRow.seq.in_(public))).all())
    entries = []
    for seq in sorted(wanted):
        shown = wanted[seq]
        proof = inclusion_proof(session, seq, checkpoint.size)
        body = bodies.get(seq)
        entries.append({
            "seq": seq, "role": shown.role, "type": shown.type, "public": shown.public,
            "leaf_hash": _b64(proof.leaf_hash),
            "entry": _b64(body) if body is not None else None,
            "proof": [_b64(node) for node in proof.hashes]})
    return {
        "origin": ledger.origin,
        "checkpoint": note,
        "checkpoint_time": checkpoint_time(session, ledger, checkpoint.size),
        "size": checkpoint.size,
        "root": _b64(checkpoint.root_hash),
        "operator_key": {"verifier_key": verifier_key(ledger.origin, public_key),
                         "public_key": _b64(public_key_bytes(public_key)),
                         "key_id": key_id_for(public_key)},
        "code": found.code, "gtin": found.gtin, "lot": found.lot, "serial": found.serial,
        "seqs": [entry["seq"] for entry in entries],
        "entries": entries,
    }


def checkpoint_time(session: Session, ledger: Ledger, size: int) -> dict[str, Any]:
    """How new the checkpoint is, in a form the phone can check: the signed entry timestamp of
    its last entry (the operator key's signature over seq, leaf hash and integrated time, see
    :mod:`ledger.log.timestamp`) with that entry's inclusion proof in the checkpoint."""
    last = size - 1
    proof = inclusion_proof(session, last, size)
    recorded_at = session.scalar(select(EntryRow.recorded_at).where(EntryRow.seq == last))
    assert recorded_at is not None  # noqa: S101 - the proof above just read this entry
    stamp = sign_entry_timestamp(origin=ledger.origin, seq=last, leaf_hash=proof.leaf_hash,
                                 integrated_time=recorded_at, private_key=ledger.signing_key)
    return {"timestamp": stamp.as_json(), "proof": [_b64(node) for node in proof.hashes]}
