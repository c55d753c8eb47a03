"""A transparency-log witness (C2SP tlog-witness), the side another bureau runs.

The witness keeps, per log (its checkpoint origin), the latest checkpoint it cosigned. A log
submits each new checkpoint with a consistency proof from that one (``POST /add-checkpoint``:
``old <size>``, the proof's hashes in base64, a blank line, the signed checkpoint); the witness
cosigns (:mod:`.cosignature`) only if the proof shows the new tree extends the old. So once it
has cosigned one tree of a log it never cosigns a tree that forks from it: a log that shows
different histories to different people is caught as soon as two of them compare, and a
client that demands cosignatures from several witnesses cannot be shown a fork at all.

A refused fork leaves evidence: the checkpoint the witness holds, the submitted request and
why it failed, kept in the store and returned (422) or logged (409).

:class:`Witness` is the protocol without I/O; :class:`SqlWitnessStore` keeps its state in a
database of its own (SQLite or PostgreSQL; not the ledger's), with a compare-and-swap update,
so several server processes can answer at once without ever rolling a log back.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.errors import CheckpointError, ProofError, WitnessError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, open_checkpoint, parse_note, parse_verifier_key
from ledger.log.cosignature import CosignerKey, cosign, note_checkpoint

__all__ = [
    "MAX_PROOF_LINES",
    "AddCheckpoint",
    "Evidence",
    "Held",
    "LogKey",
    "SqlWitnessStore",
    "Witness",
    "WitnessStore",
    "encode_add_checkpoint",
    "parse_add_checkpoint",
    "parse_log_keys",
]

logger = logging.getLogger("tracenet.witness")

#: the spec's bound on consistency proof lines
MAX_PROOF_LINES = 63
_OLD = re.compile(rb"old (0|[1-9][0-9]{0,19})")


@dataclass(frozen=True)
class AddCheckpoint:
    """An ``add-checkpoint`` request: the size the submitter believes the witness holds, the
    consistency proof from it, and the signed checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


