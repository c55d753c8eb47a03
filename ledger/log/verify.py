"""Verification: recompute the chain, the tree, the signatures and the checkpoints.

Nothing stored is trusted but the operator's public key (and, for :func:`verify_since`, a
checkpoint the caller saved earlier). Entries are streamed in seq order and replayed through a
fresh :class:`~ledger.identity.KeyRing`; every inner tree node is recomputed and compared with
the stored one; every signed checkpoint (stored, or saved elsewhere and handed in) must verify
and match the recomputed root at its size. The first bad seq is named.

Ed25519 checks are the largest part of the work, and each is independent of the others once the
key ring has said *which* key must have signed. Whole aligned chunks of entries therefore go by
a fast path (:mod:`ledger.log.sweep`): the identity entries are replayed into the key ring
first, then each chunk is checked whole — hashes, links, times, authority, signatures and its
subtree — in a process pool of ``jobs`` workers (inline for one job), and the main process only
stitches the chunks and compares the stored nodes. A chunk the fast path turns down, and the
entries before the first chunk boundary (``verify_since``), go through the sequential check,
which hands each entry's (key, bytes) to :class:`SignatureChecks` (the same pool scheme,
answered in seq order) and names the first bad seq, whatever the number of workers.

:func:`verify_since` is how a monitor follows a log it has verified before (as Certificate
Transparency monitors do): it proves the saved checkpoint consistent with the current tree from
the stored nodes, then verifies only the entries after it, continuing the hash chain from the
entry at the saved size and the tree from the saved tree's frontier. When the proof fails,
history before the saved size was rewritten: the first entry that differs is named by
comparing the entries with the saved tree's leaf hashes, when they were saved beside the note
(``tracenet checkpoint --out`` does; they are trusted only once they hash to the note's root).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from ledger.errors import (
    CheckpointError,
    EntryError,
    IdentityError,
    ProofError,
    SignatureError,
    VerificationError,
)
from ledger.log import merkle, sweep
from ledger.log.checkpoint import Checkpoint, open_checkpoint
from ledger.log.entry import GENESIS_PREV, Entry
from ledger.log.identity import IDENTITY_TYPES, KeyRing
from ledger.log.keys import key_id_for, verify_signature
from ledger.log.storage import (
    CheckpointRow,
    EntryRow,
    LedgerHead,
    MerkleNode,
    SessionNodes,
    node_id,
)

__all__ = ["Chain", "Problem", "SignatureChecks", "SinceReport", "VerifyReport", "check_entry",
           "default_jobs", "verify", "verify_since"]

_CHUNK = 2000
#: entries whose inclusion in the saved tree is proven per query (about 20 ranges each)
_PROOF_BATCH = 50
#: fork where there is one: workers start in milliseconds and need nothing but the task
#: (forkserver and spawn re-import the caller's __main__, a cost and, from a REPL, a failure)
_CONTEXT = multiprocessing.get_context(
    "fork" if "fork" in multiprocessing.get_all_start_methods() else None)
#: keys per IN (...) list: well under SQLite's 32,766 bound variables
_READ_BATCH = 5000


def default_jobs() -> int:
    """The number of processes that check signatures by default: one per usable core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class VerifyReport:
    """What an intact ledger proved: its size, root and how many checkpoints matched it."""

    size: int
    root: bytes
    checkpoints: int


@dataclass(frozen=True)
class SinceReport:
    """What :func:`verify_since` proved: the saved tree is a prefix of the current one and the
    ``entries`` after ``since`` verify."""

    since: int
    size: int
    root: bytes
    entries: int
    checkpoints: int
    #: seconds spent before the first new entry: the saved checkpoint's consistency proof, the
    #: identity entries' proof and key ring (it grows with enterprises and keys, not entries)
    setup_seconds: float = 0.0


@dataclass(frozen=True, order=True)
class Problem:
    """The first thing wrong with the log: at which seq, what kind of fault, and in words."""

    seq: int
    kind: str
    message: str
    #: for problems that only localise to a span of entries (a tree node, a checkpoint)
    last: int | None = None
    #: False for a problem of no one entry (a checkpoint note that does not open): ``seq``
    #: then only orders it, and the error does not name it
    of_entry: bool = True

    def error(self) -> VerificationError:
        """This problem as the error verification raises."""
        return VerificationError(self.seq if self.of_entry else None, self.kind, self.message)


def _first(problems: list[Problem]) -> Problem:
    """The first bad seq: a span-level problem explained by an entry inside it gives way to it.

    A node or checkpoint mismatch says only that *some* entry in its span changed; the entry
    checks say which one.
    """
    exact = [p.seq for p in problems if p.last is None]
    return min(p for p in problems
               if p.last is None or not any(p.seq <= seq <= p.last for seq in exact))


def _first_bad_signature(batch: Sequence[tuple[int, bytes, bytes]]) -> int | None:
    """The first seq in ``batch`` whose entry's signature does not verify (a pool task)."""
    for seq, public_key, body in batch:
        entry = Entry.from_canonical(body)
        if not verify_signature(public_key, entry.signature, entry.statement.signing_bytes()):
            return seq
    return None


