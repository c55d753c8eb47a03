"""The C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles): paths, entry bundles, and a
:class:`~ledger.log.merkle.NodeReader` over fetched tiles.

A tile is 256 consecutive Merkle tree hashes of one level of tiles: hash ``i`` of tile ``n`` at
tile level ``L`` is MTH of leaves ``[(n * 256 + i) * 256**L, (n * 256 + i + 1) * 256**L)``,
which is exactly the stored perfect subtree ``(8 * L, n * 256 + i)`` of :mod:`.merkle`. So a
tile is one range read of stored nodes, and a client holding tiles can answer any
:func:`~ledger.log.merkle.range_hashes` question (a root, an inclusion or a consistency proof)
with the same code the server uses. The rightmost tiles of a tree are *partial*: ``W`` hashes,
``1 <= W <= 255``, at ``<path>.p/<W>``.

An entry bundle holds the leaf data (here: the entries' canonical bytes) of one level-0 tile,
each as a big-endian uint16 length and the bytes. An entry longer than 65,535 bytes (a
serialization of thousands of units) cannot be framed so: its bundle is served instead in the
same layout with uint32 lengths at ``tile/entries-u32/<N>[.p/<W>]`` (the spec lets a log serve
entries in another encoding at another URL), which a client fetches when the bundle is not
found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from ledger.errors import NotFoundError, ProofError
from ledger.log import merkle

__all__ = [
    "ENTRIES",
    "LARGE_ENTRIES",
    "MAX_BUNDLE_ENTRY",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileNodes",
    "TileRef",
    "decode_bundle",
    "encode_bundle",
    "encode_index",
    "parse_tile_path",
    "tile_for",
    "tile_path",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8,192 bytes for a full tile
#: the pseudo-level of entry bundles in paths (``tile/entries/<N>``)
ENTRIES = "entries"
#: the pseudo-level of entry bundles with uint32 lengths (``tile/entries-u32/<N>``), for
#: bundles holding an entry too long for a uint16
LARGE_ENTRIES = "entries-u32"
#: entries are uint16 length-prefixed in a bundle
MAX_BUNDLE_ENTRY = 0xFFFF
_MAX_LEVEL = 63

_INDEX_PART = re.compile(r"x[0-9]{3}")
_LAST_PART = re.compile(r"[0-9]{3}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class TileRef:
    """One tile resource: ``level`` (an int, or :data:`ENTRIES` for a bundle), the tile's
    ``index`` in its level and its ``width`` (256 for a full tile)."""

    level: int | str
    index: int
    width: int = TILE_WIDTH

    @property
    def bundle(self) -> bool:
        """Whether this is an entry bundle (of either encoding), not a hash tile."""
        return self.level in (ENTRIES, LARGE_ENTRIES)

    @property
    def partial(self) -> bool:
        """Whether the tile is partial (fewer than 256 hashes or entries)."""
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """The resource path below the log's prefix, ``tile/<L>/<N>[.p/<W>]``."""
        return tile_path(self.level, self.index, self.width)

    def first(self) -> int:
        """Index, within its level of tiles, of the tile's first hash (its level-0 start for a
        bundle)."""
        return self.index * TILE_WIDTH


def encode_index(index: int) -> str:
    """``N`` as path elements of three digits, all but the last with an ``x``: 1234067 is
    ``x001/x234/067``."""
    if index < 0:
        raise ValueError(f"tile index must be >= 0, got {index}")
    parts = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        parts.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(parts))


def tile_path(level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    """The path of a tile, or of an entry bundle when ``level`` is :data:`ENTRIES`."""
    if level not in (ENTRIES, LARGE_ENTRIES) and not (
            isinstance(level, int) and 0 <= level <= _MAX_LEVEL):
        raise ValueError(f"tile level must be 0..{_MAX_LEVEL} or {ENTRIES!r}, got {level!r}")
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile width must be 1..{TILE_WIDTH}, got {width}")
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(index)}{suffix}"


def parse_tile_path(path: str) -> TileRef:
    """Parse ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]`` (the part after ``tile/``) strictly.

    Exactly one spelling is accepted for each tile (no leading zeros but in the 3-digit
    elements, no superfluous ``x000`` elements), so that a cache never holds two copies of
    one tile. NotFoundError for anything else.
    """
    def refuse(why: str) -> NotFoundError:
        return NotFoundError(f"not a tile path ({why}): {path[:120]!r}", field="path")

    parts = path.split("/")
    width = TILE_WIDTH
    # ".p/<W>": the element before the width ends in ".p"
    if len(parts) >= 3 and parts[-2].endswith(".p"):
        if not _DECIMAL.fullmatch(parts[-1]) or not 1 <= int(parts[-1]) < TILE_WIDTH:
            raise refuse("a partial width must be 1..255")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][:-2]]
    if len(parts) < 2:
        raise refuse("expected a level and an index")
    level_text, *index_parts = parts
    level: int | str
    if level_text in (ENTRIES, LARGE_ENTRIES):
        level = level_text
    elif _DECIMAL.fullmatch(level_text) and int(level_text) <= _MAX_LEVEL:
        level = int(level_text)
    else:
        raise refuse(f"a level must be 0..{_MAX_LEVEL} or {ENTRIES}")
    *leading, last = index_parts
    if not _LAST_PART.fullmatch(last) or not all(_INDEX_PART.fullmatch(p) for p in leading):
        raise refuse("an index is 3-digit elements, all but the last starting with x")
    if leading and leading[0] == "x000":
        raise refuse("superfluous leading x000 element")
    index = int("".join(p.removeprefix("x") for p in index_parts))
    return TileRef(level, index, width)


