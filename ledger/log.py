"""The log: sequencing appends, serving entries, proofs and signed checkpoints.

Every function takes the caller's SQLAlchemy session first and never commits: the caller owns
the unit of work, so a batch lands whole or not at all.

Appends are sequenced by locking the single ``ledger_head`` row with an UPDATE as the first
statement of the write transaction. On PostgreSQL that is a row lock; on SQLite the first write
takes the database's write lock (waiting up to the busy timeout) before anything is read, so
no two processes can ever read the same head and fork the log.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.db import hold_writer_lock
from ledger.entry import GENESIS_PREV, Entry, SignedStatement, Statement
from ledger.errors import LedgerError, NotFoundError
from ledger.identity import KEY_REGISTERED, OPERATOR, KeyRecord, KeyRing
from ledger.keys import key_id_for, load_public_key, public_key_bytes
from ledger.models import (
    CheckpointRow,
    EnterpriseRow,
    EntryRow,
    KeyRow,
    LedgerHead,
    MerkleNode,
)
from ledger.records import Notice, RowCache, admit_record, clear_projections
from ledger.reference import ReferenceData, load_reference

__all__ = [
    "Appended",
    "ConsistencyProof",
    "InclusionProof",
    "Ledger",
    "append",
    "consistency_proof",
    "get_entry",
    "inclusion_proof",
    "initialise",
    "latest_checkpoint",
    "ledger_size",
    "node_id",
    "rebuild",
    "rfc3339",
    "tree_root",
]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Format a moment as RFC 3339 UTC with microseconds, which sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Ledger:
    """The ledger's own identity (checkpoint origin, operator key), its clock and the
    reference data its rules enforce."""

    origin: str
    signing_key: Ed25519PrivateKey = field(repr=False)
    clock: Clock = _utc_now
    reference: ReferenceData = field(default_factory=load_reference, repr=False)

    @property
    def key_id(self) -> str:
        """The operator key's ID."""
        return key_id_for(self.signing_key)

    def operator_statement(self, type_: str, payload: Mapping[str, Any]) -> SignedStatement:
        """A statement by the ledger operator (enterprise and key registrations), signed."""
        statement = Statement(type_, OPERATOR, self.key_id, rfc3339(self.clock()), payload)
        return statement.sign(self.signing_key)

    def sign(self, checkpoint: Checkpoint) -> str:
        """The checkpoint as a C2SP signed note by the operator key."""
        return sign_checkpoint(checkpoint, key_name=self.origin, private_key=self.signing_key)


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


class _SessionNodes:
    """Reads tree nodes for proofs and the append frontier, in one query per call."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def read_nodes(self, keys: Collection[merkle.NodeKey]) -> Mapping[merkle.NodeKey, bytes]:
        ids = {node_id(level, index): (level, index) for level, index in keys}
        rows = self._session.connection().execute(_NODES, {
            "leaves": [index for level, index in keys if level == 0],
            "inner": [nid for nid, (level, _) in ids.items() if level > 0]})
        return {ids[nid]: digest for nid, digest in rows}


class _ProjectedKeys:
    """The key and enterprise projections, as the key ring sees them at append time."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find_key(self, key_id: str) -> KeyRecord | None:
        row = self._session.get(KeyRow, key_id)
        if row is None:
            return None
        return KeyRecord(row.key_id, row.enterprise, load_public_key(row.public_key),
                         row.registered_seq, row.revoked_seq)

    def enterprise_known(self, enterprise: str) -> bool:
        return self._session.get(EnterpriseRow, enterprise) is not None