class SignatureChecks:
    """Entries' signature checks, in batches, in ``jobs`` worker processes (inline for one).

    Batches are answered in the order they were added, so :attr:`bad` is always the lowest
    bad seq among the batches answered, and :attr:`done` the seq below which all are checked.
    At most two batches per worker are in flight, which bounds the memory held.
    """

    def __init__(self, jobs: int) -> None:
        self._jobs = jobs
        self._pool: ProcessPoolExecutor | None = None
        self._in_flight: deque[tuple[int, Future[int | None] | int | None]] = deque()
        self._limit = 2 * jobs
        self._batch: list[tuple[int, bytes, bytes]] = []
        self.bad: int | None = None
        self.done = 0

    def __enter__(self) -> SignatureChecks:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, seq: int, public_key: bytes, body: bytes) -> None:
        """Check the signature of the entry ``body`` at ``seq`` against ``public_key``."""
        self._batch.append((seq, public_key, body))
        if len(self._batch) >= _CHUNK:
            self._send()

    def poll(self) -> None:
        """Take in the answers that are ready, without waiting."""
        while self._in_flight and self._ready(self._in_flight[0][1]):
            self._take()

    def finish(self) -> int | None:
        """Wait for every check; the first bad seq, or None."""
        self._send(last=True)
        while self._in_flight:
            self._take()
        return self.bad

    def _send(self, last: bool = False) -> None:
        if not self._batch:
            return
        end, batch = self._batch[-1][0] + 1, self._batch
        self._batch = []
        # A ledger of one batch is checked inline: starting workers would cost more.
        if self._pool is None and self._jobs > 1 and not (last and not self._in_flight):
            self._pool = ProcessPoolExecutor(max_workers=self._jobs, mp_context=_CONTEXT)
        self._in_flight.append((end, _first_bad_signature(batch) if self._pool is None
                                else self._pool.submit(_first_bad_signature, batch)))
        while len(self._in_flight) > self._limit:
            self._take()

    @staticmethod
    def _ready(answer: Future[int | None] | int | None) -> bool:
        return not isinstance(answer, Future) or answer.done()

    def _take(self) -> None:
        end, answer = self._in_flight.popleft()
        bad = answer.result() if isinstance(answer, Future) else answer
        if bad is not None and self.bad is None:
            self.bad = bad
        self.done = end


@dataclass
class Chain:
    """Where the sequential pass stands: the tree so far, the last entry's link and time."""

    tree: merkle.CompactRange
    prev: bytes
    prev_recorded_at: str
    ring: KeyRing


def _scan(session: Session, rows: Iterable[tuple[int, bytes, bytes]], chain: Chain, *,
          head_size: int, operator_key: Ed25519PublicKey, wanted_roots: set[int], jobs: int,
          progress: Callable[[int], None] | None) -> tuple[list[Problem], dict[int, bytes]]:
    """Check ``rows`` (seq, stored leaf hash, body) in order from ``chain.tree.size``.

    Stops at the first bad entry; returns the problems found and the roots at the wanted sizes.
    """
    problems: list[Problem] = []
    roots: dict[int, bytes] = {}
    pending: list[tuple[merkle.NodeKey, bytes]] = []
    start = chain.tree.size
    with SignatureChecks(jobs) as checks:
        for expected, (seq, stored_leaf, body) in enumerate(rows, start):
            problem, entry = check_entry(expected, seq, stored_leaf, body, chain,
                                          operator_key, checks)
            if problem is None and seq >= head_size:
                problem = Problem(head_size, "missing entry",
                                   f"entries go past the head size {head_size}")
            if problem is not None or entry is None:
                problems += [problem] if problem else []
                break
            tree = chain.tree
            pending.extend(node for node in tree.append(entry.leaf_hash) if node[0][0] > 0)
            if tree.size in wanted_roots:
                roots[tree.size] = tree.root()
            chain.prev, chain.prev_recorded_at = entry.leaf_hash, entry.recorded_at
            if len(pending) >= _CHUNK:
                problems += _compare_nodes(session, pending)
                pending = []
                checks.poll()
                if checks.bad is not None:
                    break
                if progress is not None:
                    progress(max(checks.done, start) - start)
        bad = checks.finish()
    problems += _compare_nodes(session, pending)
    if bad is not None:
        # The signature is checked before anything the entry does to the key ring, as
        # KeyRing.admit does it; so it is this entry's first problem.
        problems = [p for p in problems if p.seq != bad or p.last is not None]
        problems.append(Problem(bad, "signature", "signature does not verify"))
    return problems, roots


def _rows(session: Session, low: int) -> Iterable[tuple[int, bytes, bytes]]:
    """The stored entries from seq ``low`` on, in seq order, a chunk at a time."""
    return session.execute(select(EntryRow.seq, EntryRow.leaf_hash, EntryRow.body)
                           .where(EntryRow.seq >= low).order_by(EntryRow.seq)).yield_per(_CHUNK)


def _bodies(session: Session, seqs: Sequence[int]) -> dict[int, bytes]:
    """The stored bytes of the entries at ``seqs`` (those stored), read ``_READ_BATCH`` at a
    time."""
    bodies: dict[int, bytes] = {}
    for start in range(0, len(seqs), _READ_BATCH):
        bodies.update(session.execute(select(EntryRow.seq, EntryRow.body).where(
            EntryRow.seq.in_(seqs[start:start + _READ_BATCH]))).all())
    return bodies


