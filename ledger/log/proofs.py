"""Reading the log back: entries, tree roots, inclusion and consistency proofs.

Every proof is read from storage in one statement (see :mod:`ledger.log.merkle`), through the
process's cache of immutable nodes (:class:`~ledger.log.storage.NodeCache`): a warm proof reads
only the head.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import LedgerError, NotFoundError
from ledger.log import merkle
from ledger.log.entry import Entry
from ledger.log.storage import EntryRow, LedgerHead, cached_nodes

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "consistency_proof",
    "get_entry",
    "inclusion_proof",
    "leaf_hashes",
    "ledger_size",
    "tree_root",
]


def ledger_size(session: Session) -> int:
    """The number of entries the head records."""
    size = session.scalar(select(LedgerHead.size).where(LedgerHead.id == 1))
    if size is None:
        raise LedgerError("the ledger is not initialised (run `tracenet init`)")
    return size


def get_entry(session: Session, seq: int) -> Entry:
    """The entry at ``seq``; NotFoundError when there is none."""
    if not 0 <= seq < 2**63:  # beyond a BIGINT: no entry, and no query to overflow
        raise NotFoundError(f"no entry at seq {seq}", field="seq")
    body = session.scalar(select(EntryRow.body).where(EntryRow.seq == seq))
    if body is None:
        raise NotFoundError(f"no entry at seq {seq}", field="seq")
    return Entry.from_canonical(body)


def leaf_hashes(session: Session, size: int) -> bytes:
    """The stored leaf hashes of the first ``size`` entries, concatenated (32 bytes each).

    A monitor keeps them beside a checkpoint it saves: once they hash to its signed root, they
    name the first entry that differs should history before that size ever be rewritten.
    """
    hashes = list(session.scalars(select(EntryRow.leaf_hash).where(EntryRow.seq < size)
                                  .order_by(EntryRow.seq)))
    if len(hashes) != size:
        raise NotFoundError(f"expected {size} stored entries, found {len(hashes)}", field="size")
    return b"".join(hashes)


# Built once: a proof from a warm node cache costs little more than building this statement.
_HEAD = select(LedgerHead.size, LedgerHead.last_leaf_hash).where(LedgerHead.id == 1)


def _checked_size(session: Session, size: int | None,
                  field_name: str) -> tuple[int, tuple[int, bytes]]:
    """``size``, or the current size when None, checked to be a tree the ledger has; and the
    head (size and last leaf hash), which guards the node cache."""
    head = session.connection().execute(_HEAD).one_or_none()
    if head is None:
        raise LedgerError("the ledger is not initialised (run `tracenet init`)")
    current = head.size
    size = current if size is None else size
    if not 0 < size <= current:
        raise NotFoundError(f"expected a tree size in 1..{current}, got {size}", field=field_name)
    return size, (head.size, head.last_leaf_hash)


def tree_root(session: Session, size: int) -> bytes:
    """The Merkle root over the first ``size`` entries."""
    if size == 0:
        return merkle.EMPTY_ROOT
    size, head = _checked_size(session, size, "size")
    return merkle.tree_root(cached_nodes(session, head), size)


@dataclass(frozen=True)
class InclusionProof:
    """Proof that the entry at ``seq`` is in the tree of ``size`` entries with ``root``."""

    seq: int
    size: int
    leaf_hash: bytes
    root: bytes
    hashes: list[bytes]

    def as_json(self, encode: Callable[[bytes], str]) -> dict[str, Any]:
        """The proof as the API and the CLI show it, each hash written with ``encode``."""
        return {"seq": self.seq, "size": self.size, "leaf_hash": encode(self.leaf_hash),
                "root": encode(self.root), "proof": [encode(h) for h in self.hashes]}


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the tree of ``old_size`` entries is a prefix of the tree of ``new_size``."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    hashes: list[bytes]

    def as_json(self, encode: Callable[[bytes], str]) -> dict[str, Any]:
        """The proof as the API and the CLI show it, each hash written with ``encode``."""
        return {"first": self.old_size, "second": self.new_size,
                "first_root": encode(self.old_root), "second_root": encode(self.new_root),
                "proof": [encode(h) for h in self.hashes]}


def inclusion_proof(session: Session, seq: int, size: int | None = None) -> InclusionProof:
    """Build the inclusion proof of entry ``seq`` in the tree of ``size`` (default: current)."""
    size, head = _checked_size(session, size, "size")
    if not 0 <= seq < size:
        raise NotFoundError(f"expected a seq in 0..{size - 1}, got {seq}", field="seq")
    # The leaf, the root and the path come back from one query.
    leaf, root, *path = merkle.range_hashes(cached_nodes(session, head), [
        (seq, seq + 1), (0, size), *merkle.inclusion_ranges(seq, size)])
    return InclusionProof(seq, size, leaf, root, path)


def consistency_proof(session: Session, old_size: int,
                      new_size: int | None = None) -> ConsistencyProof:
    """Build the consistency proof from tree size ``old_size`` to ``new_size``."""
    new_size, head = _checked_size(session, new_size, "second")
    if not 0 < old_size <= new_size:
        raise NotFoundError(f"expected a first size in 1..{new_size}, got {old_size}",
                            field="first")
    old_root, new_root, *path = merkle.range_hashes(cached_nodes(session, head), [
        (0, old_size), (0, new_size), *merkle.consistency_ranges(old_size, new_size)])
    return ConsistencyProof(old_size, new_size, old_root, new_root, path)
