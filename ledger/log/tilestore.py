"""Tiles and entry bundles (:mod:`ledger.log.tiles`) read out of the log's tables.

A hash tile of level ``L`` is the stored nodes ``(8 * L, n * 256 .. n * 256 + W - 1)``: leaf
hashes from ``entries`` for level 0, and above that one contiguous range of ``merkle_nodes``
keys (``node_id`` puts a level's nodes side by side). Either way one indexed range query.
Nodes never change, so neither does a tile; a tile the tree does not have yet is not found.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import LedgerError, NotFoundError
from ledger.log.proofs import ledger_size
from ledger.log.storage import EntryRow, MerkleNode, node_id
from ledger.log.tiles import (
    LARGE_ENTRIES,
    MAX_BUNDLE_ENTRY,
    TILE_HEIGHT,
    TileRef,
    encode_bundle,
    tile_for,
)

__all__ = ["entry_bundle", "hash_tile"]


def _check_in_tree(session: Session, ref: TileRef) -> None:
    """NotFoundError unless the ledger has every hash (or entry) of ``ref``."""
    size = ledger_size(session)
    available = tile_for(ref.level, ref.index, size)
    if available is None or available.width < ref.width:
        have = 0 if available is None else available.width
        raise NotFoundError(f"{ref.path}: the tree of {size} entries has {have} of its "
                            f"{ref.width} {'entries' if ref.bundle else 'hashes'}",
                            field="path")


def hash_tile(session: Session, ref: TileRef) -> bytes:
    """The ``ref.width`` hashes of a hash tile, concatenated."""
    if ref.bundle:
        raise ValueError("an entry bundle is not a hash tile")
    _check_in_tree(session, ref)
    first, last = ref.first(), ref.first() + ref.width - 1
    level = int(ref.level) * TILE_HEIGHT
    if level == 0:
        query = (select(EntryRow.leaf_hash).where(EntryRow.seq.between(first, last))
                 .order_by(EntryRow.seq))
    else:
        query = (select(MerkleNode.hash)
                 .where(MerkleNode.node_id.between(node_id(level, first), node_id(level, last)))
                 .order_by(MerkleNode.node_id))
    hashes = session.scalars(query).all()
    if len(hashes) != ref.width:  # the head says they exist: storage lost some
        raise LedgerError(f"{ref.path}: expected {ref.width} stored hashes, found {len(hashes)}")
    return b"".join(hashes)


def entry_bundle(session: Session, ref: TileRef) -> bytes:
    """The entry bundle ``ref``: the entries' canonical bytes, each uint16 length-prefixed
    (uint32 for :data:`~ledger.log.tiles.LARGE_ENTRIES`).

    An entry longer than a uint16 frames (65,535 bytes: a serialization of thousands of units)
    makes its standard bundle unavailable: NotFoundError naming it and the uint32 bundle.
    """
    if not ref.bundle:
        raise ValueError("a hash tile is not an entry bundle")
    _check_in_tree(session, ref)
    first = ref.first()
    bodies = session.scalars(select(EntryRow.body)
                             .where(EntryRow.seq.between(first, first + ref.width - 1))
                             .order_by(EntryRow.seq)).all()
    if len(bodies) != ref.width:
        raise LedgerError(f"{ref.path}: expected {ref.width} stored entries, found "
                          f"{len(bodies)}")
    if ref.level == LARGE_ENTRIES:
        return encode_bundle(bodies, prefix=4)
    for offset, body in enumerate(bodies):
        if len(body) > MAX_BUNDLE_ENTRY:
            large = TileRef(LARGE_ENTRIES, ref.index, ref.width).path
            raise NotFoundError(f"{ref.path}: entry {first + offset} has {len(body)} bytes, "
                                f"more than an entry bundle frames ({MAX_BUNDLE_ENTRY}); "
                                f"read /{large} (uint32 lengths)", field="path")
    return encode_bundle(bodies)
