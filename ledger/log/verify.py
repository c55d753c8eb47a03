"""Full verification: recompute the chain, the tree, the signatures and the checkpoints.

Nothing stored is trusted but the operator's public key. Entries are streamed in seq order and
replayed through a fresh :class:`~ledger.identity.KeyRing`; every inner tree node is recomputed
and compared with the stored one; every signed checkpoint (stored, or saved elsewhere and
handed in) must verify and match the recomputed root at its size. The first bad seq is named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.errors import (
    CheckpointError,
    EntryError,
    IdentityError,
    SignatureError,
    VerificationError,
)
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, open_checkpoint
from ledger.log.entry import GENESIS_PREV, Entry
from ledger.log.identity import KeyRing
from ledger.log.keys import key_id_for
from ledger.log.storage import CheckpointRow, EntryRow, LedgerHead, MerkleNode, node_id

__all__ = ["VerifyReport", "verify"]

_CHUNK = 2000


@dataclass(frozen=True)
class VerifyReport:
    """What an intact ledger proved: its size, root and how many checkpoints matched it."""

    size: int
    root: bytes
    checkpoints: int


@dataclass(frozen=True, order=True)
class _Problem:
    seq: int
    kind: str
    message: str
    #: for problems that only localise to a span of entries (a tree node, a checkpoint)
    last: int | None = None


def _first(problems: list[_Problem]) -> _Problem:
    """The first bad seq: a span-level problem explained by an entry inside it gives way to it.

    A node or checkpoint mismatch says only that *some* entry in its span changed; the entry
    checks say which one.
    """
    exact = [p.seq for p in problems if p.last is None]
    return min(p for p in problems
               if p.last is None or not any(p.seq <= seq <= p.last for seq in exact))


def verify(session: Session, *, origin: str, operator_key: Ed25519PublicKey,
           saved_checkpoints: Sequence[str] = (),
           progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Verify the whole ledger; raise VerificationError naming the first bad seq.

    ``saved_checkpoints`` are signed notes kept outside the database (by an auditor, say);
    a rewrite that also rewrote the stored checkpoints still fails against them.
    """
    head = session.get(LedgerHead, 1)
    head_size = head.size if head is not None else 0
    notes = [(row.note, "stored") for row in session.scalars(select(CheckpointRow))]
    notes += [(note, "saved") for note in saved_checkpoints]
    checkpoints, problems = _open_checkpoints(notes, origin, operator_key)
    wanted_roots = {checkpoint.size for checkpoint in checkpoints}

    tree = merkle.CompactRange()
    roots: dict[int, bytes] = {}
    ring = KeyRing()
    pending: list[tuple[merkle.NodeKey, bytes]] = []
    prev, prev_recorded_at = GENESIS_PREV, ""
    rows = session.execute(select(EntryRow.seq, EntryRow.leaf_hash, EntryRow.body)
                           .order_by(EntryRow.seq)).yield_per(_CHUNK)
    for expected, (seq, stored_leaf, body) in enumerate(rows):
        problem, entry = _check_entry(expected, seq, stored_leaf, body, prev, prev_recorded_at,
                                      ring, operator_key)
        if problem is None and seq >= head_size:
            problem = _Problem(head_size, "missing entry",
                               f"entries go past the head size {head_size}")
        if problem is not None or entry is None:
            problems += [problem] if problem else []
            break
        pending.extend(node for node in tree.append(entry.leaf_hash) if node[0][0] > 0)
        if tree.size in wanted_roots:
            roots[tree.size] = tree.root()
        prev, prev_recorded_at = entry.leaf_hash, entry.recorded_at
        if len(pending) >= _CHUNK:
            problems += _compare_nodes(session, pending)
            pending = []
            if progress is not None:
                progress(tree.size)
    problems += _compare_nodes(session, pending)
    complete = not problems
    if complete:  # the whole log was read: now look for what lies beyond its end
        if tree.size < head_size:
            problems.append(_Problem(tree.size, "missing entry", f"the head records "
                                     f"{head_size} entries, {tree.size} are stored"))
        problems += _extra_nodes(session, tree.size)
    problems += _match_checkpoints(checkpoints, roots, tree.size, complete)
    if progress is not None:
        progress(tree.size)
    if problems:
        first = _first(problems)
        raise VerificationError(first.seq, first.kind, first.message)
    return VerifyReport(tree.size, tree.root(), len(checkpoints))


