"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification (SHA-256).

The persisted tree keeps only *perfect subtrees* ("nodes"): node ``(level, index)`` is the hash
of leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hash itself. A node
never changes once complete, so a store holds fewer than ``2n`` hashes, and every hash an RFC
6962 proof asks for -- a perfect subtree or the ragged right edge of one -- is the fold of at
most ``log2(n) + 1`` stored nodes.

Proof generation is split in two: a pure step works out every node key the proof needs, a
single :meth:`NodeReader.read_nodes` call fetches them (one SQL ``IN`` query), and a second pure
step folds them into the proof. Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 and
is strict: every hash must be exactly :data:`HASH_SIZE` bytes and there is no consistency proof
from the empty tree.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from hashlib import sha256
from typing import Protocol

from ledger.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "NodeKey",
    "NodeReader",
    "consistency_proof",
    "consistency_ranges",
    "fold_range",
    "frontier_keys",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "multi_inclusion_ranges",
    "node_hash",
    "range_hashes",
    "range_keys",
    "root_from_leaf_hashes",
    "root_from_multi_inclusion",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()

# Domain-separation prefixes (RFC 6962 section 2.1) keep a leaf from ever passing as a node.
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

NodeKey = tuple[int, int]
"""``(level, index)`` of a stored perfect subtree."""

_Range = tuple[int, int]  # [start, end) in leaf positions


class NodeReader(Protocol):
    """Read access to stored nodes."""

    def read_nodes(self, keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        """Return the stored hash of each key that exists; missing keys may simply be absent."""
        ...


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || data)``."""
    return sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return MTH over already-hashed leaves (``EMPTY_ROOT`` for none).

    Pairing level by level and carrying an odd last node up unchanged gives exactly the tree of
    RFC 6962's "largest power of two smaller than n" split, without recursion.
    """
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def range_keys(start: int, end: int) -> list[NodeKey]:
    """Return, left to right, the stored nodes whose fold is MTH(D[start:end]).

    MTH splits a range of size n at the largest power of two k < n, and the remainder again,
    so the pieces are the set bits of n from the highest down. Each piece is a stored node as
    long as ``start`` is a multiple of the largest piece, which holds for every range RFC 6962
    proofs use (and for ``start == 0``).
    """
    size = end - start
    if size < 0:
        raise ValueError(f"range [{start}, {end}) is reversed")
    if size and start % (1 << (size.bit_length() - 1)):
        raise ValueError(f"range [{start}, {end}) is not aligned to stored nodes")
    keys: list[NodeKey] = []
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def fold_range(hashes: Sequence[bytes]) -> bytes:
    """Fold the node hashes of :func:`range_keys` (left to right) into the range's MTH.

    Folding from the right mirrors MTH: the smallest trailing pieces join first.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def frontier_keys(size: int) -> list[NodeKey]:
    """Return the nodes covering ``[0, size)``, left to right: a :class:`CompactRange`'s state."""
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    return range_keys(0, size)


def _split(size: int) -> int:
    """Largest power of two strictly smaller than ``size`` (``size >= 2``)."""
    return 1 << ((size - 1).bit_length() - 1)


def range_hashes(reader: NodeReader, ranges: Sequence[_Range]) -> list[bytes]:
    """Return MTH of each range, fetching every node they need in one ``read_nodes`` call.

    Callers combine ranges to answer in one fetch: a leaf, a root and a proof's path, say.
    """
    per_range = [range_keys(start, end) for start, end in ranges]
    # dict.fromkeys de-duplicates while keeping a stable order for the reader.
    wanted = list(dict.fromkeys(key for keys in per_range for key in keys))
    nodes = reader.read_nodes(wanted) if wanted else {}
    for key in wanted:
        node = nodes.get(key)
        if node is None:
            raise ProofError(f"missing node {key}")
        if len(node) != HASH_SIZE:
            raise ProofError(f"node {key}: expected {HASH_SIZE} bytes, got {len(node)}")
    return [fold_range([nodes[key] for key in keys]) for keys in per_range]


def tree_root(reader: NodeReader, size: int) -> bytes:
    """Return MTH of the first ``size`` leaves from stored nodes (``EMPTY_ROOT`` for 0)."""
    if size < 0:
        raise ProofError(f"tree size: expected >= 0, got {size}")
    return range_hashes(reader, [(0, size)])[0] if size else EMPTY_ROOT


