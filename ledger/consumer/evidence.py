"""The evidence behind a shopper's answer: its entries, their inclusion proofs, a checkpoint.

A phone that pins the operator's key checks that every entry the page shows is in the tree
the signed checkpoint commits to. Entries a shopper may read
(:data:`~ledger.consumer.lookup.PUBLIC_ENTRY_TYPES`: the maker's registration, the product's,
inspections) come with their canonical bytes, so the phone can hash them itself and compare
the facts shown; the others (productions, serialisations, recalls' holders) only with their
leaf hash, which proves they are on the ledger without showing quantities, customers or
serials.

With a cosignature policy (``witnesses`` and ``min_cosignatures`` k > 0, the deployment's
``TRACENET_WITNESSES`` and ``TRACENET_CONSUMER_MIN_COSIGNATURES``), the checkpoint is the newest
one that k of those witnesses cosigned (C2SP tlog-cosignature), with their cosignature lines,
and the proofs are made to its size; entries newer than it wait for the next cosigned one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.consumer.lookup import Lookup
from ledger.errors import LedgerError, NotFoundError
from ledger.log import Ledger, inclusion_proof, latest_checkpoint
from ledger.log.checkpoint import open_checkpoint, verifier_key
from ledger.log.cosignature import CosignerKey, open_cosigned_checkpoint
from ledger.log.cosigning import cosigned_note
from ledger.log.keys import key_id_for, public_key_bytes
from ledger.log.storage import CheckpointRow, CosignatureRow, EntryRow
from ledger.log.timestamp import sign_entry_timestamp

__all__ = ["checkpoint_time", "cosigned_checkpoint", "evidence"]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def cosigned_checkpoint(session: Session, ledger: Ledger, witnesses: Sequence[CosignerKey],
                        min_cosignatures: int) -> str:
    """The newest checkpoint note that ``min_cosignatures`` of ``witnesses`` cosigned, with
    the cosignature lines kept for it (each checked again here); NotFoundError when none is."""
    names = sorted({str(w) for w in witnesses})
    sizes = session.scalars(
        select(CosignatureRow.size).where(CosignatureRow.witness.in_(names))
        .group_by(CosignatureRow.size).having(func.count() >= min_cosignatures)
        .order_by(CosignatureRow.size.desc()).limit(3)).all()
    public_key = ledger.signing_key.public_key()
    for size in sizes:
        row = session.get(CheckpointRow, size)
        if row is None:
            continue
        note = cosigned_note(session, size, row.note)
        try:
            open_cosigned_checkpoint(note, key_name=ledger.origin, public_key=public_key,
                                     origin=ledger.origin, witnesses=witnesses,
                                     min_cosignatures=min_cosignatures)
        except LedgerError:
            continue  # a stored line that does not verify: never publish it as cosigned
        return note
    raise NotFoundError(f"no checkpoint has {min_cosignatures} witness cosignatures yet",
                        field="min_cosignatures")


def evidence(session: Session, ledger: Ledger, found: Lookup, *,
             witnesses: Sequence[CosignerKey] = (), min_cosignatures: int = 0,
             ) -> dict[str, Any]:
    """The checkpoint, the operator key and each shown entry with its inclusion proof.

    With ``min_cosignatures`` k > 0, the checkpoint is the newest one k of ``witnesses``
    cosigned (:func:`cosigned_checkpoint`), and the evidence names them and k.
    Signing a checkpoint for the current size may add one (the caller commits).
    """
    public_key = ledger.signing_key.public_key()
    if min_cosignatures > 0:
        note = cosigned_checkpoint(session, ledger, witnesses, min_cosignatures)
    else:
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
        "witnesses": [w.vkey for w in witnesses] if min_cosignatures > 0 else [],
        "min_cosignatures": max(min_cosignatures, 0),
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
