"""Tile paths, entry bundles and proofs computed from tiles (ledger.log.tiles)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import NotFoundError, ProofError
from ledger.log import merkle
from ledger.log.tiles import (
    ENTRIES,
    LARGE_ENTRIES,
    TileNodes,
    TileRef,
    decode_bundle,
    encode_bundle,
    encode_index,
    parse_tile_path,
    tile_for,
    tile_path,
)


def test_the_spec_example_index() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(ENTRIES, 5, 17) == "tile/entries/005.p/17"
    assert parse_tile_path("1/x001/x234/067.p/3") == TileRef(1, 1234067, 3)


@given(level=st.one_of(st.integers(0, 63), st.just(ENTRIES), st.just(LARGE_ENTRIES)),
       index=st.integers(0, 2**56), width=st.integers(1, 256))
def test_paths_round_trip(level: int | str, index: int, width: int) -> None:
    path = tile_path(level, index, width)
    assert parse_tile_path(path.removeprefix("tile/")) == TileRef(level, index, width)


@given(st.text(alphabet="0123456789x./pentris", max_size=24))
def test_only_the_one_spelling_parses(text: str) -> None:
    try:
        ref = parse_tile_path(text)
    except NotFoundError:
        return
    assert tile_path(ref.level, ref.index, ref.width) == "tile/" + text


@pytest.mark.parametrize("text", ["0/5", "0/x000/005", "0/005.p/0", "0/005.p/256", "64/000",
                                  "-1/000", "0/005.p/01", "0", "entries/005.p", "0/x001"])
def test_bad_paths(text: str) -> None:
    with pytest.raises(NotFoundError, match="not a tile path"):
        parse_tile_path(text)


def test_tile_widths_for_the_spec_example() -> None:
    size = 70_000
    assert tile_for(0, 272, size) == TileRef(0, 272)
    assert tile_for(0, 273, size) == TileRef(0, 273, 112)
    assert tile_for(0, 274, size) is None
    assert tile_for(1, 0, size) == TileRef(1, 0)
    assert tile_for(1, 1, size) == TileRef(1, 1, 17)
    assert tile_for(2, 0, size) == TileRef(2, 0, 1)
    assert tile_for(3, 0, size) is None
    assert tile_for(1, 0, 256) == TileRef(1, 0, 1)


@given(st.lists(st.binary(max_size=300), max_size=20), st.sampled_from([2, 4]))
def test_bundles_round_trip(entries: list[bytes], prefix: int) -> None:
    assert decode_bundle(encode_bundle(entries, prefix=prefix), prefix=prefix) == entries


def test_the_uint32_bundle_path() -> None:
    assert parse_tile_path("entries-u32/x001/002.p/9") == TileRef(LARGE_ENTRIES, 1002, 9)
    assert TileRef(LARGE_ENTRIES, 3).bundle and TileRef(ENTRIES, 3).bundle
    assert not TileRef(0, 3).bundle
    assert decode_bundle(encode_bundle([b"x" * 70_000], prefix=4), prefix=4) == [b"x" * 70_000]


def test_bundle_limits() -> None:
    with pytest.raises(ValueError, match="more than a bundle's 65535"):
        encode_bundle([b"x" * 65536])
    assert decode_bundle(encode_bundle([b"x" * 65535])) == [b"x" * 65535]
    with pytest.raises(ProofError, match="claims 5 bytes, 2 are left"):
        decode_bundle(b"\x00\x05ab")
    with pytest.raises(ProofError, match="cut short"):
        decode_bundle(b"\x00\x01a\x00")


class _Stored:
    """Stored nodes of a tree, as the database keeps them, and tiles cut from them."""

    def __init__(self, size: int) -> None:
        tree = merkle.CompactRange()
        self.nodes: dict[merkle.NodeKey, bytes] = {}
        for i in range(size):
            for key, digest in tree.append(hashlib.sha256(i.to_bytes(4, "big")).digest()):
                self.nodes[key] = digest
        self.fetched: list[str] = []

    def read_nodes(self, keys: object) -> dict[merkle.NodeKey, bytes]:
        return {key: self.nodes[key] for key in keys if key in self.nodes}  # type: ignore[attr-defined]

    def fetch(self, ref: TileRef) -> bytes:
        self.fetched.append(ref.path)
        level = int(ref.level) * 8
        return b"".join(self.nodes[(level, ref.first() + i)] for i in range(ref.width))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), size=st.integers(1, 1200))
def test_proofs_from_tiles_equal_proofs_from_storage(data: st.DataObject, size: int) -> None:
    stored = _Stored(size)
    tiles = TileNodes(stored.fetch, size)
    assert merkle.tree_root(tiles, size) == merkle.tree_root(stored, size)
    index = data.draw(st.integers(0, size - 1))
    assert merkle.inclusion_proof(tiles, index, size) == merkle.inclusion_proof(stored, index,
                                                                                size)
    old = data.draw(st.integers(1, size))
    assert merkle.consistency_proof(tiles, old, size) == merkle.consistency_proof(stored, old,
                                                                                  size)


def test_a_short_tile_is_refused() -> None:
    stored = _Stored(300)
    tiles = TileNodes(lambda ref: stored.fetch(ref)[:-1], 300)
    with pytest.raises(ProofError, match=r"tile/1/000.p/1: expected 32 bytes, got 31"):
        merkle.tree_root(tiles, 300)