def encode_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str | bytes) -> bytes:
    """The request body: ``old N``, one base64 hash a line, a blank line, the note."""
    lines = [f"old {old_size}\n".encode()]
    lines += [base64.b64encode(h) + b"\n" for h in proof]
    return b"".join(lines) + b"\n" + (note.encode() if isinstance(note, str) else note)


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse a request body strictly; WitnessError 400 naming what is wrong."""
    def bad(why: str) -> WitnessError:
        return WitnessError(400, f"malformed add-checkpoint request: {why}")

    first, newline, rest = body.partition(b"\n")
    match = _OLD.fullmatch(first)
    if not newline or match is None:
        raise bad(f"expected an 'old <size>' line, got {first[:40]!r}")
    proof: list[bytes] = []
    while True:
        line, newline, rest = rest.partition(b"\n")
        if not newline:
            raise bad("expected a blank line before the checkpoint")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise bad(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            digest = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise bad(f"proof line {len(proof) + 1} is not base64") from None
        if len(digest) != merkle.HASH_SIZE or base64.b64encode(digest) != line:
            raise bad(f"proof line {len(proof) + 1} is not one canonical base64 SHA-256 hash")
        proof.append(digest)
    if not rest:
        raise bad("expected a checkpoint after the blank line")
    return AddCheckpoint(int(match.group(1)), tuple(proof), rest)


@dataclass(frozen=True)
class LogKey:
    """A log the witness serves: its checkpoint origin and the key its checkpoints verify
    with (a signed-note key name and Ed25519 key; Tracenet names the key after the origin)."""

    origin: str
    key_name: str
    public_key: Ed25519PublicKey


@dataclass(frozen=True)
class Held:
    """The latest checkpoint the witness cosigned for a log."""

    size: int
    root_hash: bytes
    note: str


def parse_log_keys(text: str) -> list[LogKey]:
    """The logs a witness serves, one a line (or ``;``-separated): a log's verifier key
    (``<name>+<key hash>+<base64>``, as ``GET /api/v1/ledger/key`` serves it; the origin is the
    key name), or ``<origin> <verifier key>`` when they differ."""
    logs = []
    for item in re.split(r"[;\n]", text):
        fields = item.split()
        if not fields:
            continue
        if len(fields) > 2:
            raise CheckpointError(f"expected '[origin] <verifier key>', got {item.strip()!r}")
        name, public_key = parse_verifier_key(fields[-1])
        logs.append(LogKey(fields[0] if len(fields) == 2 else name, name, public_key))
    return logs


class WitnessStore(Protocol):
    """Where a witness keeps its state; :meth:`replace` must be atomic (compare-and-swap)."""

    def held(self, origin: str) -> Held | None:
        """The latest checkpoint cosigned for ``origin``, if any."""
        ...

    def replace(self, origin: str, old: Held | None, new: Held) -> bool:
        """Store ``new`` if ``old`` is still what is held; whether it was stored."""
        ...

    def record_evidence(self, origin: str, kind: str, held: Held | None, submitted: bytes,
                        message: str) -> None:
        """Keep the evidence of a refused checkpoint."""
        ...


class Witness:
    """Checks ``add-checkpoint`` requests and cosigns consistent checkpoints."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey, logs: Sequence[LogKey],
                 store: WitnessStore, clock: Callable[[], float] = time.time) -> None:
        self.key = CosignerKey.of(name, private_key)
        self._private_key = private_key
        self._logs = {log.origin: log for log in logs}
        self._store = store
        self._clock = clock

    @property
    def origins(self) -> list[str]:
        """The logs this witness serves."""
        return sorted(self._logs)

    def add_checkpoint(self, body: bytes) -> str:
        """Answer one request: the cosignature line(s), or WitnessError with the status."""
        request = parse_add_checkpoint(body)
        try:
            parsed = parse_note(request.note)
            stated = note_checkpoint(request.note)
        except CheckpointError as exc:
            raise WitnessError(400, f"malformed checkpoint: {exc.message}") from None
        log = self._logs.get(stated.origin)
        if log is None:
            raise WitnessError(404, f"unknown log {stated.origin!r}")
        try:
            checkpoint = open_checkpoint(request.note, key_name=log.key_name,
                                         public_key=log.public_key, origin=log.origin)
        except CheckpointError as exc:
            raise WitnessError(403, f"no valid signature by a key trusted for "
                                    f"{log.origin}: {exc.message}") from None
        if request.old_size > checkpoint.size:
            raise WitnessError(400, f"old size {request.old_size} is larger than the "
                                    f"checkpoint's size {checkpoint.size}")
        new = Held(checkpoint.size, checkpoint.root_hash, request.note.decode())
        # Compare-and-swap: another request may update the log between our read and write.
        for _attempt in range(5):
            held = self._store.held(log.origin)
            self._check(log.origin, held, request, checkpoint, body)
            if self._store.replace(log.origin, held, new):
                timestamp = int(self._clock())
                return cosign(parsed.text, name=self.key.name, private_key=self._private_key,
                              timestamp=timestamp)
        raise WitnessError(409, "the log's checkpoint changed during the request; try again",
                           known_size=self._held_size(log.origin))

    def _held_size(self, origin: str) -> int:
        held = self._store.held(origin)
        return 0 if held is None else held.size

    def _check(self, origin: str, held: Held | None, request: AddCheckpoint,
               checkpoint: Checkpoint, body: bytes) -> None:
        known = 0 if held is None else held.size
        if request.old_size != known:
            raise WitnessError(409, f"old size {request.old_size} is not the size of the "
                                    f"latest checkpoint cosigned for {origin}, {known}",
                               known_size=known)
        if held is None or known == 0:
            if request.proof:
                raise WitnessError(400, "a consistency proof from size 0 must be empty")
            return
        if checkpoint.size == known:
            if checkpoint.root_hash != held.root_hash:
                message = (f"fork: a checkpoint of size {known} with root "
                           f"{checkpoint.root_hash.hex()}, but the witness cosigned root "
                           f"{held.root_hash.hex()} at that size")
                self._refuse(origin, "same size, another root", held, body, message)
                raise WitnessError(409, message, known_size=known,
                                   evidence=_evidence(origin, held, body, message))
            return
        try:
            merkle.verify_consistency(old_size=known, new_size=checkpoint.size,
                                      old_root=held.root_hash, new_root=checkpoint.root_hash,
                                      proof=request.proof)
        except ProofError as exc:
            message = (f"the checkpoint of size {checkpoint.size} is not proved consistent "
                       f"with the cosigned one of size {known}: {exc.message}")
            self._refuse(origin, "inconsistent", held, body, message)
            raise WitnessError(422, message,
                               evidence=_evidence(origin, held, body, message)) from None

    def _refuse(self, origin: str, kind: str, held: Held, body: bytes, message: str) -> None:
        logger.warning("witness %s refused a checkpoint of %s: %s\n%s", self.key, origin,
                       message, _evidence(origin, held, body, message))
        self._store.record_evidence(origin, kind, held, body, message)