def initialise(session: Session, ledger: Ledger) -> None:
    """Create the head row and the genesis entry, once; check the operator key thereafter."""
    head = session.get(LedgerHead, 1)
    if head is None:
        session.add(LedgerHead(id=1, size=0, last_leaf_hash=GENESIS_PREV, last_recorded_at=""))
        session.flush()
        payload = {"enterprise": OPERATOR, "key_id": ledger.key_id,
                   "public_key": _b64(public_key_bytes(ledger.signing_key))}
        append(session, ledger, [ledger.operator_statement(KEY_REGISTERED, payload)])
        return
    genesis = get_entry(session, 0)
    if genesis.statement.key_id != ledger.key_id:
        raise LedgerError(f"this ledger's operator key is {genesis.statement.key_id}, "
                          f"but the configured signing key is {ledger.key_id}")


@dataclass(frozen=True)
class Appended:
    """An entry the ledger accepted, with the notices its rules attached."""

    entry: Entry
    notices: list[Notice]


def append(session: Session, ledger: Ledger,
           batch: Sequence[SignedStatement]) -> list[Appended]:
    """Append a batch of signed statements atomically and return the new entries.

    Each statement is admitted by the key ring (signature, key owner, revocation, identity
    rules), then by the supervision rules, which also update the projections; the first that
    fails raises with ``item`` set to its position, and the caller's rollback then leaves the
    ledger exactly as it was. A checkpoint is signed for the new size, so every batch
    boundary is pinned by a signed root.
    """
    if not batch:
        return []
    head = _lock_head(session)
    frontier = merkle.CompactRange(head.size, _read_frontier(session, head.size))
    ring = KeyRing(_ProjectedKeys(session))
    rows = RowCache(session)
    rows.prefetch([signed.statement for signed in batch])
    recorded_at = max(rfc3339(ledger.clock()), head.last_recorded_at)
    appended: list[Appended] = []
    nodes: list[dict[str, Any]] = []
    prev = head.last_leaf_hash
    for item, signed in enumerate(batch):
        entry = Entry.create(seq=head.size + item, signed=signed, recorded_at=recorded_at,
                             prev=prev)
        try:
            ring.admit(entry)
            appended.append(Appended(entry, admit_record(rows, entry, ledger.reference)))
        except LedgerError as exc:
            exc.item = item
            raise
        nodes.extend({"node_id": node_id(*key), "hash": digest}
                     for key, digest in frontier.append(entry.leaf_hash) if key[0] > 0)
        prev = entry.leaf_hash
    session.execute(insert(EntryRow), [_entry_row(a.entry) for a in appended])
    if nodes:
        session.execute(insert(MerkleNode), nodes)
    session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(
        size=frontier.size, last_leaf_hash=prev, last_recorded_at=recorded_at))
    _store_checkpoint(session, ledger, frontier.size, frontier.root())
    return appended


def _store_checkpoint(session: Session, ledger: Ledger, size: int, root: bytes) -> str:
    """Sign the tree of ``size`` entries with ``root`` and keep the note; return it."""
    note = ledger.sign(Checkpoint(ledger.origin, size, root))
    session.add(CheckpointRow(size=size, root_hash=root, note=note))
    return note


def _lock_head(session: Session) -> LedgerHead:
    hold_writer_lock(session)
    locked = session.execute(
        update(LedgerHead).where(LedgerHead.id == 1).values(size=LedgerHead.size))
    if locked.rowcount != 1:  # type: ignore[attr-defined]
        raise LedgerError("the ledger is not initialised (run `tracenet init`)")
    session.expire_all()
    head = session.get(LedgerHead, 1)
    assert head is not None  # noqa: S101 - the UPDATE above just matched it
    return head


def _read_frontier(session: Session, size: int) -> list[bytes]:
    keys = merkle.frontier_keys(size)
    nodes = _SessionNodes(session).read_nodes(keys)
    return [nodes[key] for key in keys]


def _entry_row(entry: Entry) -> dict[str, Any]:
    statement = entry.statement
    return {"seq": entry.seq, "leaf_hash": entry.leaf_hash, "type": statement.type,
            "enterprise": statement.enterprise, "key_id": statement.key_id,
            "event_time": statement.event_time, "recorded_at": entry.recorded_at,
            "body": entry.canonical}


