"""A monitor: follow a remote Tracenet through its checkpoint and tiles alone, and alert on a
fork or a rewrite.

Each :meth:`Monitor.check` reads ``/checkpoint``, verifies the operator's signature (the key
pinned on first use, or given) and, if asked, ``k`` witness cosignatures; then, from the hash
tiles (:class:`~ledger.log.tiles.TileNodes`), it recomputes the signed root and proves the
checkpoint consistent with the one it verified last time; then it reads the entry bundles of
every entry since, and checks each as ``tracenet verify`` does (it hashes to its level-0 tile
leaf, links to the previous entry, is in order, and is signed by a key its enterprise held at
the time, the key ring replayed from the identity entries). Only then is the new checkpoint
saved as the state to continue from.

The state keeps every leaf hash verified so far (32 bytes an entry, in a ``.leaves`` file
beside it), so that when the log no longer extends what was verified, the first entry that
differs is named: the leaf hashes are compared with the log's level-0 tiles, skipping whole
256-entry blocks whose level-1 hash agrees.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.errors import CheckpointError, LedgerError, ProofError, VerificationError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, open_checkpoint, parse_verifier_key, verifier_key
from ledger.log.cosignature import CosignerKey, open_cosigned_checkpoint
from ledger.log.entry import GENESIS_PREV, Entry
from ledger.log.identity import IDENTITY_TYPES, KeyRing
from ledger.log.tiles import (
    ENTRIES,
    LARGE_ENTRIES,
    TILE_WIDTH,
    TileNodes,
    TileRef,
    decode_bundle,
    tile_for,
)

# The entry checks are verify's own, so a monitor and `tracenet verify` judge entries alike.
from ledger.log.verify import Chain, SignatureChecks, check_entry

__all__ = ["Fetch", "MonitorError", "MonitorReport", "MonitorState", "Monitor", "http_fetch"]

#: GETs a path below the log's URL prefix and returns the body; MonitorError when it cannot
Fetch = Callable[[str], bytes]


class MonitorError(LedgerError):
    """The monitor could not read what it needs (the log is down, a tile is missing);
    ``status`` is the HTTP status when there was an answer."""

    code = "monitor_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def http_fetch(base_url: str, *, timeout: float = 30.0) -> Fetch:
    """The real fetcher: GET ``base_url/path`` with ``urllib``, gzip accepted."""
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise MonitorError(f"expected an http(s) URL, got {base_url[:100]!r}")

    def fetch(path: str) -> bytes:
        # S310: the scheme was checked above, so no file: or custom scheme gets here.
        request = urllib.request.Request(f"{base}/{path}", headers={  # noqa: S310
            "Accept-Encoding": "gzip, identity", "User-Agent": "Tracenet-Monitor/1"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                data: bytes = response.read()
                if response.headers.get("Content-Encoding") == "gzip":
                    data = gzip.decompress(data)
                return data
        except urllib.error.HTTPError as exc:
            raise MonitorError(f"GET {base}/{path}: HTTP {exc.code} "
                               f"{exc.read(300).decode(errors='replace')}",
                               status=exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise MonitorError(f"GET {base}/{path}: {exc}") from None

    return fetch


@dataclass
class MonitorState:
    """What the monitor verified last: the checkpoint, and what continuing from it needs."""

    vkey: str  # the operator's verifier key, pinned
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    note: str = ""
    prev: bytes = GENESIS_PREV
    prev_recorded_at: str = ""
    frontier: list[bytes] = field(default_factory=list)
    #: the identity entries so far (their canonical bytes), replayed into a key ring
    identity: list[bytes] = field(default_factory=list)
    #: every leaf hash verified, 32 bytes each
    leaves: bytearray = field(default_factory=bytearray)

    def save(self, path: Path) -> None:
        """Write the state (JSON) and its leaf hashes (``<path>.leaves``), each atomically."""
        b64 = base64.b64encode
        document = {"vkey": self.vkey, "size": self.size, "root": b64(self.root).decode(),
                    "note": self.note, "prev": self.prev.hex(),
                    "prev_recorded_at": self.prev_recorded_at,
                    "frontier": [b64(h).decode() for h in self.frontier],
                    "identity": [b64(body).decode() for body in self.identity]}
        _write_atomically(Path(f"{path}.leaves"), bytes(self.leaves))
        _write_atomically(path, json.dumps(document, indent=1).encode())

    @classmethod
    def load(cls, path: Path) -> MonitorState:
        """Read a state written by :meth:`save`."""
        try:
            document: dict[str, Any] = json.loads(path.read_text())
            leaves = bytearray(Path(f"{path}.leaves").read_bytes())
            state = cls(document["vkey"], int(document["size"]),
                        base64.b64decode(document["root"]), document["note"],
                        bytes.fromhex(document["prev"]), document["prev_recorded_at"],
                        [base64.b64decode(h) for h in document["frontier"]],
                        [base64.b64decode(body) for body in document["identity"]], leaves)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MonitorError(f"cannot read the monitor state {path}: {exc}") from None
        if len(state.leaves) != merkle.HASH_SIZE * state.size:
            raise MonitorError(f"{path}.leaves holds {len(state.leaves) // 32} leaf hashes, "
                               f"the state {state.size}")
        return state


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


@dataclass(frozen=True)
class MonitorReport:
    """One check: the sizes verified from and to, and how many entries were new."""

    origin: str
    old_size: int
    size: int
    root: bytes
    cosignatures: int

    @property
    def entries(self) -> int:
        """How many entries this check verified."""
        return self.size - self.old_size


class Monitor:
    """Follows one log: ``fetch`` reads it, ``state`` is what was verified so far (None for a
    first look, which pins ``vkey``, or the key fetched from the log when none is given)."""

    def __init__(self, fetch: Fetch, state: MonitorState | None, *, vkey: str | None = None,
                 witnesses: Sequence[CosignerKey] = (), min_cosignatures: int = 0,
                 jobs: int = 1) -> None:
        self._fetch = fetch
        self.state = state
        self._vkey = vkey
        self._witnesses = list(witnesses)
        self._min_cosignatures = min_cosignatures
        self._jobs = jobs

    def check(self, progress: Callable[[int], None] | None = None) -> MonitorReport:
        """Verify the log's latest checkpoint and every entry since the last check; update
        :attr:`state` only if all of it holds. VerificationError names the first bad or
        differing seq; MonitorError when the log cannot be read."""
        state = self.state or MonitorState(self._pinned_key())
        if self._vkey is not None and self._vkey != state.vkey:
            raise VerificationError(None, "checkpoint", f"the operator key given, {self._vkey}, "
                                    f"is not the one pinned, {state.vkey}")
        origin, public_key = parse_verifier_key(state.vkey)
        note = self._fetch("checkpoint").decode(errors="replace")
        try:
            opened = open_cosigned_checkpoint(note, key_name=origin, public_key=public_key,
                                              origin=origin, witnesses=self._witnesses,
                                              min_cosignatures=self._min_cosignatures)
        except CheckpointError as exc:
            if self._witnesses:
                # A rewrite re-signed by the operator also breaks the witnesses' cosignatures:
                # name the first entry that differs, if the operator's signature holds.
                self._raise_any_rewrite(state, note, origin, public_key)
            raise VerificationError(state.size, "checkpoint",
                                    f"the log's checkpoint: {exc.message}") from None
        checkpoint = opened.checkpoint
        tiles = self._extends(state, checkpoint)
        new = self._verify_entries(state, tiles, checkpoint.size, public_key, progress)
        if new.root != checkpoint.root_hash:  # pragma: no cover - the leaves are the tiles'
            raise VerificationError(state.size, "tree", "the entries do not hash to the root")
        new.note = note
        self.state = new
        return MonitorReport(origin, state.size, checkpoint.size, checkpoint.root_hash,
                             len(opened.cosignatures))

    def _raise_any_rewrite(self, state: MonitorState, note: str, origin: str,
                           public_key: Ed25519PublicKey) -> None:
        """Raise the rewrite alert if the operator-signed ``note`` does not extend ``state``;
        return if its signature does not hold or it does extend it (or cannot be read)."""
        try:
            checkpoint = open_checkpoint(note, key_name=origin, public_key=public_key,
                                         origin=origin)
            self._extends(state, checkpoint)
        except (CheckpointError, MonitorError):
            return

    def _extends(self, state: MonitorState, checkpoint: Checkpoint) -> TileNodes:
        """The tiles of ``checkpoint``'s tree, once they hash to its root and it is proved
        consistent with ``state``; else the rewrite alert naming the first entry that differs."""
        tiles = TileNodes(self._tile, checkpoint.size)
        if checkpoint.size < state.size:
            raise self._rewritten(state, tiles, f"the log's checkpoint is at size "
                                  f"{checkpoint.size}, smaller than the {state.size} verified")
        try:
            root = merkle.tree_root(tiles, checkpoint.size)
        except ProofError as exc:
            raise MonitorError(f"the tiles of the tree of {checkpoint.size}: {exc}") from None
        if root != checkpoint.root_hash:
            raise self._rewritten(state, tiles, f"the tiles hash to {root.hex()}, not to the "
                                  f"signed root {checkpoint.root_hash.hex()}")
        if state.size:
            proof = merkle.consistency_proof(tiles, state.size, checkpoint.size)
            try:
                merkle.verify_consistency(old_size=state.size, new_size=checkpoint.size,
                                          old_root=state.root, new_root=checkpoint.root_hash,
                                          proof=proof)
            except ProofError as exc:
                raise self._rewritten(state, tiles, f"the checkpoint at size "
                                      f"{checkpoint.size} is not consistent with the one at "
                                      f"size {state.size} verified before ({exc})") from None
        return tiles

    def _pinned_key(self) -> str:
        if self._vkey is not None:
            return self._vkey
        vkey = self._fetch("api/v1/ledger/key").decode(errors="replace").strip()
        try:
            name, public_key = parse_verifier_key(vkey)
        except CheckpointError as exc:
            raise MonitorError(f"the log's verifier key: {exc.message}") from None
        return verifier_key(name, public_key)

    def _tile(self, ref: TileRef) -> bytes:
        return self._fetch(ref.path)

    def _bundle(self, ref: TileRef) -> list[bytes]:
        """The entries of a bundle; the uint32-framed one when an entry is too long for the
        standard bundle (which is then not found)."""
        try:
            return decode_bundle(self._fetch(ref.path))
        except MonitorError as exc:
            if exc.status != 404:
                raise
        large = TileRef(LARGE_ENTRIES, ref.index, ref.width)
        return decode_bundle(self._fetch(large.path), prefix=4)

    def _verify_entries(self, state: MonitorState, tiles: TileNodes, size: int,
                        public_key: Ed25519PublicKey,
                        progress: Callable[[int], None] | None) -> MonitorState:
        ring = KeyRing()
        for body in state.identity:
            ring.admit(Entry.from_canonical(body))
        chain = Chain(merkle.CompactRange(state.size, state.frontier), state.prev,
                       state.prev_recorded_at, ring)
        leaves = bytearray(state.leaves)
        identity = list(state.identity)
        first_problem: tuple[int, str, str] | None = None
        with SignatureChecks(self._jobs) as checks:
            seq = state.size
            while seq < size and first_problem is None:
                ref = tile_for(ENTRIES, seq // TILE_WIDTH, size)
                assert ref is not None  # noqa: S101 - seq < size
                bundle = self._bundle(ref)
                hashes = tiles.tile(0, ref.index)
                if len(bundle) != ref.width:
                    raise VerificationError(ref.first(), "missing entry", f"{ref.path} holds "
                                            f"{len(bundle)} entries, expected {ref.width}")
                for offset in range(seq - ref.first(), ref.width):
                    body, leaf = bundle[offset], hashes[offset]
                    problem, entry = check_entry(seq, seq, leaf, body, chain, public_key,
                                                  checks)
                    if problem is not None or entry is None:
                        if problem is not None:
                            first_problem = (problem.seq, problem.kind, problem.message)
                        break
                    chain.tree.append(entry.leaf_hash)
                    chain.prev, chain.prev_recorded_at = entry.leaf_hash, entry.recorded_at
                    leaves += entry.leaf_hash
                    if entry.statement.type in IDENTITY_TYPES:
                        identity.append(entry.canonical)
                    seq += 1
                checks.poll()
                if checks.bad is not None:
                    break
                if progress is not None:
                    progress(seq - state.size)
            bad = checks.finish()
        if bad is not None and (first_problem is None or bad <= first_problem[0]):
            first_problem = (bad, "signature", "signature does not verify")
        if first_problem is not None:
            raise VerificationError(*first_problem)
        keys = merkle.frontier_keys(size)
        nodes = tiles.read_nodes(keys)  # the tree's right edge, to continue from next time
        return MonitorState(state.vkey, size, chain.tree.root(), "", chain.prev,
                            chain.prev_recorded_at, [nodes[key] for key in keys], identity,
                            leaves)

    def _rewritten(self, state: MonitorState, tiles: TileNodes, why: str) -> VerificationError:
        """The alert for a log that no longer extends what was verified, naming the first
        entry whose leaf hash differs from the one verified (or the first one gone)."""
        said = f"history was rewritten: {why}"
        common = min(state.size, tiles.tree_size)
        leaves = [bytes(state.leaves[i:i + 32]) for i in range(0, 32 * common, 32)]
        try:
            first = _first_difference(leaves, tiles)
        except ProofError as exc:
            return VerificationError(0, "rewritten", f"{said}; its tiles cannot be read to "
                                     f"find the first entry that differs: {exc}")
        if first is not None:
            served = tiles.tile(0, first // TILE_WIDTH)[first % TILE_WIDTH]
            return VerificationError(first, "rewritten", f"{said}; entry {first} is the first "
                                     f"that differs: verified with leaf hash "
                                     f"{leaves[first].hex()}, the log now serves "
                                     f"{served.hex()}")
        if common < state.size:
            return VerificationError(common, "rewritten", f"{said}; entries from {common} "
                                     f"on are gone")
        return VerificationError(common, "rewritten", f"{said}; the entries verified all "
                                 f"match, the tree above them does not")


def _first_difference(leaves: Sequence[bytes], tiles: TileNodes) -> int | None:
    """The first index where ``leaves`` differ from the tiles' leaf hashes, or None.

    Whole 256-leaf blocks are compared by their level-1 tile hash first, so only the block
    that differs is read leaf by leaf.
    """
    blocks = len(leaves) // TILE_WIDTH
    for block in range(blocks + 1):
        start = block * TILE_WIDTH
        mine = leaves[start:start + TILE_WIDTH]
        if not mine:
            break
        if len(mine) == TILE_WIDTH and block < tiles.tree_size >> 8:
            served_block = tiles.tile(1, block // TILE_WIDTH)[block % TILE_WIDTH]
            if served_block == merkle.root_from_leaf_hashes(mine):
                continue
        served = tiles.tile(0, block)
        for offset, leaf in enumerate(mine):
            if served[offset] != leaf:
                return start + offset
    return None