def _check_from(session: Session, chain: Chain, *, head_size: int,
                operator_key: Ed25519PublicKey, wanted_roots: set[int], jobs: int,
                progress: Callable[[int], None] | None
                ) -> tuple[list[Problem], dict[int, bytes]]:
    """Check every stored entry from ``chain.tree.size`` on; the problems and wanted roots.

    The entries up to the head go by the fast path (:mod:`ledger.log.sweep`); :func:`_scan`
    takes over from a chunk the fast path turns down, to name the first bad seq, and reads on
    past the head's size, where no entry may be.
    """
    start = chain.tree.size
    problems: list[Problem] = []
    roots: dict[int, bytes] = {}
    if start < head_size:
        problems, roots = _sweep(session, chain, head_size, operator_key=operator_key,
                                 wanted_roots=wanted_roots, jobs=jobs, progress=progress)
    offset = chain.tree.size - start
    found, found_roots = _scan(
        session, _rows(session, chain.tree.size), chain, head_size=head_size,
        operator_key=operator_key, wanted_roots=wanted_roots, jobs=jobs,
        progress=None if progress is None else (lambda done: progress(done + offset)))
    return problems + found, roots | found_roots


_LEVEL_HASHES = select(MerkleNode.hash).where(
    MerkleNode.node_id.between(bindparam("low"), bindparam("high"))).order_by(MerkleNode.node_id)