def _check_entry(expected: int, seq: int, stored_leaf: bytes, body: bytes, prev: bytes,
                 prev_recorded_at: str, ring: KeyRing,
                 operator_key: Ed25519PublicKey) -> tuple[_Problem | None, Entry | None]:
    """The entry's first problem, if any, and the parsed entry (for the tree)."""
    if seq != expected:
        return _Problem(expected, "missing entry",
                        f"expected seq {expected}, next stored is {seq}"), None
    try:
        entry = Entry.from_canonical(body)
    except EntryError as exc:
        return _Problem(seq, "malformed", exc.message), None
    return _entry_problem(entry, seq, stored_leaf, prev, prev_recorded_at, ring,
                          operator_key), entry


def _entry_problem(entry: Entry, seq: int, stored_leaf: bytes, prev: bytes,
                   prev_recorded_at: str, ring: KeyRing,
                   operator_key: Ed25519PublicKey) -> _Problem | None:
    if entry.seq != seq:
        return _Problem(seq, "order", f"stored at seq {seq} but the entry says seq {entry.seq}")
    if entry.leaf_hash != stored_leaf:
        return _Problem(seq, "content hash", f"expected leaf hash {stored_leaf.hex()}, "
                                             f"content hashes to {entry.leaf_hash.hex()}")
    if entry.prev != prev:
        return _Problem(seq, "link", f"expected prev {prev.hex()}, got {entry.prev.hex()}")
    if entry.recorded_at < prev_recorded_at:
        return _Problem(seq, "order", f"recorded at {entry.recorded_at}, before the previous "
                                      f"entry's {prev_recorded_at}")
    if seq == 0 and entry.statement.key_id != key_id_for(operator_key):
        return _Problem(0, "identity", f"expected the genesis key {key_id_for(operator_key)}, "
                                       f"got {entry.statement.key_id}")
    try:
        ring.admit(entry)
    except SignatureError as exc:
        return _Problem(seq, "signature", exc.message)
    except (IdentityError, EntryError) as exc:
        return _Problem(seq, "identity", exc.message)
    return None


def _compare_nodes(session: Session, computed: Sequence[tuple[merkle.NodeKey, bytes]]
                   ) -> list[_Problem]:
    if not computed:
        return []
    ids = {node_id(*key): (key, digest) for key, digest in computed}
    stored = dict(session.execute(select(MerkleNode.node_id, MerkleNode.hash)
                                  .where(MerkleNode.node_id.in_(list(ids)))).all())
    problems = []
    for nid, ((level, index), digest) in ids.items():
        first = index << level
        span = f"tree node ({level}, {index}) over seqs {first}..{first + (1 << level) - 1}"
        last = first + (1 << level) - 1
        if nid not in stored:
            problems.append(_Problem(first, "tree", f"{span} is missing", last))
        elif stored[nid] != digest:
            problems.append(_Problem(first, "tree", f"{span}: expected {digest.hex()}, "
                                                    f"stored {stored[nid].hex()}", last))
    return problems


def _extra_nodes(session: Session, size: int) -> list[_Problem]:
    expected = sum(size >> level for level in range(1, size.bit_length()))
    stored = session.scalar(select(func.count()).select_from(MerkleNode)) or 0
    if stored > expected:
        return [_Problem(size, "missing entry", f"{stored - expected} stored tree nodes cover "
                                                f"entries past seq {size - 1}")]
    return []


def _open_checkpoints(notes: Iterable[tuple[str, str]], origin: str,
                      operator_key: Ed25519PublicKey) -> tuple[list[Checkpoint], list[_Problem]]:
    opened, problems = [], []
    for note, where in notes:
        try:
            opened.append(open_checkpoint(note, key_name=origin, public_key=operator_key,
                                          origin=origin))
        except CheckpointError as exc:
            problems.append(_Problem(0, "checkpoint", f"a {where} checkpoint: {exc.message}"))
    return opened, problems


def _match_checkpoints(checkpoints: Sequence[Checkpoint], roots: dict[int, bytes],
                       size: int, complete: bool) -> list[_Problem]:
    # A checkpoint only pins its size's root, so a mismatch is localised to the entries after
    # the last checkpoint that still matches.
    good = sorted(c.size for c in checkpoints if roots.get(c.size) == c.root_hash)
    problems = []
    for checkpoint in checkpoints:
        if checkpoint.size > size:
            if not complete:  # verification stopped early; sizes past that were not read
                continue
            problems.append(_Problem(size, "missing entry", f"a checkpoint signed the tree at "
                                     f"size {checkpoint.size}, only {size} entries verify"))
        elif roots.get(checkpoint.size) != checkpoint.root_hash:
            since = max((s for s in good if s < checkpoint.size), default=0)
            problems.append(_Problem(since, "checkpoint", f"the checkpoint at size "
                                     f"{checkpoint.size} does not match the recomputed root; "
                                     f"entries {since}..{checkpoint.size - 1} were rewritten",
                                     checkpoint.size - 1))
    return problems
