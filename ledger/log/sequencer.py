"""The sequencer: appending batches of signed statements, and replaying the log.

Every function takes the caller's SQLAlchemy session first and never commits: the caller owns
the unit of work, so a batch lands whole or not at all.

Appends are sequenced by locking the single ``ledger_head`` row with an UPDATE as the first
statement of the write transaction. On PostgreSQL that is a row lock; on SQLite the first write
takes the database's write lock (waiting up to the busy timeout) before anything is read, so
no two processes can ever read the same head and fork the log.

The log knows nothing of what its entries mean. The application on top (the *personality*,
as Trillian and Tessera call it) decides that through an :class:`Admission`: it may refuse an
entry and keeps its own projections up to date, at append and again at ``replay``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ledger.db import hold_writer_lock
from ledger.errors import LedgerError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.directory import ProjectedDirectory
from ledger.log.entry import GENESIS_PREV, Entry, SignedStatement, Statement
from ledger.log.identity import IDENTITY_TYPES, KEY_REGISTERED, OPERATOR, KeyRing
from ledger.log.keys import key_id_for, public_key_bytes
from ledger.log.proofs import get_entry, ledger_size, tree_root
from ledger.log.storage import (
    CheckpointRow,
    EntryRow,
    LedgerHead,
    MerkleNode,
    SessionNodes,
    node_id,
)

__all__ = [
    "NO_ADMISSION",
    "Admission",
    "Ledger",
    "append",
    "initialise",
    "latest_checkpoint",
    "replay",
    "rfc3339",
]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Format a moment as RFC 3339 UTC with microseconds, which sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Ledger:
    """The log's own identity (checkpoint origin, operator key) and its clock."""

    origin: str
    signing_key: Ed25519PrivateKey
    clock: Clock = _utc_now

    def __repr__(self) -> str:
        return f"Ledger(origin={self.origin!r}, key_id={self.key_id!r})"

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


class Admission(Protocol):
    """What the personality does with the entries of a batch, in seq order.

    ``prefetch`` sees the whole batch first (to load what its checks will read in one go);
    ``admit`` checks one entry against the state left by every earlier one, raising a
    :class:`~ledger.errors.LedgerError` to refuse it, and applies it; ``flush`` writes what
    the batch changed. A refused entry aborts the batch: the caller rolls back.
    """

    def prefetch(self, statements: Sequence[Statement]) -> None:
        """Load ahead what admitting ``statements`` will read."""

    def admit(self, entry: Entry) -> None:
        """Check ``entry`` and apply it, or raise to refuse it."""

    def flush(self) -> None:
        """Write what the admitted entries changed."""


class _NoAdmission:
    """Admits every entry that the key ring lets through, and keeps no projections."""

    def prefetch(self, statements: Sequence[Statement]) -> None:
        """Nothing to load."""

    def admit(self, entry: Entry) -> None:
        """Let it through."""

    def flush(self) -> None:
        """Nothing to write."""


#: the admission of a log without a personality: opaque entries, checked for identity only
NO_ADMISSION: Admission = _NoAdmission()


def initialise(session: Session, ledger: Ledger) -> None:
    """Create the head row and the genesis entry, once; check the operator key thereafter."""
    head = session.get(LedgerHead, 1)
    if head is None:
        session.add(LedgerHead(id=1, size=0, last_leaf_hash=GENESIS_PREV, last_recorded_at=""))
        session.flush()
        payload = {"enterprise": OPERATOR, "key_id": ledger.key_id,
                   "public_key": base64.b64encode(public_key_bytes(ledger.signing_key)).decode()}
        append(session, ledger, [ledger.operator_statement(KEY_REGISTERED, payload)],
               NO_ADMISSION)
        return
    genesis = get_entry(session, 0)
    if genesis.statement.key_id != ledger.key_id:
        raise LedgerError(f"this ledger's operator key is {genesis.statement.key_id}, "
                          f"but the configured signing key is {ledger.key_id}")


def append(session: Session, ledger: Ledger, batch: Sequence[SignedStatement],
           admission: Admission) -> list[Entry]:
    """Append a batch of signed statements atomically and return the new entries.

    Each statement is admitted by the key ring (signature, key owner, revocation, identity
    rules), then by ``admission``; the first that fails raises with ``item`` set to its
    position, and the caller's rollback then leaves the ledger exactly as it was. A
    checkpoint is signed for the new size, so every batch boundary is pinned by a signed root.
    """
    if not batch:
        return []
    head = _lock_head(session)
    frontier = merkle.CompactRange(head.size, _read_frontier(session, head.size))
    directory = ProjectedDirectory(session)
    ring = KeyRing(directory)
    admission.prefetch([signed.statement for signed in batch])
    recorded_at = max(rfc3339(ledger.clock()), head.last_recorded_at)
    entries: list[Entry] = []
    nodes: list[dict[str, Any]] = []
    prev = head.last_leaf_hash
    for item, signed in enumerate(batch):
        entry = Entry.create(seq=head.size + item, signed=signed, recorded_at=recorded_at,
                             prev=prev)
        try:
            ring.admit(entry)
            if entry.statement.type in IDENTITY_TYPES:
                directory.apply(entry)
            admission.admit(entry)
        except LedgerError as exc:
            exc.item = item
            raise
        entries.append(entry)
        nodes.extend({"node_id": node_id(*key), "hash": digest}
                     for key, digest in frontier.append(entry.leaf_hash) if key[0] > 0)
        prev = entry.leaf_hash
    admission.flush()
    session.execute(insert(EntryRow), [_entry_row(entry) for entry in entries])
    if nodes:
        session.execute(insert(MerkleNode), nodes)
    session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(
        size=frontier.size, last_leaf_hash=prev, last_recorded_at=recorded_at))
    _store_checkpoint(session, ledger, frontier.size, frontier.root())
    return entries


def replay(session: Session, admission: Admission,
           progress: Callable[[int], None] | None = None) -> int:
    """Refill the identity projection and feed every entry to ``admission`` again, in seq
    order; return the number of entries replayed.

    Signatures are not re-checked here (that is ``verify``'s job): the entries were admitted
    once, and replaying them through the same code recomputes the same projections. The
    caller empties its own projections first.
    """
    directory = ProjectedDirectory(session)
    directory.clear()
    replayed = 0
    bodies = session.execute(select(EntryRow.body).order_by(EntryRow.seq)).scalars()
    for chunk in bodies.yield_per(1000).partitions():
        entries = [Entry.from_canonical(body) for body in chunk]
        admission.prefetch([entry.statement for entry in entries])
        for entry in entries:
            if entry.statement.type in IDENTITY_TYPES:
                directory.apply(entry)
            admission.admit(entry)
        admission.flush()
        session.flush()
        replayed += len(entries)
        if progress is not None:
            progress(replayed)
    return replayed


def latest_checkpoint(session: Session, ledger: Ledger) -> str:
    """The signed note for the current tree size (signed now if the head has none yet)."""
    size = ledger_size(session)
    row = session.get(CheckpointRow, size)
    if row is not None:
        return row.note
    return _store_checkpoint(session, ledger, size, tree_root(session, size))


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
    nodes = SessionNodes(session).read_nodes(keys)
    return [nodes[key] for key in keys]


def _entry_row(entry: Entry) -> dict[str, Any]:
    statement = entry.statement
    return {"seq": entry.seq, "leaf_hash": entry.leaf_hash, "type": statement.type,
            "enterprise": statement.enterprise, "key_id": statement.key_id,
            "event_time": statement.event_time, "recorded_at": entry.recorded_at,
            "body": entry.canonical}