def ledger_size(session: Session) -> int:
    """The number of entries the head records."""
    size = session.scalar(select(LedgerHead.size).where(LedgerHead.id == 1))
    if size is None:
        raise LedgerError("the ledger is not initialised (run `tracenet init`)")
    return size


def get_entry(session: Session, seq: int) -> Entry:
    """The entry at ``seq``; NotFoundError when there is none."""
    body = session.scalar(select(EntryRow.body).where(EntryRow.seq == seq))
    if body is None:
        raise NotFoundError(f"no entry at seq {seq}", field="seq")
    return Entry.from_canonical(body)


def _checked_size(session: Session, size: int | None, field_name: str) -> int:
    """``size``, or the current size when None, checked to be a tree the ledger has."""
    current = ledger_size(session)
    size = current if size is None else size
    if not 0 < size <= current:
        raise NotFoundError(f"expected a tree size in 1..{current}, got {size}", field=field_name)
    return size


def tree_root(session: Session, size: int) -> bytes:
    """The Merkle root over the first ``size`` entries."""
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.tree_root(_SessionNodes(session), _checked_size(session, size, "size"))


@dataclass(frozen=True)
class InclusionProof:
    """Proof that the entry at ``seq`` is in the tree of ``size`` entries with ``root``."""

    seq: int
    size: int
    leaf_hash: bytes
    root: bytes
    hashes: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the tree of ``old_size`` entries is a prefix of the tree of ``new_size``."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    hashes: list[bytes]


def inclusion_proof(session: Session, seq: int, size: int | None = None) -> InclusionProof:
    """Build the inclusion proof of entry ``seq`` in the tree of ``size`` (default: current)."""
    size = _checked_size(session, size, "size")
    if not 0 <= seq < size:
        raise NotFoundError(f"expected a seq in 0..{size - 1}, got {seq}", field="seq")
    # The leaf, the root and the path come back from one query.
    leaf, root, *path = merkle.range_hashes(_SessionNodes(session), [
        (seq, seq + 1), (0, size), *merkle.inclusion_ranges(seq, size)])
    return InclusionProof(seq, size, leaf, root, path)


def consistency_proof(session: Session, old_size: int,
                      new_size: int | None = None) -> ConsistencyProof:
    """Build the consistency proof from tree size ``old_size`` to ``new_size``."""
    new_size = _checked_size(session, new_size, "second")
    if not 0 < old_size <= new_size:
        raise NotFoundError(f"expected a first size in 1..{new_size}, got {old_size}",
                            field="first")
    old_root, new_root, *path = merkle.range_hashes(_SessionNodes(session), [
        (0, old_size), (0, new_size), *merkle.consistency_ranges(old_size, new_size)])
    return ConsistencyProof(old_size, new_size, old_root, new_root, path)


def latest_checkpoint(session: Session, ledger: Ledger) -> str:
    """The signed note for the current tree size (signed now if the head has none yet)."""
    size = ledger_size(session)
    row = session.get(CheckpointRow, size)
    if row is not None:
        return row.note
    return _store_checkpoint(session, ledger, size, tree_root(session, size))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()



def rebuild(session: Session, ledger: Ledger,
            progress: Callable[[int], None] | None = None) -> int:
    """Recompute every projection by replaying the ledger; return the entries replayed.

    Signatures are not re-checked here (that is ``verify``'s job); the rules run exactly as
    they did at append time, against the same reference data.
    """
    clear_projections(session)
    replayed = 0
    bodies = session.execute(select(EntryRow.body).order_by(EntryRow.seq)).scalars()
    for chunk in bodies.yield_per(1000).partitions():
        entries = [Entry.from_canonical(body) for body in chunk]
        rows = RowCache(session)  # one cache per chunk keeps memory flat on long ledgers
        rows.prefetch([entry.statement for entry in entries])
        for entry in entries:
            admit_record(rows, entry, ledger.reference)
        rows.flush()
        replayed += len(entries)
        if progress is not None:
            progress(replayed)
    return replayed