def inclusion_ranges(index: int, size: int) -> list[_Range]:
    """Return the ranges whose MTHs are PATH(index, D[size]), leaf side first (RFC 6962 2.1.1)."""
    siblings: list[_Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            siblings.append((mid, hi))
            hi = mid
        else:
            siblings.append((lo, mid))
            lo = mid
    # Descending from the root meets siblings top-down; the proof lists them bottom-up.
    return siblings[::-1]


def inclusion_proof(reader: NodeReader, index: int, size: int) -> list[bytes]:
    """Return the RFC 6962 inclusion proof PATH(index, D[size])."""
    if size <= 0:
        raise ProofError(f"tree size: expected > 0, got {size}")
    if not 0 <= index < size:
        raise ProofError(f"leaf index: expected 0 <= index < {size}, got {index}")
    return range_hashes(reader, inclusion_ranges(index, size))


def multi_inclusion_ranges(indices: Collection[int], size: int) -> list[_Range]:
    """The ranges, left to right, whose MTHs together with the leaves at ``indices`` give
    MTH(D[size]): the subtrees beside the paths from those leaves to the root, each once.

    One proof for many leaves: about ``k * log2(size / k)`` ranges for ``k`` leaves, where
    separate inclusion proofs would take ``k * log2(size)``.
    """
    targets = sorted(set(indices))
    if targets and not (0 <= targets[0] and targets[-1] < size):
        raise ProofError(f"leaf index: expected 0 <= index < {size}, got {targets}")
    ranges: list[_Range] = []

    def walk(lo: int, hi: int, first: int, last: int) -> None:
        if first == last:
            ranges.append((lo, hi))
        elif hi - lo > 1:
            mid = lo + _split(hi - lo)
            cut = bisect_left(targets, mid, first, last)
            walk(lo, mid, first, cut)
            walk(mid, hi, cut, last)

    if size > 0:
        walk(0, size, 0, len(targets))
    return ranges


def root_from_multi_inclusion(size: int, leaves: Mapping[int, bytes],
                              hashes: Sequence[bytes]) -> bytes:
    """MTH(D[size]) from the leaf hashes at their indices and the MTHs of
    :func:`multi_inclusion_ranges` over those indices, in order; ProofError when the hashes
    are too few, too many or of the wrong size."""
    targets = sorted(leaves)
    for value in [*leaves.values(), *hashes]:
        _check_hash("hash", value)
    expected = len(multi_inclusion_ranges(targets, size))
    if len(hashes) != expected:
        raise ProofError(f"multi-leaf proof: expected {expected} hashes, got {len(hashes)}")
    given = iter(hashes)

    def fold(lo: int, hi: int, first: int, last: int) -> bytes:
        if first == last:
            return next(given)
        if hi - lo == 1:
            return leaves[targets[first]]
        mid = lo + _split(hi - lo)
        cut = bisect_left(targets, mid, first, last)
        return node_hash(fold(lo, mid, first, cut), fold(mid, hi, cut, last))

    return fold(0, size, 0, len(targets)) if size else EMPTY_ROOT


def consistency_ranges(old_size: int, new_size: int) -> list[_Range]:
    """Return the ranges whose MTHs are PROOF(old_size, D[new_size]) (RFC 6962 2.1.2)."""
    siblings: list[_Range] = []
    lo, hi = 0, new_size
    whole_old_tree = True  # SUBPROOF's b: the old tree is still a prefix-rooted subtree
    while hi != old_size:
        mid = lo + _split(hi - lo)
        if old_size <= mid:
            siblings.append((mid, hi))
            hi = mid
        else:
            siblings.append((lo, mid))
            lo = mid
            whole_old_tree = False
    # The verifier already holds the old root, so it is sent only when the old tree is not
    # itself one of the subtrees met on the way down.
    head = [] if whole_old_tree else [(lo, hi)]
    return head + siblings[::-1]


def consistency_proof(reader: NodeReader, old_size: int, new_size: int) -> list[bytes]:
    """Return the RFC 6962 consistency proof PROOF(old_size, D[new_size])."""
    if old_size <= 0:
        raise ProofError(f"old size: expected > 0, got {old_size}")
    if old_size > new_size:
        raise ProofError(f"old size: expected <= new size {new_size}, got {old_size}")
    return range_hashes(reader, consistency_ranges(old_size, new_size))


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what}: expected {HASH_SIZE} bytes, got {len(value)}")


def _check_proof(proof: Sequence[bytes], expected: int) -> None:
    if len(proof) != expected:
        raise ProofError(f"proof length: expected {expected} hashes, got {len(proof)}")
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)


