"""The log's side of witnessing: submit each new checkpoint to the configured witnesses, keep
their cosignatures, publish the cosigned note.

:class:`Cosigner` runs in the worker process (``tracenet worker``), never in a request: an
append signs its checkpoint and returns, and the worker, polling, sends the latest checkpoint
to every witness that has not cosigned it, with a consistency proof from the size that witness
last cosigned (learned from its ``409`` answer when unknown). Only the latest checkpoint is
sent: a witness needs no intermediate ones, the proof covers the gap.

Witnesses are configured as ``TRACENET_WITNESSES``: entries separated by ``;`` or newlines,
each ``<witness verifier key> <URL prefix>``, e.g.
``witness.example.org/w1+1a2b3c4d+BAx...= https://witness.example.org``.
"""

from __future__ import annotations

import http.client
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.errors import CheckpointError, LedgerError, NotFoundError
from ledger.log.cosignature import CosignerKey, find_cosignatures, parse_cosigner_key
from ledger.log.proofs import consistency_proof
from ledger.log.storage import CheckpointRow, CosignatureRow
from ledger.log.witness import encode_add_checkpoint

__all__ = [
    "Cosigner",
    "Reply",
    "Sender",
    "Submission",
    "WitnessEndpoint",
    "cosigned_note",
    "http_post",
    "parse_witnesses",
    "published_checkpoint",
    "run_cosigner",
]

logger = logging.getLogger("tracenet.witnessing")

SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log submits to: its key and its submission URL prefix."""

    key: CosignerKey
    url: str


def parse_witnesses(text: str) -> list[WitnessEndpoint]:
    """``TRACENET_WITNESSES``: ``<verifier key> <URL>`` entries, ``;``- or line-separated."""
    witnesses = []
    for item in re.split(r"[;\n]", text):
        fields = item.split()
        if not fields:
            continue
        if len(fields) != 2 or urlsplit(fields[1]).scheme not in ("http", "https"):
            raise CheckpointError(f"expected '<witness verifier key> <http(s) URL>', got "
                                  f"{item.strip()[:120]!r}")
        witnesses.append(WitnessEndpoint(parse_cosigner_key(fields[0]), fields[1].rstrip("/")))
    return witnesses


@dataclass(frozen=True)
class Reply:
    """A witness's answer: status, content type and body."""

    status: int
    content_type: str
    body: bytes


class Sender(Protocol):
    """POSTs ``body`` to ``url`` and returns the reply; raises OSError when none came."""

    def __call__(self, url: str, body: bytes, *, timeout: float) -> Reply: ...


def http_post(url: str, body: bytes, *, timeout: float) -> Reply:
    """The real sender: one POST with ``http.client``, no redirects followed."""
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname or "", parts.port or 443,
                                                 timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80,
                                                timeout=timeout)
    try:
        connection.request("POST", parts.path or "/", body=body,
                           headers={"Content-Type": "text/plain; charset=utf-8",
                                    "User-Agent": "Tracenet-Log/1"})
        response = connection.getresponse()
        # A witness's answer is a few signature lines; never read an unbounded body.
        return Reply(response.status, response.getheader("Content-Type") or "",
                     response.read(64 * 1024))
    finally:
        connection.close()


@dataclass(frozen=True)
class Submission:
    """What one submission to one witness came to (for the worker's log and for tests)."""

    witness: str
    size: int
    outcome: str  # cosigned, up to date, refused, unreachable
    detail: str = ""

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"witness {self.witness}, checkpoint {self.size}: {self.outcome}{detail}"


