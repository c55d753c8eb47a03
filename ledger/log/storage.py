"""The log's tables, and the reads every proof and append is made of.

``entries`` and ``merkle_nodes`` are the log itself and are only ever inserted into (the
migration adds database triggers that refuse UPDATE and DELETE). ``ledger_head`` sequences
writers, ``checkpoints`` keeps the signed notes, and ``enterprises`` / ``keys`` are the
identity projection: who may sign, replayed from the identity entries like any projection.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Mapping

from sqlalchemy import (
    BigInteger,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    bindparam,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import Base
from ledger.log import merkle

__all__ = [
    "IDENTITY_TABLES",
    "CheckpointRow",
    "CosignatureRow",
    "EnterpriseRow",
    "EntryRow",
    "KeyRow",
    "LedgerHead",
    "MerkleNode",
    "NodeCache",
    "SessionNodes",
    "cached_nodes",
    "node_id",
]


class EntryRow(Base):
    """One ledger entry: its canonical bytes are the truth, the other columns index them."""

    __tablename__ = "entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    event_time: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[str] = mapped_column(String(40))
    body: Mapped[bytes] = mapped_column(LargeBinary)


class MerkleNode(Base):
    """A perfect subtree of level >= 1 (leaves live in ``entries``), keyed by ``node_id``."""

    __tablename__ = "merkle_nodes"

    node_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHead(Base):
    """The single row every append locks: it sequences writers across processes.

    It also remembers the newest checkpoint's size and signing time (RFC 3339), which decide,
    under the same lock, when the next checkpoint is due.
    """

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    last_leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last_recorded_at: Mapped[str] = mapped_column(String(40))
    checkpoint_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    checkpoint_at: Mapped[str] = mapped_column(String(40), default="", server_default="")


class CheckpointRow(Base):
    """A signed checkpoint (C2SP signed note) the ledger issued at ``size``."""

    __tablename__ = "checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)


class EnterpriseRow(Base):
    """Identity projection: a registered enterprise."""

    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(100))
    registered_seq: Mapped[int] = mapped_column(BigInteger)


class KeyRow(Base):
    """Identity projection: a registered signing key and when it stopped being valid."""

    __tablename__ = "keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    registered_seq: Mapped[int] = mapped_column(BigInteger)
    revoked_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


#: the identity projection, in an order safe to clear and refill
IDENTITY_TABLES = (EnterpriseRow, KeyRow)


def node_id(level: int, index: int) -> int:
    """The storage key of perfect subtree (level, index); level 0 is kept in ``entries``."""
    return (level << 48) | index


# Leaves live in ``entries`` and inner nodes in ``merkle_nodes``; since node_id(0, i) == i they
# share one key space, so any set of nodes comes back from one statement (compiled once).
_NODES = (
    select(EntryRow.seq.label("node_id"), EntryRow.leaf_hash.label("hash"))
    .where(EntryRow.seq.in_(bindparam("leaves", expanding=True)))
    .union_all(select(MerkleNode.node_id, MerkleNode.hash)
               .where(MerkleNode.node_id.in_(bindparam("inner", expanding=True)))))


class SessionNodes:
    """Reads tree nodes for proofs and the append frontier, in one query per call."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def read_nodes(self, keys: Collection[merkle.NodeKey]) -> Mapping[merkle.NodeKey, bytes]:
        """The stored hashes of ``keys``; a key with no stored node is left out."""
        ids = {node_id(level, index): (level, index) for level, index in keys}
        rows = self._session.connection().execute(_NODES, {
            "leaves": [index for level, index in keys if level == 0],
            "inner": [nid for nid, (level, _) in ids.items() if level > 0]})
        return {ids[nid]: digest for nid, digest in rows}


class NodeCache:
    """The tree nodes one process has read from one database, kept for the next proofs.

    A stored node is a complete subtree and never changes (the tables refuse UPDATE and
    DELETE), so proofs may reuse it. One guard remains, for a database rewritten behind those
    triggers: the cache remembers the last leaf of the tree it last served (its *anchor*) and
    holds it against the head each proof reads anyway (its size and last leaf hash), reading
    the anchor leaf back, in the same query as the nodes it lacks, only when the head has moved.
    A rewrite that keeps the hash chain whole changes every leaf from the first it touched to
    the end, the anchor included, and empties the cache. At most ``limit`` nodes are kept
    (about 100 bytes each); past that the cache starts again empty.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self._limit = limit
        self._nodes: dict[merkle.NodeKey, bytes] = {}
        self._anchor: tuple[int, bytes] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._nodes)

    def reader(self, stored: merkle.NodeReader, head: tuple[int, bytes]) -> CachedNodes:
        """A node reader for proofs while the head is ``head`` (size, last leaf hash)."""
        return CachedNodes(self, stored, head)

    def clear(self) -> None:
        """Forget every node."""
        with self._lock:
            self._nodes.clear()
            self._anchor = None

    def read(self, stored: merkle.NodeReader, keys: Collection[merkle.NodeKey],
             head: tuple[int, bytes]) -> dict[merkle.NodeKey, bytes]:
        """The hashes of ``keys`` in the tree under ``head``: cached, or read from ``stored``
        (with the anchor check) and kept."""
        tip = (head[0] - 1, head[1])
        with self._lock:
            anchor = self._anchor
            found = {key: self._nodes[key] for key in keys if key in self._nodes}
        ask = {key for key in keys if key not in found}
        moved = anchor is not None and anchor != tip
        if moved and anchor is not None and anchor[0] < tip[0]:
            ask.add((0, anchor[0]))
        fetched = stored.read_nodes(ask) if ask else {}
        with self._lock:
            if moved and (anchor is None or fetched.get((0, anchor[0])) != anchor[1]):
                # History changed under the anchor: nothing cached can be trusted.
                self._nodes.clear()
                found = {}
                fetched = stored.read_nodes(keys)
            if len(self._nodes) + len(fetched) > self._limit:
                self._nodes.clear()
            self._nodes.update(fetched)
            self._anchor = tip
        return {**{key: fetched[key] for key in keys if key in fetched}, **found}


class CachedNodes:
    """A :class:`merkle.NodeReader` answering from a :class:`NodeCache`, then storage."""

    def __init__(self, cache: NodeCache, stored: merkle.NodeReader,
                 head: tuple[int, bytes]) -> None:
        self._cache = cache
        self._stored = stored
        self._head = head

    @property
    def cache(self) -> NodeCache:
        """The cache this reader answers from."""
        return self._cache

    def read_nodes(self, keys: Collection[merkle.NodeKey]) -> Mapping[merkle.NodeKey, bytes]:
        """The hashes of ``keys`` (inside the tree under the head); missing ones left out."""
        return self._cache.read(self._stored, keys, self._head)


_CACHES: weakref.WeakKeyDictionary[Engine, NodeCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cached_nodes(session: Session, head: tuple[int, bytes]) -> CachedNodes:
    """The node reader proofs use: this process's cache for the session's database, checked
    against ``head`` (the ledger head's size and last leaf hash, just read)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = NodeCache()
    return cache.reader(SessionNodes(session), head)


class CosignatureRow(Base):
    """A witness's cosignature on the checkpoint at ``size``: the note line it returned."""

    __tablename__ = "checkpoint_cosignatures"
    __table_args__ = (Index("ix_checkpoint_cosignatures_witness", "witness", "size"),)

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: the witness as ``<name>+<hex key ID>``
    witness: Mapped[str] = mapped_column(String(300), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[str] = mapped_column(Text)