def _check_root(what: str, expected: bytes, got: bytes) -> None:
    if got != expected:
        raise ProofError(f"{what}: expected {expected.hex()}, got {got.hex()}")


def _inclusion_length(index: int, last: int) -> int:
    """Length of PATH for leaf ``index`` in a tree whose last leaf is ``last``.

    Below the level where the paths to ``index`` and ``last`` meet, every level has a sibling;
    above it, only the levels where ``index`` is a right child do.
    """
    inner = (index ^ last).bit_length()
    return inner + (index >> inner).bit_count()


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof (RFC 9162 section 2.1.3.2); raise ProofError if it fails."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index: expected 0 <= index < {size}, got {index}")
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    # Checking the length up front makes the RFC's "sn == 0" checks unreachable and gives a
    # precise message instead of a root mismatch.
    _check_proof(proof, _inclusion_length(index, size - 1))
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # Levels where we are the last, lone node have no sibling in the proof.
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    _check_root("root", root, r)


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof (RFC 9162 section 2.1.4.2); raise ProofError if it fails."""
    if old_size <= 0:
        # Every tree extends the empty one, so such a "proof" would vouch for nothing.
        raise ProofError(f"old size: expected > 0, got {old_size}")
    if old_size > new_size:
        raise ProofError(f"old size: expected <= new size {new_size}, got {old_size}")
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    if old_size == new_size:
        _check_proof(proof, 0)
        _check_root("new root", old_root, new_root)
        return
    # Levels below the old tree's last complete subtree are shared and never appear.
    shift = (old_size & -old_size).bit_length() - 1
    fn, sn = (old_size - 1) >> shift, (new_size - 1) >> shift
    seeded = old_size == 1 << shift  # old tree is a perfect subtree: its root starts the walk
    _check_proof(proof, (0 if seeded else 1) + _inclusion_length(fn, sn))
    path = [old_root, *proof] if seeded else list(proof)
    fr = sr = path[0]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    _check_root("old root", old_root, fr)
    _check_root("new root", new_root, sr)


class CompactRange:
    """The right edge ("frontier") of a growing tree: the roots of the nodes covering ``[0, size)``.

    It holds at most ``log2(size) + 1`` hashes, largest subtree first, and is enough both to
    compute the root and to produce every node completed by the next leaf.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Rebuild from the hashes of :func:`frontier_keys(size) <frontier_keys>`, in order."""
        expected = len(frontier_keys(size))
        if len(hashes) != expected:
            raise ProofError(f"frontier({size}): expected {expected} hashes, got {len(hashes)}")
        for i, h in enumerate(hashes):
            _check_hash(f"frontier[{i}]", h)
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> list[tuple[NodeKey, bytes]]:
        """Add a leaf; return every node it completes, the leaf node ``(0, index)`` first."""
        _check_hash("leaf hash", leaf_hash)
        index = self._size
        h, level = leaf_hash, 0
        completed: list[tuple[NodeKey, bytes]] = [((0, index), h)]
        # Each trailing 1-bit of the old size is a complete left sibling waiting on the stack;
        # merging them is the binary carry, so n appends cost fewer than 2n hashes in total.
        while index >> level & 1:
            h = node_hash(self._hashes.pop(), h)
            level += 1
            completed.append(((level, index >> level), h))
        self._hashes.append(h)
        self._size += 1
        return completed

    def append_subtree(self, level: int, root: bytes) -> list[tuple[NodeKey, bytes]]:
        """Add a complete subtree of ``2**level`` leaves by its root (the size must be a
        multiple of it); return every node it completes, its own ``(level, index)`` first."""
        _check_hash("subtree root", root)
        if self._size % (1 << level):
            raise ProofError(f"a subtree of level {level} cannot start at size {self._size}")
        index, h, up = self._size >> level, root, 0
        completed: list[tuple[NodeKey, bytes]] = [((level, index), h)]
        while index >> up & 1:  # the same binary carry as append, from ``level`` up
            h = node_hash(self._hashes.pop(), h)
            up += 1
            completed.append(((level + up, index >> up), h))
        self._hashes.append(h)
        self._size += 1 << level
        return completed

    def frontier(self) -> list[bytes]:
        """The hashes of :func:`frontier_keys(size) <frontier_keys>`, largest subtree first."""
        return list(self._hashes)

    def root(self) -> bytes:
        """Return MTH of the leaves so far (``EMPTY_ROOT`` when empty)."""
        return fold_range(self._hashes)