class Cosigner:
    """Submits the ledger's latest checkpoint to each witness and stores the cosignatures."""

    def __init__(self, sessions: SessionFactory, witnesses: Sequence[WitnessEndpoint], *,
                 send: Sender = http_post, timeout: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, max_backoff: float = 60.0) -> None:
        self._sessions = sessions
        self._witnesses = list(witnesses)
        self._send = send
        self._timeout = timeout
        self._clock = clock
        self._max_backoff = max_backoff
        #: the size each witness holds, as it told us (409) or as it cosigned
        self._known: dict[str, int] = {}
        #: the checkpoint size each witness refused: not sent again until a newer one
        self._refused: dict[str, int] = {}
        #: for a witness that did not answer: (when to try again, the delay that led there)
        self._backoff: dict[str, tuple[float, float]] = {}

    def round(self) -> list[Submission]:
        """Bring every witness up to the latest checkpoint, once; what happened to each.

        A witness that refused the latest checkpoint is not asked about it again; one that
        did not answer is asked again after a delay doubling up to ``max_backoff`` seconds.
        """
        now = self._clock()
        with self._sessions() as session:
            latest = session.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc())
                                     .limit(1)).first()
            if latest is None or latest.size == 0:
                return []
            done = set(session.scalars(select(CosignatureRow.witness)
                                       .where(CosignatureRow.size == latest.size)))
            due = [w for w in self._witnesses
                   if str(w.key) not in done and self._refused.get(str(w.key)) != latest.size
                   and self._backoff.get(str(w.key), (now, 0.0))[0] <= now]
            submissions = [self._submit(session, witness, latest) for witness in due]
            session.commit()
        for submission in submissions:
            name = submission.witness
            if submission.outcome == "unreachable":
                delay = min(max(2 * self._backoff.get(name, (now, 0.5))[1], 1.0),
                            self._max_backoff)
                self._backoff[name] = (now + delay, delay)
                logger.warning("%s; trying again in %.0f s", submission, delay)
                continue
            self._backoff.pop(name, None)
            if submission.outcome == "refused":
                self._refused[name] = submission.size
                logger.error("%s", submission)
            else:
                logger.info("%s", submission)
        return submissions

    def _known_size(self, session: Session, witness: WitnessEndpoint) -> int:
        name = str(witness.key)
        if name not in self._known:
            self._known[name] = session.scalar(
                select(func.max(CosignatureRow.size)).where(CosignatureRow.witness == name)) or 0
        return self._known[name]

    def _submit(self, session: Session, witness: WitnessEndpoint,
                checkpoint: CheckpointRow) -> Submission:
        name, size = str(witness.key), checkpoint.size
        for _attempt in range(3):
            old = self._known_size(session, witness)
            if old > size:
                return Submission(name, size, "refused", f"the witness holds a tree of {old} "
                                  f"entries, larger than the ledger's latest checkpoint")
            proof = consistency_proof(session, old, size).hashes if 0 < old < size else []
            body = encode_add_checkpoint(old, proof, checkpoint.note)
            try:
                reply = self._send(f"{witness.url}/add-checkpoint", body, timeout=self._timeout)
            except OSError as exc:
                return Submission(name, size, "unreachable", f"{type(exc).__name__}: {exc}")
            text = reply.body.decode(errors="replace").strip()
            if reply.status == 200:
                return self._keep(session, witness, checkpoint, reply.body)
            if reply.status == 409 and reply.content_type.startswith("text/x.tlog.size"):
                held = int(text) if text.isdigit() else None
                if held is None or held == old:  # same size, another root: a fork
                    return Submission(name, size, "refused", f"409 at size {old}: the "
                                      f"witness holds another tree of this size")
                self._known[name] = held  # it holds another size: prove from that one
                continue
            return Submission(name, size, "refused", f"HTTP {reply.status}: {text[:2000]}")
        return Submission(name, size, "refused", "the witness's size kept changing")

    def _keep(self, session: Session, witness: WitnessEndpoint, checkpoint: CheckpointRow,
              answer: bytes) -> Submission:
        name = str(witness.key)
        try:
            found = find_cosignatures(checkpoint.note + answer.decode(), [witness.key])
        except (LedgerError, UnicodeDecodeError) as exc:
            return Submission(name, checkpoint.size, "refused", f"a bad cosignature: {exc}")
        if not found:
            return Submission(name, checkpoint.size, "refused",
                              "the answer holds no cosignature by this witness")
        cosignature = found[0]
        session.merge(CosignatureRow(size=checkpoint.size, witness=name,
                                     timestamp=cosignature.timestamp, line=cosignature.line))
        self._known[name] = checkpoint.size
        return Submission(name, checkpoint.size, "cosigned")


def run_cosigner(cosigner: Cosigner, *, stop: threading.Event, poll: float = 1.0) -> None:
    """Call :meth:`Cosigner.round` every ``poll`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            cosigner.round()
        except Exception:  # noqa: BLE001 - a passing database error must not end the loop
            logger.exception("cosigning round failed; trying again")
        stop.wait(poll)


def cosigned_note(session: Session, size: int, note: str) -> str:
    """``note`` (the checkpoint at ``size``) with the cosignature lines kept for it."""
    lines = session.scalars(select(CosignatureRow.line).where(CosignatureRow.size == size)
                            .order_by(CosignatureRow.witness)).all()
    return note + "".join(lines)


def published_checkpoint(session: Session, latest: Callable[[], str],
                         min_cosignatures: int = 0) -> str:
    """The checkpoint to publish, with its cosignatures: the latest one (``latest()``) when
    ``min_cosignatures`` is 0, else the latest one that many witnesses cosigned."""
    if min_cosignatures <= 0:
        note = latest()
        size = int(note.split("\n", 2)[1])
        return cosigned_note(session, size, note)
    cosigned = session.scalar(
        select(CosignatureRow.size).group_by(CosignatureRow.size)
        .having(func.count() >= min_cosignatures)
        .order_by(CosignatureRow.size.desc()).limit(1))
    row = None if cosigned is None else session.get(CheckpointRow, cosigned)
    if row is None:
        raise NotFoundError(f"no checkpoint has {min_cosignatures} witness cosignatures yet",
                            field="min_cosignatures")
    return cosigned_note(session, row.size, row.note)