def _evidence(origin: str, held: Held, body: bytes, message: str) -> str:
    """The refusal as text anyone can check: both signed checkpoints and the proof."""
    return (f"refused a checkpoint of {origin}: {message}\n\n"
            f"-- the checkpoint this witness cosigned --\n{held.note}\n"
            f"-- the add-checkpoint request refused --\n{body.decode(errors='replace')}")


# ---- the store ------------------------------------------------------------------------------

_METADATA = MetaData()

_LOGS = Table(
    "witness_logs", _METADATA,
    Column("origin", String(400), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

_EVIDENCE = Table(
    "witness_evidence", _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(400), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("held_note", Text, nullable=True),
    Column("submitted", Text, nullable=False),
    Column("message", Text, nullable=False),
)


@dataclass(frozen=True)
class Evidence:
    """A refused checkpoint as the store keeps it."""

    origin: str
    kind: str
    recorded_at: int
    held_note: str | None
    submitted: str
    message: str


class SqlWitnessStore:
    """The witness's state in its own tables (``witness_logs``, ``witness_evidence``), created
    on first use; each call is its own transaction, committed before it returns."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock
        try:
            _METADATA.create_all(engine)
        except DBAPIError:
            # Server processes starting together race to create the tables; the loser finds
            # them there on a second look.
            _METADATA.create_all(engine)

    def held(self, origin: str) -> Held | None:
        """The latest checkpoint cosigned for ``origin``."""
        with self._engine.connect() as connection:
            row = connection.execute(select(_LOGS.c.size, _LOGS.c.root_hash, _LOGS.c.note)
                                     .where(_LOGS.c.origin == origin)).first()
        return None if row is None else Held(row.size, row.root_hash, row.note)

    def replace(self, origin: str, old: Held | None, new: Held) -> bool:
        """Compare-and-swap: an INSERT when nothing was held, else an UPDATE guarded by the
        held size and root; a concurrent change makes it match nothing."""
        values = {"size": new.size, "root_hash": new.root_hash, "note": new.note,
                  "updated_at": int(self._clock())}
        with self._engine.begin() as connection:
            if old is None:
                try:
                    connection.execute(insert(_LOGS).values(origin=origin, **values))
                except IntegrityError:
                    return False
                return True
            changed = connection.execute(
                update(_LOGS).where(_LOGS.c.origin == origin, _LOGS.c.size == old.size,
                                    _LOGS.c.root_hash == old.root_hash).values(**values))
            return bool(changed.rowcount == 1)

    def record_evidence(self, origin: str, kind: str, held: Held | None, submitted: bytes,
                        message: str) -> None:
        """Keep a refused request with what was held."""
        with self._engine.begin() as connection:
            connection.execute(insert(_EVIDENCE).values(
                origin=origin, kind=kind, recorded_at=int(self._clock()),
                held_note=None if held is None else held.note,
                submitted=submitted.decode(errors="replace"), message=message))

    def evidence(self, origin: str | None = None) -> list[Evidence]:
        """The refusals kept, oldest first (of one log, when ``origin`` is given)."""
        query = select(_EVIDENCE.c.origin, _EVIDENCE.c.kind, _EVIDENCE.c.recorded_at,
                       _EVIDENCE.c.held_note, _EVIDENCE.c.submitted,
                       _EVIDENCE.c.message).order_by(_EVIDENCE.c.id)
        if origin is not None:
            query = query.where(_EVIDENCE.c.origin == origin)
        with self._engine.connect() as connection:
            return [Evidence(*row) for row in connection.execute(query)]