def tile_for(level: int | str, index: int, tree_size: int) -> TileRef | None:
    """The tile ``index`` of ``level`` as a tree of ``tree_size`` leaves has it: full, partial
    with the width the tree gives it, or None when the tree has no hash of it yet."""
    hash_level = 0 if level in (ENTRIES, LARGE_ENTRIES) else int(level)
    hashes = tree_size >> (TILE_HEIGHT * hash_level)  # hashes the tree has at this level
    width = min(hashes - index * TILE_WIDTH, TILE_WIDTH)
    return TileRef(level, index, width) if width > 0 else None


def encode_bundle(entries: Sequence[bytes], *, prefix: int = 2) -> bytes:
    """An entry bundle: each entry as a big-endian length (``prefix`` bytes: 2, or 4 for
    :data:`LARGE_ENTRIES`) and its bytes."""
    out = bytearray()
    for seq, data in enumerate(entries):
        if len(data) >> (8 * prefix):
            raise ValueError(f"entry {seq} of the bundle has {len(data)} bytes, more than a "
                             f"bundle's {(1 << (8 * prefix)) - 1}")
        out += len(data).to_bytes(prefix, "big") + data
    return bytes(out)


def decode_bundle(data: bytes, *, prefix: int = 2) -> list[bytes]:
    """Split an entry bundle into its entries; ProofError if it is cut short."""
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + prefix > len(data):
            raise ProofError(f"entry bundle: a length prefix is cut short at byte {offset}")
        length = int.from_bytes(data[offset:offset + prefix], "big")
        offset += prefix
        if offset + length > len(data):
            raise ProofError(f"entry bundle: entry {len(entries)} claims {length} bytes, "
                             f"{len(data) - offset} are left")
        entries.append(data[offset:offset + length])
        offset += length
    return entries


#: fetches a hash tile and returns its bytes (the client's HTTP GET, a test's dict lookup)
TileFetcher = Callable[[TileRef], bytes]


class TileNodes:
    """A :class:`~ledger.log.merkle.NodeReader` over the hash tiles of a tree of ``tree_size``
    leaves, fetched on demand through ``fetch`` and kept.

    Node ``(level, index)`` with ``level = 8 * L + r`` is the fold of ``2**r`` consecutive
    hashes of a level-``L`` tile, so every node a proof or root needs comes from one tile.
    """

    def __init__(self, fetch: TileFetcher, tree_size: int) -> None:
        self._fetch = fetch
        self.tree_size = tree_size
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def tile(self, level: int, index: int) -> list[bytes]:
        """The hashes of tile ``index`` at ``level``, as wide as the tree size makes it."""
        key = (level, index)
        if key not in self._tiles:
            ref = tile_for(level, index, self.tree_size)
            if ref is None:
                raise ProofError(f"tile {level}/{index} is beyond the tree of size "
                                 f"{self.tree_size}")
            data = self._fetch(ref)
            if len(data) != ref.width * merkle.HASH_SIZE:
                raise ProofError(f"{ref.path}: expected {ref.width * merkle.HASH_SIZE} bytes, "
                                 f"got {len(data)}")
            self._tiles[key] = [data[i:i + merkle.HASH_SIZE]
                                for i in range(0, len(data), merkle.HASH_SIZE)]
        return self._tiles[key]

    def read_nodes(self, keys: Collection[merkle.NodeKey]) -> Mapping[merkle.NodeKey, bytes]:
        """The hash of each stored-subtree key, computed from the tile that holds it."""
        found: dict[merkle.NodeKey, bytes] = {}
        for level, index in keys:
            tile_level, rest = divmod(level, TILE_HEIGHT)
            first = index << rest  # its first hash in the tile level
            if (first + (1 << rest)) << (TILE_HEIGHT * tile_level) > self.tree_size:
                continue  # not a complete subtree of this tree: absent, as in storage
            hashes = self.tile(tile_level, first // TILE_WIDTH)
            start = first % TILE_WIDTH
            found[(level, index)] = merkle.root_from_leaf_hashes(hashes[start:start + (1 << rest)])
        return found
