"""The proofs' cache of immutable tree nodes answers exactly as storage does, even after a
rewrite behind the append-only triggers (the anchor leaf empties it)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ledger import log
from ledger.log import merkle
from ledger.log.storage import NodeCache, SessionNodes, cached_nodes
from tests.ledger.conftest import Producer, append, enrol


class Store:
    """Stored nodes of a tree over ``leaves``, as the tables would hold them; counts reads."""

    def __init__(self) -> None:
        self.nodes: dict[merkle.NodeKey, bytes] = {}
        self.reads = 0

    def build(self, leaves: list[bytes]) -> None:
        tree = merkle.CompactRange()
        self.nodes = {}
        for leaf in leaves:
            self.nodes.update(tree.append(leaf))

    def read_nodes(self, keys: Collection[merkle.NodeKey]) -> Mapping[merkle.NodeKey, bytes]:
        self.reads += len(keys)
        return {key: self.nodes[key] for key in keys if key in self.nodes}


def chain(count: int, tag: bytes = b"", kept: list[bytes] | None = None) -> list[bytes]:
    """Leaf hashes of a hash chain: each commits to the one before it, as entries do in the
    log, so changing one changes every one after it. ``kept`` leaves stay as they are and the
    chain goes on from the last of them."""
    leaves = list(kept or [])
    prev = leaves[-1] if leaves else b""
    for i in range(len(leaves), count):
        prev = merkle.leaf_hash(prev + tag + i.to_bytes(4, "big"))
        leaves.append(prev)
    return leaves


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    """Grow, prove, and now and then rewrite from some seq (keeping the chain whole)."""
    steps = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["grow", "prove", "prove", "prove", "rewrite"]))
        steps.append((kind, draw(st.integers(1, 40)), draw(st.integers(0, 10**6))))
    return steps


@settings(max_examples=150, deadline=None)
@given(histories())
def test_cached_proofs_equal_uncached(steps: list[tuple[str, int, int]]) -> None:
    cache, store = NodeCache(limit=60), Store()
    leaves = chain(1)
    store.build(leaves)
    for kind, amount, pick in steps:
        if kind == "grow":
            leaves = chain(len(leaves) + amount, kept=leaves)
        elif kind == "rewrite":
            start = pick % len(leaves)
            # The rewritten chain goes on from the leaf kept before ``start``, as a real
            # rewrite must, so its last leaf (the cache's anchor) always changes.
            leaves = chain(len(leaves), tag=bytes([pick % 251]), kept=leaves[:start])
        store.build(leaves)
        size = 1 + pick % len(leaves)
        index, old = pick % size, 1 + (pick // 7) % size
        cached = _Reader(cache, store, (len(leaves), leaves[-1]))
        assert merkle.inclusion_proof(cached, index, size) == \
            merkle.inclusion_proof(store, index, size)
        assert merkle.range_hashes(cached, merkle.consistency_ranges(old, size)) == \
            merkle.range_hashes(store, merkle.consistency_ranges(old, size))
        assert merkle.tree_root(cached, size) == merkle.root_from_leaf_hashes(leaves[:size])


class _Reader:
    def __init__(self, cache: NodeCache, store: Store, head: tuple[int, bytes]) -> None:
        self.cache, self.store, self.head = cache, store, head

    def read_nodes(self, keys: Collection[merkle.NodeKey]) -> Mapping[merkle.NodeKey, bytes]:
        return self.cache.read(self.store, keys, self.head)


def test_a_warm_cache_reads_nothing_until_the_head_moves() -> None:
    cache, store = NodeCache(), Store()
    leaves = chain(1000)
    store.build(leaves)
    merkle.inclusion_proof(_Reader(cache, store, (1000, leaves[-1])), 377, 1000)
    store.reads = 0
    proof = merkle.inclusion_proof(_Reader(cache, store, (1000, leaves[-1])), 377, 1000)
    assert store.reads == 0
    assert proof == merkle.inclusion_proof(store, 377, 1000)
    leaves = chain(1001)
    store.build(leaves)
    store.reads = 0
    merkle.inclusion_proof(_Reader(cache, store, (1001, leaves[-1])), 377, 1000)
    assert store.reads == 1  # the anchor leaf, read back once the head moved


def test_proofs_through_the_session_use_one_cache_per_database(session: Session,
                                                                ledger: log.Ledger) -> None:
    producer: Producer = enrol(session, ledger, 3)
    append(session, ledger, [producer.signed(lot=f"L{i}") for i in range(9)])
    session.commit()
    size = log.ledger_size(session)
    first = log.inclusion_proof(session, 4, size)
    head = (size, first.leaf_hash)  # any head: only the cache's identity is looked at
    assert cached_nodes(session, head).cache is cached_nodes(session, head).cache
    assert len(cached_nodes(session, head).cache) > 0
    assert log.inclusion_proof(session, 4, size) == first
    assert first.hashes == merkle.inclusion_proof(SessionNodes(session), 4, size)
