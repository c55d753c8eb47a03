"""Verification's fast path: whole chunks of entries, each checked in one go.

A chunk is the :data:`CHUNK` entries under one complete subtree, ``[k * CHUNK, (k + 1) *
CHUNK)`` (or the part of one after a saved size, or before the log's end), so a worker process
can check it with nothing from the chunks before it but a key table (every key's owner, raw
public key, and the seqs that registered and revoked it, from the identity entries the main
process replayed first): it re-hashes each entry, checks its seq, its link to the entry before
it inside the chunk, the order of their times, its signer's authority at its seq and its
signature, and computes the chunk's subtree. The main process stitches the answers: each
chunk's first link and time against the chunk before it, the stored nodes against the computed
ones, the nodes above the chunks.

Entries are read with :func:`ledger.log.entry.entry_fields`, which takes the signed bytes
straight out of the entry's bytes, so an entry is parsed once and signature checks are nearly
all of the work: what lets ``verify --jobs N`` approach N times libsodium's rate.

A chunk passes whole or not at all; a worker does not say what is wrong. The exact sequential
check then takes over from the failing chunk and names the first bad seq as it always has, so
a verdict and its message do not depend on which path found it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, select

from ledger.db import create_ledger_engine
from ledger.errors import EntryError
from ledger.log.entry import entry_fields
from ledger.log.identity import IDENTITY_TYPES
from ledger.log.keys import verify_signature
from ledger.log.merkle import leaf_hash, node_hash
from ledger.log.storage import EntryRow

__all__ = ["CHUNK", "CHUNK_LEVEL", "ChunkSummary", "KeyTable", "Signer", "check_chunk",
           "check_stored_chunk", "open_worker", "read_rows"]

#: a chunk is a complete subtree of this level: 2,048 entries
CHUNK_LEVEL = 11
CHUNK = 1 << CHUNK_LEVEL

#: (owner, raw public key, the seq that registered it, the seq that revoked it or None)
Signer = tuple[str, bytes, int, int | None]
KeyTable = Mapping[str, Signer]
#: (seq, stored leaf hash, stored entry bytes), as read from the entries table
Row = tuple[int, bytes, bytes]


@dataclass(frozen=True)
class ChunkSummary:
    """What the main process needs of a chunk whose every entry checked out."""

    #: how many entries it held (fewer than CHUNK only at the end of what was stored)
    count: int
    first_prev: bytes
    first_recorded_at: str
    last_leaf: bytes
    last_recorded_at: str
    #: ``levels[k - 1]``: the chunk's complete nodes at level k, for k = 1 .. CHUNK_LEVEL (a
    #: whole chunk's root last)
    levels: list[list[bytes]]
    #: for each tree size asked for inside the chunk: the hashes of the complete subtrees that
    #: cover the chunk's leaves below it, largest first (the frontier's part in this chunk)
    partial: dict[int, list[bytes]]
    #: the leaf hashes of a chunk that starts off a boundary (the first after a saved size),
    #: which the main process adds to its tree one by one; empty otherwise
    leaves: list[bytes]


_ROWS = select(EntryRow.seq, EntryRow.leaf_hash, EntryRow.body).where(
    EntryRow.seq >= bindparam("low"), EntryRow.seq < bindparam("high")).order_by(EntryRow.seq)


def read_rows(connection: Connection, start: int, end: int) -> list[Row]:
    """The stored entries ``[start, end)``, in seq order."""
    return [(seq, leaf, body) for seq, leaf, body in
            connection.execute(_ROWS, {"low": start, "high": end})]


class _Worker:
    """What a worker process holds: its own connection to the database, and the key table."""

    engine: Engine | None = None
    keys: KeyTable = {}


def open_worker(database_url: str, keys: KeyTable) -> None:
    """Connect this worker process to the database and hold ``keys`` (a pool's initializer).

    Each worker reads its chunks itself, so the entries' bytes are neither read by the main
    process nor copied to the workers through a pipe; the rows below the head's size never
    change, so every connection reads the same ones.
    """
    _Worker.engine, _Worker.keys = create_ledger_engine(database_url), keys


def check_stored_chunk(start: int, end: int, identity: frozenset[int],
                       sizes: Sequence[int]) -> ChunkSummary | None:
    """:func:`check_chunk` of the stored entries ``[start, end)``, read by this worker."""
    assert _Worker.engine is not None, "open_worker first"  # noqa: S101 - a pool's initializer
    with _Worker.engine.connect() as connection:
        rows = read_rows(connection, start, end)
    return check_chunk(start, rows, identity, sizes, _Worker.keys)


def check_chunk(start: int, rows: Sequence[Row], identity: frozenset[int],
                sizes: Sequence[int], keys: KeyTable) -> ChunkSummary | None:
    """Check the chunk of entries from ``start``; its summary, or None if anything is wrong.

    The last chunk of a log may be cut short: ``rows`` then ends at the log's end. The first
    may start off a boundary (verifying from a saved size): its summary then carries its leaf
    hashes instead of its subtrees.

    ``identity`` holds the seqs in the chunk of identity entries, whose authority and
    signatures the main process checked as it replayed them into the key ring; every other
    entry must be signed by a key of ``keys`` that its enterprise held at its seq. ``sizes``
    are tree sizes inside the chunk whose roots are wanted (checkpoints).
    """
    if not 0 < len(rows) <= CHUNK - start % CHUNK:  # within one chunk's span
        return None
    leaves: list[bytes] = []
    signed: list[tuple[bytes, bytes, bytes]] = []
    first_prev, first_recorded_at, recorded_at = b"", "", ""
    for offset, (seq, stored_leaf, body) in enumerate(rows):
        leaf = leaf_hash(body)
        if seq != start + offset or leaf != stored_leaf:
            return None
        try:
            fields = entry_fields(body)
        except EntryError:
            return None
        if fields.seq != seq or (fields.type in IDENTITY_TYPES) != (seq in identity):
            return None
        if offset == 0:
            first_prev, first_recorded_at = fields.prev, fields.recorded_at
        elif fields.prev != leaves[-1] or fields.recorded_at < recorded_at:
            return None
        if seq not in identity:
            signer = keys.get(fields.key_id)
            if signer is None:
                return None
            owner, public_key, registered, revoked = signer
            if (owner != fields.enterprise or registered >= seq
                    or (revoked is not None and revoked < seq)):
                return None
            signed.append((public_key, fields.signature, fields.signing_bytes))
        leaves.append(leaf)
        recorded_at = fields.recorded_at
    # The signatures last, in one run: libsodium's tables stay in the cache from one check to
    # the next instead of being evicted by the parsing between them.
    if not all(verify_signature(*check) for check in signed):
        return None
    if start % CHUNK:  # off a boundary: the main process adds the leaves to its tree
        return ChunkSummary(len(rows), first_prev, first_recorded_at, leaves[-1], recorded_at,
                            [], {}, leaves)
    levels: list[list[bytes]] = []
    below = leaves
    for _ in range(CHUNK_LEVEL):  # the complete subtrees only, in a chunk cut short
        below = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        levels.append(below)
    partial = {size: _covering(leaves, levels, size - start) for size in sizes
               if start < size <= start + len(rows) and size - start < CHUNK}
    return ChunkSummary(len(rows), first_prev, first_recorded_at, leaves[-1], recorded_at,
                        levels, partial, [])


def _covering(leaves: list[bytes], levels: list[list[bytes]], count: int) -> list[bytes]:
    """The complete subtrees covering the first ``count`` leaves of the chunk, largest first."""
    hashes, position = [], 0
    for level in range(CHUNK_LEVEL - 1, -1, -1):
        if count >> level & 1:
            nodes = levels[level - 1] if level else leaves
            hashes.append(nodes[position >> level])
            position += 1 << level
    return hashes
