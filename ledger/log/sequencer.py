"""The sequencer: appending batches of signed statements, and replaying the log.

Every function takes the caller's SQLAlchemy session first and never commits: the caller owns
the unit of work, so a batch lands whole or not at all.

Appends are sequenced by locking the single ``ledger_head`` row with an UPDATE as the first
statement of the write transaction. On PostgreSQL that is a row lock; on SQLite the first write
takes the database's write lock (waiting up to the busy timeout) before anything is read, so
no two processes can ever read the same head and fork the log. The batch's Ed25519 signatures
are checked before that lock is taken, against the keys as registered then; under the lock
only the signer's authority is checked again (and the signature only if its key changed), so
the serial section is the rules, hashing and inserting.

Checkpoints come at a cadence: an append signs one only when ``checkpoint_interval`` seconds
have passed since the newest checkpoint, or ``checkpoint_entries`` entries are uncovered,
whichever comes first. The tail of a quiet log is covered by :func:`ensure_checkpoint`, which
``tracenet worker`` calls when the next checkpoint falls due, and which readers asking for the
newest checkpoint call too. Until a checkpoint covers it, an entry has the operator's signed
entry timestamp (:mod:`ledger.log.timestamp`).

The log knows nothing of what its entries mean. The application on top (the *personality*,
as Trillian and Tessera call it) decides that through an :class:`Admission`: it may refuse an
entry and keeps its own projections up to date, at append and again at ``replay``.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Row, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ledger.db import Base, hold_writer_lock, insert_rows
from ledger.errors import LedgerError, SignatureError
from ledger.log import merkle
from ledger.log.checkpoint import (
    CHECKPOINT_ENTRIES,
    CHECKPOINT_INTERVAL,
    Checkpoint,
    sign_checkpoint,
)
from ledger.log.directory import ProjectedDirectory
from ledger.log.entry import GENESIS_PREV, Entry, SignedStatement, Statement
from ledger.log.identity import IDENTITY_TYPES, KEY_REGISTERED, OPERATOR, KeyRing
from ledger.log.keys import key_id_for, public_key_bytes, verify_signature
from ledger.log.proofs import get_entry, ledger_size, tree_root
from ledger.log.storage import (
    CheckpointRow,
    EntryRow,
    KeyRow,
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
    "await_checkpoint",
    "checkpoint_due_in",
    "checkpoint_size",
    "covering_checkpoint",
    "ensure_checkpoint",
    "initialise",
    "keep_checkpoints",
    "latest_checkpoint",
    "lock_head",
    "replay",
    "rfc3339",
]

Clock = Callable[[], datetime]
logger = logging.getLogger(__name__)

# Core inserts on the tables themselves, compiled once.
_ENTRY_COLUMNS = ("seq", "leaf_hash", "type", "enterprise", "key_id", "event_time",
                  "recorded_at", "body")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Format a moment as RFC 3339 UTC with microseconds, which sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_rfc3339(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Ledger:
    """The log's own identity (checkpoint origin, operator key), its clock and its checkpoint
    cadence: at most one checkpoint per ``checkpoint_interval`` seconds or per
    ``checkpoint_entries`` entries, whichever comes first (an interval of 0: every append)."""

    origin: str
    signing_key: Ed25519PrivateKey
    clock: Clock = _utc_now
    checkpoint_interval: float = CHECKPOINT_INTERVAL
    checkpoint_entries: int = CHECKPOINT_ENTRIES

    def __post_init__(self) -> None:
        if self.checkpoint_interval < 0 or self.checkpoint_entries < 1:
            raise LedgerError(f"expected a checkpoint interval >= 0 s and >= 1 entries, got "
                              f"{self.checkpoint_interval} s and {self.checkpoint_entries}")

    def __repr__(self) -> str:
        return f"Ledger(origin={self.origin!r}, key_id={self.key_id!r})"

    @cached_property
    def key_id(self) -> str:
        """The operator key's ID (computed once: every signed entry timestamp names it)."""
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
    position, and the caller's rollback then leaves the ledger exactly as it was. When the
    batch crosses the checkpoint cadence's boundary, a checkpoint is signed for the new size.
    """
    if not batch:
        return []
    verified = _check_signatures(session, batch)
    head = _lock_head(session)
    frontier = merkle.CompactRange(head.size, _read_frontier(session, head.size))
    directory = ProjectedDirectory(session)
    ring = KeyRing(directory)
    admission.prefetch([signed.statement for signed in batch])
    recorded_at = max(rfc3339(ledger.clock()), head.last_recorded_at)
    entries: list[Entry] = []
    nodes: list[tuple[int, bytes]] = []
    prev = head.last_leaf_hash
    for item, signed in enumerate(batch):
        entry = Entry.create(seq=head.size + item, signed=signed, recorded_at=recorded_at,
                             prev=prev)
        try:
            ring.admit(entry, verified_with=verified[item])
            if entry.statement.type in IDENTITY_TYPES:
                directory.apply(entry)
            admission.admit(entry)
        except LedgerError as exc:
            exc.item = item
            raise
        entries.append(entry)
        for (level, index), digest in frontier.append(entry.leaf_hash):
            if level:  # leaves are the entries' own rows
                nodes.append((node_id(level, index), digest))
        prev = entry.leaf_hash
    admission.flush()
    connection = session.connection()
    insert_rows(connection, EntryRow.__tablename__, _ENTRY_COLUMNS,
                [_entry_row(entry) for entry in entries])
    if nodes:
        insert_rows(connection, MerkleNode.__tablename__, ("node_id", "hash"), nodes)
    values: dict[str, Any] = {"size": frontier.size, "last_leaf_hash": prev,
                              "last_recorded_at": recorded_at}
    # Asked at the end of the batch, so a checkpoint that fell due while it was admitted is
    # signed now rather than by the next writer, one batch later.
    now = ledger.clock()
    if _due_in(ledger, head.checkpoint_size, head.checkpoint_at, frontier.size, now) == 0:
        _store_checkpoint(session, ledger, frontier.size, frontier.root())
        values |= {"checkpoint_size": frontier.size, "checkpoint_at": rfc3339(now)}
    # Core, as the lock: the lock expired whatever the session held of the head
    session.connection().execute(update(_HEAD).where(_HEAD.c.id == 1).values(**values))
    return entries


def _check_signatures(session: Session, batch: Sequence[SignedStatement]) -> list[bytes | None]:
    """Check the batch's signatures before the head lock, against the keys registered now.

    Returns, per item, the raw public key its signature verified with (None for a key not
    registered yet, such as one the batch itself registers: the key ring checks those under
    the lock). A signature that fails here refuses the batch at once: the key it names can
    only be revoked, never replaced, so it could not verify under the lock either.
    """
    wanted = {signed.statement.key_id for signed in batch}
    registered: dict[str, bytes] = dict(session.execute(
        select(KeyRow.key_id, KeyRow.public_key).where(KeyRow.key_id.in_(wanted))).all())
    verified: list[bytes | None] = []
    for item, signed in enumerate(batch):
        raw = registered.get(signed.statement.key_id)
        if raw is None:
            verified.append(None)
            continue
        if not verify_signature(raw, signed.signature, signed.statement.signing_bytes()):
            error = SignatureError("signature does not verify", field="signature")
            error.item = item
            raise error
        verified.append(raw)
    return verified


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
    """The newest signed checkpoint, after signing one if the cadence says it is due.

    It may lag the head by up to the checkpoint interval; a ledger with no checkpoint at all
    (written before checkpoints were kept) gets one for its current size at once.
    """
    ensure_checkpoint(session, ledger)
    row = _newest_checkpoint(session)
    if row is not None:
        return row.note
    size = ledger_size(session)
    return _store_checkpoint(session, ledger, size, tree_root(session, size))


def covering_checkpoint(session: Session, ledger: Ledger, seq: int) -> str | None:
    """The newest signed checkpoint if it covers entry ``seq`` (signing one first if due),
    else None."""
    ensure_checkpoint(session, ledger)
    row = _newest_checkpoint(session)
    return row.note if row is not None and row.size > seq else None


def checkpoint_size(session: Session) -> int:
    """The size of the newest signed checkpoint (0 when there is none)."""
    return session.scalar(select(func.max(CheckpointRow.size))) or 0


def checkpoint_due_in(session: Session, ledger: Ledger) -> float | None:
    """Seconds until the next checkpoint is due (0: now), or None when every entry is covered.

    Read without the head lock: a hint for when to call :func:`ensure_checkpoint`.
    """
    head = session.get(LedgerHead, 1, populate_existing=True)
    if head is None:
        return None
    return _due_in(ledger, head.checkpoint_size, head.checkpoint_at, head.size, ledger.clock())


def ensure_checkpoint(session: Session, ledger: Ledger) -> str | None:
    """Sign a checkpoint of the current tree if entries are uncovered and the cadence's
    interval has passed; return the new note, or None when none was due.

    The check is made without a lock first, so a log that is covered costs one read; when a
    checkpoint looks due, the head is locked and the check made again, so two callers (the
    worker, a waiting client) never sign two checkpoints for one boundary.
    """
    if checkpoint_due_in(session, ledger) != 0:
        return None
    head = _lock_head(session)
    now = ledger.clock()
    if _due_in(ledger, head.checkpoint_size, head.checkpoint_at, head.size, now) != 0:
        return None
    root = merkle.CompactRange(head.size, _read_frontier(session, head.size)).root()
    note = _store_checkpoint(session, ledger, head.size, root)
    session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(
        checkpoint_size=head.size, checkpoint_at=rfc3339(now)))
    return note


def await_checkpoint(sessions: Callable[[], Session], ledger: Ledger, seq: int,
                     timeout: float, *, poll: float = 0.02,
                     sleep: Callable[[float], None] = time.sleep) -> str | None:
    """Wait up to ``timeout`` seconds for a signed checkpoint covering entry ``seq``; return
    its note, or None at the timeout.

    Each look is a short transaction of its own (``sessions`` makes one), so a checkpoint
    another process commits is seen at once; when the cadence says one is due, the waiter
    signs it itself rather than wait for the worker.
    """
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as session:
            note = covering_checkpoint(session, ledger, seq)
            due_in = checkpoint_due_in(session, ledger)
            session.commit()
        left = deadline - time.monotonic()
        if note is not None or left <= 0:
            return note
        sleep(max(0.0, min(left, poll, due_in if due_in is not None else poll)))


def keep_checkpoints(sessions: Callable[[], Session], ledger: Ledger, *,
                     stop: threading.Event, poll: float = 1.0) -> int:
    """Sign each checkpoint as it falls due until ``stop`` is set, so the tail of a log that
    stops growing is still covered within the interval; return how many were signed.

    Run by ``tracenet worker``. It sleeps until the next checkpoint is due (or ``poll``
    seconds when every entry is covered). A database error is logged and tried again.
    """
    signed = 0
    while not stop.is_set():
        due_in: float | None = None
        try:
            with sessions() as session:
                if ensure_checkpoint(session, ledger) is not None:
                    signed += 1
                due_in = checkpoint_due_in(session, ledger)
                session.commit()
        except SQLAlchemyError as exc:
            logger.warning("checkpoints: database error, trying again in %g s: %s", poll,
                           str(exc).splitlines()[0])
        stop.wait(poll if due_in is None else min(poll, max(due_in, 0.005)))
    return signed


def _due_in(ledger: Ledger, checkpoint_size: int, checkpoint_at: str, size: int,
            now: datetime) -> float | None:
    """Seconds until a checkpoint of ``size`` is due (0: now); None when nothing is uncovered.

    Due when no checkpoint was ever signed, when ``checkpoint_entries`` entries are uncovered,
    or once ``checkpoint_interval`` has passed since the newest checkpoint was signed.
    """
    if size <= checkpoint_size:
        return None
    if not checkpoint_at or size - checkpoint_size >= ledger.checkpoint_entries:
        return 0.0
    due = _parse_rfc3339(checkpoint_at) + timedelta(seconds=ledger.checkpoint_interval)
    return max(0.0, (due - now).total_seconds())


def _newest_checkpoint(session: Session) -> CheckpointRow | None:
    return session.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc())
                           .limit(1)).first()


def _store_checkpoint(session: Session, ledger: Ledger, size: int, root: bytes) -> str:
    """Sign the tree of ``size`` entries with ``root`` and keep the note; return it."""
    note = ledger.sign(Checkpoint(ledger.origin, size, root))
    session.add(CheckpointRow(size=size, root_hash=root, note=note))
    return note


def lock_head(session: Session) -> None:
    """Take the writers' lock on the ledger's head now, until ``session``'s transaction ends
    (an append in it takes it again for free); reads after it see every append committed before.

    For a caller whose statement depends on state that appends change (the next unit numbers of
    a product, say): read it under this lock, then append, so no other writer slips between.
    """
    _lock_head(session)


_HEAD = Base.metadata.tables[LedgerHead.__tablename__]
#: takes the head's row lock and reads it, in one statement (an ORM update and a get after it
#: cost up to a millisecond a batch)
_LOCK_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(size=_HEAD.c.size).returning(
    _HEAD.c.size, _HEAD.c.last_leaf_hash, _HEAD.c.last_recorded_at, _HEAD.c.checkpoint_size,
    _HEAD.c.checkpoint_at)


def _lock_head(session: Session) -> Row[Any]:
    """Queue for the head's row lock and read the head under it (``size``, ``last_leaf_hash``,
    ``last_recorded_at``, ``checkpoint_size``, ``checkpoint_at``)."""
    hold_writer_lock(session)
    head = session.connection().execute(_LOCK_HEAD).first()
    if head is None:
        raise LedgerError("the ledger is not initialised (run `tracenet init`)")
    session.expire_all()  # what this session read before the lock may have changed since
    return head


def _read_frontier(session: Session, size: int) -> list[bytes]:
    keys = merkle.frontier_keys(size)
    nodes = SessionNodes(session).read_nodes(keys)
    return [nodes[key] for key in keys]


def _entry_row(entry: Entry) -> tuple[Any, ...]:
    """The entry's values in the order of :data:`_ENTRY_COLUMNS`."""
    statement = entry.statement
    return (entry.seq, entry.leaf_hash, statement.type, statement.enterprise, statement.key_id,
            statement.event_time, entry.recorded_at, entry.canonical)