def _sweep(session: Session, chain: Chain, high: int, *, operator_key: Ed25519PublicKey,
           wanted_roots: set[int], jobs: int, progress: Callable[[int], None] | None
           ) -> tuple[list[Problem], dict[int, bytes]]:
    """Check the entries from ``chain.tree.size`` up to ``high`` on the fast path, a chunk at a
    time (the first may start off a chunk boundary, after a saved size), advancing ``chain``
    past each chunk that checks out, up to the first that does not.

    Returns the tree-node problems found and the wanted roots. The identity entries are first
    replayed into a copy of the key ring, the way the sequential check would admit them; if one
    of them fails, nothing goes by the fast path.
    """
    low = chain.tree.size
    replayed = _replay_identity(session, chain, low, high, operator_key)
    if replayed is None:
        return [], {}
    identity, keys = replayed
    seqs = sorted(entry.seq for entry in identity)
    # the roots wanted inside chunks, and the short last chunk's own size (for its frontier)
    sizes = sorted({size for size in wanted_roots if low < size <= high} | {high})
    bounds = [low, *range(low // sweep.CHUNK * sweep.CHUNK + sweep.CHUNK, high, sweep.CHUNK),
              high]
    problems: list[Problem] = []
    roots: dict[int, bytes] = {}
    pending: list[tuple[merkle.NodeKey, bytes]] = []

    def stitch(start: int, summary: sweep.ChunkSummary | None) -> bool:
        end = min(start // sweep.CHUNK * sweep.CHUNK + sweep.CHUNK, high)
        if (summary is None or summary.count != end - start or summary.first_prev != chain.prev
                or summary.first_recorded_at < chain.prev_recorded_at):
            return False
        if summary.leaves:  # off a boundary: into the tree leaf by leaf, as _scan does
            for leaf in summary.leaves:
                pending.extend(node for node in chain.tree.append(leaf) if node[0][0] > 0)
                if chain.tree.size in wanted_roots:
                    roots[chain.tree.size] = chain.tree.root()
        else:
            _stitch_subtree(session, chain, start, end, summary, problems, pending, roots)
        chain.prev, chain.prev_recorded_at = summary.last_leaf, summary.last_recorded_at
        if chain.tree.size in wanted_roots:
            roots[chain.tree.size] = chain.tree.root()
        return True

    # Starting workers costs more than checking two chunks' worth of entries inline (forking
    # a process is dearer the more memory it holds); past that, the pool pays.
    parallel = jobs if high - low > 2 * sweep.CHUNK else 1
    with _ChunkChecks(parallel, keys, session) as checks:
        for start, end in itertools.pairwise(bounds):
            checks.add(start, end,
                       frozenset(seqs[bisect_left(seqs, start):bisect_left(seqs, end)]),
                       [size for size in sizes if start < size <= end])
            if not all(stitch(*answer) for answer in checks.ready()):
                break
            if progress is not None:
                progress(chain.tree.size - low)
        else:
            all(stitch(*answer) for answer in checks.rest())
    problems += _compare_nodes(session, pending)
    for entry in identity:  # bring the ring to where the fast path stopped
        if entry.seq >= chain.tree.size:
            break
        # Its signature was checked as it was replayed before: only the ring's state is wanted.
        chain.ring.admit(entry, verified_with=_deferrable_key(chain.ring, entry))
    if progress is not None:
        progress(chain.tree.size - low)
    return problems, roots


def _stitch_subtree(session: Session, chain: Chain, start: int, end: int,
                    summary: sweep.ChunkSummary, problems: list[Problem],
                    pending: list[tuple[merkle.NodeKey, bytes]],
                    roots: dict[int, bytes]) -> None:
    """Add a chunk that starts on a boundary to the tree by its complete subtrees: each level
    against the stored nodes in one read, the roots wanted inside it from its frontier."""
    connection = session.connection()
    for level, hashes in enumerate(summary.levels, 1):
        first = start >> level
        stored = connection.execute(_LEVEL_HASHES, {
            "low": node_id(level, first),
            "high": node_id(level, first + len(hashes) - 1)}).scalars().all() if hashes else []
        if stored != hashes:
            problems.extend(_compare_nodes(session, [
                ((level, first + index), digest) for index, digest in enumerate(hashes)]))
    frontier = chain.tree.frontier()
    for size, covering in summary.partial.items():
        roots[size] = merkle.fold_range(frontier + covering)
    if end - start == sweep.CHUNK:
        completed = chain.tree.append_subtree(sweep.CHUNK_LEVEL, summary.levels[-1][0])
        pending.extend(node for node in completed if node[0][0] > sweep.CHUNK_LEVEL)
    else:  # the log's last chunk, cut short: it completes no node above itself
        chain.tree = merkle.CompactRange(end, frontier + summary.partial[end])


def _replay_identity(session: Session, chain: Chain, low: int, high: int,
                     operator_key: Ed25519PublicKey
                     ) -> tuple[list[Entry], sweep.KeyTable] | None:
    """The identity entries in ``[low, high)`` and the key table after them, admitted into a
    copy of the chain's ring in seq order (signatures checked); None if any of them fails.

    They are found by the ``type`` column, which no hash covers: a chunk holding an identity
    entry not found here (or the reverse) fails, and the sequential check judges it.
    """
    seqs = list(session.scalars(select(EntryRow.seq).where(
        EntryRow.type.in_(sorted(IDENTITY_TYPES)), EntryRow.seq >= low, EntryRow.seq < high)
        .order_by(EntryRow.seq)))
    bodies = _bodies(session, seqs)
    ring = chain.ring.copy()
    entries = []
    for seq in seqs:
        try:
            entry = Entry.from_canonical(bodies[seq])
            if (entry.seq != seq or entry.statement.type not in IDENTITY_TYPES
                    or (seq == 0 and entry.statement.key_id != key_id_for(operator_key))):
                return None
            ring.admit(entry)
        except (EntryError, IdentityError, SignatureError):
            return None
        entries.append(entry)
    return entries, {record.key_id: (record.enterprise, record.raw_public_key,
                                     record.registered_seq, record.revoked_seq)
                     for record in ring.records()}


_Answer = tuple[int, "sweep.ChunkSummary | None"]


class _ChunkChecks:
    """Chunks checked in ``jobs`` worker processes (inline for one), answered in order.

    Workers read their chunks from the database themselves, through ``database_url``; a
    database no other process can open (SQLite in memory) is checked inline.
    """

    def __init__(self, jobs: int, keys: sweep.KeyTable, session: Session) -> None:
        self._keys = keys
        self._connection = session.connection()
        url = self._connection.engine.url
        shared = url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")
        self._pool = (ProcessPoolExecutor(max_workers=jobs, mp_context=_CONTEXT,
                                          initializer=sweep.open_worker,
                                          initargs=(url.render_as_string(hide_password=False),
                                                    keys))
                      if jobs > 1 and shared else None)
        self._limit = 2 * jobs
        self._in_flight: deque[tuple[int, Future[sweep.ChunkSummary | None]]] = deque()

    def __enter__(self) -> _ChunkChecks:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, start: int, end: int, identity: frozenset[int], sizes: Sequence[int]) -> None:
        """Check the chunk of stored entries ``[start, end)``."""
        if self._pool is None:
            answer: Future[sweep.ChunkSummary | None] = Future()
            answer.set_result(sweep.check_chunk(
                start, sweep.read_rows(self._connection, start, end), identity, sizes,
                self._keys))
        else:
            answer = self._pool.submit(sweep.check_stored_chunk, start, end, identity, sizes)
        self._in_flight.append((start, answer))

    def ready(self) -> Iterator[_Answer]:
        """The answers due: while more than two per worker are in flight, the oldest."""
        while len(self._in_flight) > self._limit or (
                self._in_flight and self._in_flight[0][1].done()):
            start, answer = self._in_flight.popleft()
            yield start, answer.result()

    def rest(self) -> Iterator[_Answer]:
        """Every answer still to come, in order."""
        while self._in_flight:
            start, answer = self._in_flight.popleft()
            yield start, answer.result()


def verify(session: Session, *, origin: str, operator_key: Ed25519PublicKey,
           saved_checkpoints: Sequence[str] = (),
           progress: Callable[[int], None] | None = None, jobs: int = 1) -> VerifyReport:
    """Verify the whole ledger; raise VerificationError naming the first bad seq.

    ``saved_checkpoints`` are signed notes kept outside the database (by an auditor, say);
    a rewrite that also rewrote the stored checkpoints still fails against them. ``jobs``
    processes check signatures (see :class:`SignatureChecks`); the answer does not depend on it.
    """
    head = session.get(LedgerHead, 1)
    head_size = head.size if head is not None else 0
    notes = [(row.note, "stored") for row in session.scalars(select(CheckpointRow))]
    notes += [(note, "saved") for note in saved_checkpoints]
    checkpoints, problems = _open_checkpoints(notes, origin, operator_key)

    chain = Chain(merkle.CompactRange(), GENESIS_PREV, "", KeyRing())
    found, roots = _check_from(session, chain, head_size=head_size, operator_key=operator_key,
                               wanted_roots={c.size for c in checkpoints}, jobs=jobs,
                               progress=progress)
    problems += found
    tree = chain.tree
    complete = not problems
    if complete:  # the whole log was read: now look for what lies beyond its end
        if tree.size < head_size:
            problems.append(Problem(tree.size, "missing entry", f"the head records "
                                     f"{head_size} entries, {tree.size} are stored"))
        problems += _extra_nodes(session, tree.size)
    problems += _match_checkpoints(checkpoints, roots, tree.size, complete)
    if progress is not None:
        progress(tree.size)
    if problems:
        first = _first(problems)
        raise first.error()
    return VerifyReport(tree.size, tree.root(), len(checkpoints))


def verify_since(session: Session, *, origin: str, operator_key: Ed25519PublicKey,
                 saved_note: str, saved_leaves: bytes | None = None,
                 saved_checkpoints: Sequence[str] = (),
                 progress: Callable[[int], None] | None = None, jobs: int = 1) -> SinceReport:
    """Verify only what was appended after a checkpoint saved (and trusted) earlier.

    The saved note must carry the operator's signature; the stored tree must prove it
    consistent with the current one (else history was rewritten, and the error names the first
    entry that differs, given ``saved_leaves``: the saved tree's leaf hashes, 32 bytes each);
    then the entries after it are checked as :func:`verify` checks every entry: their link to
    the entry at the saved size, content hashes, the key ring's authority and signatures, the
    tree nodes they complete and every checkpoint (stored or ``saved_checkpoints``) past it.

    The key ring is rebuilt from the identity entries before the saved size, each proven
    included in the saved tree. They are found by the ``type`` column, which no hash covers:
    a full :func:`verify` is what proves that no identity entry was hidden by relabelling it.
    ``progress`` is told how many entries after the saved size are done.
    """
    started = time.perf_counter()
    try:
        saved = open_checkpoint(saved_note, key_name=origin, public_key=operator_key,
                                origin=origin)
    except CheckpointError as exc:
        raise VerificationError(None, "checkpoint",
                                f"the saved checkpoint: {exc.message}") from None
    head = session.get(LedgerHead, 1)
    head_size = head.size if head is not None else 0
    since = saved.size
    if since == 0:  # the empty tree: everything is new
        report = verify(session, origin=origin, operator_key=operator_key,
                        saved_checkpoints=saved_checkpoints, progress=progress, jobs=jobs)
        return SinceReport(0, report.size, report.root, report.size, report.checkpoints)

    nodes = SessionNodes(session)
    trouble = _inconsistency(nodes, saved, head_size)
    if trouble is not None:
        others, _ = _open_checkpoints([(note, "saved") for note in saved_checkpoints], origin,
                                      operator_key)
        first = _first_difference(session, saved, saved_leaves, trouble,
                                  _bounds(nodes, saved.size, head_size, others))
        raise first.error()

    chain = _chain_at(session, nodes, saved, operator_key)
    setup = time.perf_counter() - started
    notes = [(row.note, "stored") for row in session.scalars(
        select(CheckpointRow).where(CheckpointRow.size > since))]
    notes += [(note, "saved") for note in saved_checkpoints]
    opened, problems = _open_checkpoints(notes, origin, operator_key)
    checkpoints = [c for c in opened if c.size > since]
    found, roots = _check_from(session, chain, head_size=head_size, operator_key=operator_key,
                               wanted_roots={c.size for c in checkpoints}, jobs=jobs,
                               progress=progress)
    problems += found
    tree = chain.tree
    complete = not problems
    if complete:
        if tree.size < head_size:
            problems.append(Problem(tree.size, "missing entry", f"the head records "
                                     f"{head_size} entries, {tree.size} are stored"))
        problems += _nodes_past(session, tree.size)
    problems += _match_checkpoints(checkpoints, roots, tree.size, complete, floor=since)
    if progress is not None:
        progress(tree.size - since)
    if problems:
        first = _first(problems)
        raise first.error()
    return SinceReport(since, tree.size, tree.root(), tree.size - since, len(checkpoints), setup)


def _inconsistency(nodes: SessionNodes, saved: Checkpoint, head_size: int) -> str | None:
    """Why the stored tree does not extend the saved one, or None when it does."""
    if head_size < saved.size:
        return f"the ledger holds {head_size} entries, fewer than the saved {saved.size}"
    try:
        old_root, new_root, *path = merkle.range_hashes(nodes, [
            (0, saved.size), (0, head_size),
            *merkle.consistency_ranges(saved.size, head_size)])
        merkle.verify_consistency(old_size=saved.size, new_size=head_size,
                                  old_root=saved.root_hash, new_root=new_root, proof=path)
    except ProofError as exc:
        return f"the consistency proof from size {saved.size} to {head_size} fails: {exc}"
    if old_root != saved.root_hash:  # the proof holds, but the stored frontier does not
        return (f"the stored tree's root at size {saved.size} is {old_root.hex()}, the saved "
                f"checkpoint's {saved.root_hash.hex()}")
    return None


def _proven_entries(session: Session, nodes: SessionNodes, saved: Checkpoint,
                    seqs: Sequence[int]) -> Iterator[Entry]:
    """The entries at ``seqs`` (ascending, all below the saved size), each proven included in
    the saved tree; VerificationError naming the first that is missing or not included."""
    size = saved.size
    for start in range(0, len(seqs), _PROOF_BATCH):
        part = seqs[start:start + _PROOF_BATCH]
        bodies = _bodies(session, part)
        paths = [merkle.inclusion_ranges(seq, size) for seq in part]
        try:
            flat = iter(merkle.range_hashes(nodes, [r for ranges in paths for r in ranges]))
        except ProofError as exc:
            raise VerificationError(part[0], "rewritten", f"the stored tree below the saved "
                                    f"size {size} cannot prove its entries: {exc}") from None
        for seq, ranges in zip(part, paths, strict=True):
            proof = [next(flat) for _ in ranges]
            if seq not in bodies:
                raise VerificationError(seq, "missing entry", f"expected seq {seq}, not stored")
            try:
                entry = Entry.from_canonical(bodies[seq])
                merkle.verify_inclusion(leaf_hash=entry.leaf_hash, index=seq, size=size,
                                        proof=proof, root=saved.root_hash)
            except EntryError as exc:
                raise VerificationError(seq, "malformed", exc.message) from None
            except ProofError as exc:
                raise VerificationError(seq, "content hash", f"the entry is not the one the "
                                        f"saved checkpoint at size {size} holds: {exc}") from None
            if entry.seq != seq:
                raise VerificationError(seq, "order", f"stored at seq {seq} but the entry "
                                        f"says seq {entry.seq}")
            yield entry


def _included_entries(session: Session, nodes: SessionNodes, saved: Checkpoint,
                      seqs: Sequence[int]) -> list[Entry]:
    """The entries at ``seqs`` (ascending, below the saved size), proven included in the saved
    tree all at once by one multi-leaf proof; when it fails, one proof per entry names the
    first that is not the saved tree's."""
    bodies = _bodies(session, seqs)
    entries: list[Entry] = []
    try:
        entries = [Entry.from_canonical(bodies[seq]) for seq in seqs]
        ranges = merkle.multi_inclusion_ranges(seqs, saved.size)
        hashes = [h for start in range(0, len(ranges), _READ_BATCH)
                  for h in merkle.range_hashes(nodes, ranges[start:start + _READ_BATCH])]
        root = merkle.root_from_multi_inclusion(
            saved.size, {entry.seq: entry.leaf_hash for entry in entries}, hashes)
    except (KeyError, EntryError, ProofError):
        root = None
    if root != saved.root_hash or [entry.seq for entry in entries] != list(seqs):
        list(_proven_entries(session, nodes, saved, seqs))  # raises, naming the entry
        raise VerificationError(seqs[0], "rewritten", f"the entries {seqs[0]}..{seqs[-1]} "
                                f"are not the saved tree's")  # pragma: no cover - defensive
    return entries


def _chain_at(session: Session, nodes: SessionNodes, saved: Checkpoint,
              operator_key: Ed25519PublicKey) -> Chain:
    """The key ring, link, time and tree frontier at the saved size, from proven entries."""
    size = saved.size
    identity = list(session.scalars(select(EntryRow.seq)
                                    .where(EntryRow.type.in_(sorted(IDENTITY_TYPES)),
                                           EntryRow.seq < size).order_by(EntryRow.seq)))
    ring = KeyRing()
    last: Entry | None = None
    for entry in _included_entries(session, nodes, saved, sorted({*identity, size - 1})):
        if entry.seq == 0 and entry.statement.key_id != key_id_for(operator_key):
            raise VerificationError(0, "identity", f"expected the genesis key "
                                    f"{key_id_for(operator_key)}, got {entry.statement.key_id}")
        if entry.statement.type in IDENTITY_TYPES:
            try:
                # Their signatures were checked when the saved checkpoint was verified, and
                # the saved tree holds these very bytes: only the ring's state is wanted.
                ring.admit(entry, verified_with=_deferrable_key(ring, entry))
            except SignatureError as exc:
                raise VerificationError(entry.seq, "signature", exc.message) from None
            except (IdentityError, EntryError) as exc:
                raise VerificationError(entry.seq, "identity", exc.message) from None
        last = entry
    assert last is not None and last.seq == size - 1  # noqa: S101 - size - 1 was asked for
    frontier = merkle.range_hashes(nodes, [(start, end) for start, end in _frontier_ranges(size)])
    return Chain(merkle.CompactRange(size, frontier), last.leaf_hash, last.recorded_at, ring)


def _frontier_ranges(size: int) -> list[tuple[int, int]]:
    """The leaf ranges of :func:`merkle.frontier_keys` (each one stored node)."""
    return [(index << level, (index + 1) << level) for level, index in merkle.frontier_keys(size)]


def _bounds(nodes: SessionNodes, size: int, head_size: int,
            others: Sequence[Checkpoint]) -> tuple[int, int]:
    """Where the first difference lies, ``[low, high)``, by the other saved checkpoints below
    ``size``: past the largest whose root the stored tree still has, up to the smallest whose
    root it no longer has."""
    low, high = 0, size
    for other in others:
        if not 0 < other.size < size or other.size > head_size:
            continue
        try:
            same = merkle.tree_root(nodes, other.size) == other.root_hash
        except ProofError:
            same = False
        if same:
            low = max(low, other.size)
        else:
            high = min(high, other.size)
    return low, max(low + 1, high)


def _first_difference(session: Session, saved: Checkpoint, saved_leaves: bytes | None,
                      trouble: str, bounds: tuple[int, int]) -> Problem:
    """Name the first entry that differs from the saved tree, the saved size not proving
    consistent (``trouble`` says how); ``bounds`` says where it lies, by other checkpoints."""
    size = saved.size
    said = (f"history was rewritten: the saved checkpoint at size {size} is not consistent "
            f"with the current tree ({trouble})")
    leaves = _trusted_leaves(saved, saved_leaves)
    if leaves is None:
        low, high = bounds
        return Problem(low, "rewritten", f"{said}; an entry among {low}..{high - 1} differs, "
                        "and without the saved tree's leaf hashes (FILE.leaves, written beside "
                        "FILE by `tracenet checkpoint --out FILE`) the first cannot be named "
                        "more closely", high - 1)
    rows = session.execute(select(EntryRow.seq, EntryRow.body).where(EntryRow.seq < size)
                           .order_by(EntryRow.seq)).yield_per(_CHUNK)
    read = 0
    for expected, (seq, body) in enumerate(rows):
        if seq != expected:
            return Problem(expected, "rewritten", f"{said}; entry {expected} is missing")
        leaf = merkle.leaf_hash(body)
        if leaf != leaves[seq]:
            return Problem(seq, "rewritten", f"{said}; entry {seq} is the first that differs: "
                            f"the saved tree has leaf hash {leaves[seq].hex()}, the entry "
                            f"hashes to {leaf.hex()}")
        read = seq + 1
    if read < size:
        return Problem(read, "rewritten", f"{said}; entries from {read} on are gone")
    # Every entry matches the saved leaves: it is the stored tree that lies about them.
    return Problem(0, "tree", f"{said}; every entry below {size} matches the saved tree, "
                    "the stored tree nodes do not", size - 1)


def _trusted_leaves(saved: Checkpoint, saved_leaves: bytes | None) -> list[bytes] | None:
    """The saved leaf hashes of the saved tree, if they hash to its signed root."""
    size = saved.size
    if saved_leaves is None or len(saved_leaves) < merkle.HASH_SIZE * size:
        return None
    leaves = [saved_leaves[i:i + merkle.HASH_SIZE]
              for i in range(0, merkle.HASH_SIZE * size, merkle.HASH_SIZE)]
    return leaves if merkle.root_from_leaf_hashes(leaves) == saved.root_hash else None


def check_entry(expected: int, seq: int, stored_leaf: bytes, body: bytes, chain: Chain,
                 operator_key: Ed25519PublicKey,
                 checks: SignatureChecks) -> tuple[Problem | None, Entry | None]:
    """The entry's first problem, if any, and the parsed entry (for the tree).

    One judgement of an entry for every reader of the log: ``verify`` over the database and
    ``monitor`` over a remote log's tiles.
    """
    if seq != expected:
        return Problem(expected, "missing entry",
                        f"expected seq {expected}, next stored is {seq}"), None
    try:
        entry = Entry.from_canonical(body)
    except EntryError as exc:
        return Problem(seq, "malformed", exc.message), None
    return _entry_problem(entry, seq, stored_leaf, chain, operator_key, checks), entry


def _entry_problem(entry: Entry, seq: int, stored_leaf: bytes, chain: Chain,
                   operator_key: Ed25519PublicKey, checks: SignatureChecks) -> Problem | None:
    if entry.seq != seq:
        return Problem(seq, "order", f"stored at seq {seq} but the entry says seq {entry.seq}")
    if entry.leaf_hash != stored_leaf:
        return Problem(seq, "content hash", f"expected leaf hash {stored_leaf.hex()}, "
                                             f"content hashes to {entry.leaf_hash.hex()}")
    if entry.prev != chain.prev:
        return Problem(seq, "link", f"expected prev {chain.prev.hex()}, got {entry.prev.hex()}")
    if entry.recorded_at < chain.prev_recorded_at:
        return Problem(seq, "order", f"recorded at {entry.recorded_at}, before the previous "
                                      f"entry's {chain.prev_recorded_at}")
    if seq == 0 and entry.statement.key_id != key_id_for(operator_key):
        return Problem(0, "identity", f"expected the genesis key {key_id_for(operator_key)}, "
                                       f"got {entry.statement.key_id}")
    deferred = _deferrable_key(chain.ring, entry)
    if deferred is not None:
        checks.add(seq, deferred, entry.canonical)
    try:
        chain.ring.admit(entry, verified_with=deferred)
    except SignatureError as exc:
        return Problem(seq, "signature", exc.message)
    except (IdentityError, EntryError) as exc:
        return Problem(seq, "identity", exc.message)
    return None


def _deferrable_key(ring: KeyRing, entry: Entry) -> bytes | None:
    """The raw key whose signature check can wait for the pool: the signer's, when the ring
    lets it sign this entry (otherwise its refusal comes first, as in KeyRing.admit). The
    genesis entry's key is in its own payload: it is checked inline."""
    if entry.seq == 0:
        return None
    signer = ring.key(entry.statement.key_id)
    if (signer is None or signer.enterprise != entry.statement.enterprise
            or (signer.revoked_seq is not None and signer.revoked_seq < entry.seq)):
        return None
    return signer.raw_public_key


_STORED_NODES = select(MerkleNode.node_id, MerkleNode.hash).where(
    MerkleNode.node_id.between(bindparam("low"), bindparam("high")))


def _compare_nodes(session: Session, computed: Sequence[tuple[merkle.NodeKey, bytes]]
                   ) -> list[Problem]:
    if not computed:
        return []
    ids = {node_id(*key): (key, digest) for key, digest in computed}
    # The nodes a run of leaves completes are a run of indices at each level: one range
    # read per level, rather than an IN list of thousands of parameters.
    spans: dict[int, tuple[int, int]] = {}
    for (level, index), _ in computed:
        low, high = spans.get(level, (index, index))
        spans[level] = (min(low, index), max(high, index))
    connection = session.connection()
    stored: dict[int, bytes] = {}
    for level, (low, high) in spans.items():
        stored.update(connection.execute(_STORED_NODES, {
            "low": node_id(level, low), "high": node_id(level, high)}).all())
    problems = []
    for nid, ((level, index), digest) in ids.items():
        first = index << level
        span = f"tree node ({level}, {index}) over seqs {first}..{first + (1 << level) - 1}"
        last = first + (1 << level) - 1
        if nid not in stored:
            problems.append(Problem(first, "tree", f"{span} is missing", last))
        elif stored[nid] != digest:
            problems.append(Problem(first, "tree", f"{span}: expected {digest.hex()}, "
                                                    f"stored {stored[nid].hex()}", last))
    return problems


def _extra_nodes(session: Session, size: int) -> list[Problem]:
    expected = sum(size >> level for level in range(1, size.bit_length()))
    stored = session.scalar(select(func.count()).select_from(MerkleNode)) or 0
    if stored > expected:
        return [Problem(size, "missing entry", f"{stored - expected} stored tree nodes cover "
                                                f"entries past seq {size - 1}")]
    return []


def _nodes_past(session: Session, size: int) -> list[Problem]:
    """Stored nodes over entries at or past ``size``, by one indexed range per level (not a
    count of the whole table, which :func:`verify_since` must not pay for)."""
    top = size.bit_length() + 1  # no node at this level or above may exist at all
    past = or_(*(and_(MerkleNode.node_id >= node_id(level, size >> level),
                      MerkleNode.node_id < node_id(level + 1, 0)) for level in range(1, top)),
               MerkleNode.node_id >= node_id(top, 0))
    found = session.scalar(select(MerkleNode.node_id).where(past).limit(1))
    if found is None:
        return []
    level, index = found >> 48, found & ((1 << 48) - 1)
    return [Problem(size, "missing entry", f"a stored tree node ({level}, {index}) covers "
                                            f"entries past seq {size - 1}")]


def _open_checkpoints(notes: Iterable[tuple[str, str]], origin: str,
                      operator_key: Ed25519PublicKey) -> tuple[list[Checkpoint], list[Problem]]:
    opened, problems = [], []
    for note, where in notes:
        try:
            opened.append(open_checkpoint(note, key_name=origin, public_key=operator_key,
                                          origin=origin))
        except CheckpointError as exc:
            problems.append(Problem(0, "checkpoint", f"a {where} checkpoint: {exc.message}",
                                    of_entry=False))
    return opened, problems


def _match_checkpoints(checkpoints: Sequence[Checkpoint], roots: dict[int, bytes],
                       size: int, complete: bool, floor: int = 0) -> list[Problem]:
    # A checkpoint only pins its size's root, so a mismatch is localised to the entries after
    # the last checkpoint that still matches (or ``floor``, a size already proven).
    good = sorted(c.size for c in checkpoints if roots.get(c.size) == c.root_hash)
    problems = []
    for checkpoint in checkpoints:
        if checkpoint.size > size:
            if not complete:  # verification stopped early; sizes past that were not read
                continue
            problems.append(Problem(size, "missing entry", f"a checkpoint signed the tree at "
                                     f"size {checkpoint.size}, only {size} entries verify"))
        elif roots.get(checkpoint.size) != checkpoint.root_hash:
            since = max((s for s in good if s < checkpoint.size), default=floor)
            problems.append(Problem(since, "checkpoint", f"the checkpoint at size "
                                     f"{checkpoint.size} does not match the recomputed root; "
                                     f"entries {since}..{checkpoint.size - 1} were rewritten",
                                     checkpoint.size - 1))
    return problems


