"""The tile server, read by a client written here from the C2SP tlog-tiles spec alone.

Nothing of ``ledger.log`` is used to *read* the tiles: the paths, the partial widths, the
bundle framing, the Merkle tree hash and RFC 6962's PATH and PROOF are all spelled out again
below from the spec and the RFC, and what they compute must agree with the checkpoint's
signature and root and with the proofs ``/api/v1/ledger/proof/*`` serves.

The tree is the spec's own example size, 70,000 leaves: 273 full level-0 tiles and a partial
one of width 112, a full level-1 tile and a partial one of width 17, a partial level-2 tile of
width 1. Appending 70,000 signed entries would take minutes, so the leaves (opaque bytes) and
their nodes are written straight into the tables, as the sequencer would store them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Iterator
from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update

from ledger.log import merkle
from ledger.log.storage import EntryRow, LedgerHead, MerkleNode, node_id
from tests.conftest import make_app
from web.db import get_session

SIZE = 70_000


def grow_opaque_tree(app: Flask, size: int) -> None:
    """Store leaves 1..size-1 (after the genesis entry) and their perfect subtrees directly."""
    with app.app_context():
        session = get_session()
        genesis = session.scalar(select(EntryRow.leaf_hash).where(EntryRow.seq == 0))
        assert genesis is not None
        tree = merkle.CompactRange()
        tree.append(genesis)
        entries, nodes = [], []
        for seq in range(1, size):
            body = b'{"opaque":%d,"pad":"%s"}' % (seq, b"x" * (seq % 50))
            leaf = merkle.leaf_hash(body)
            entries.append({"seq": seq, "leaf_hash": leaf, "type": "opaque", "enterprise": "x",
                            "key_id": "x", "event_time": "", "recorded_at": "", "body": body})
            nodes += [{"node_id": node_id(*key), "hash": digest}
                      for key, digest in tree.append(leaf) if key[0] > 0]
        session.execute(insert(EntryRow), entries)
        session.execute(insert(MerkleNode), nodes)
        session.execute(update(LedgerHead).values(size=size))
        session.commit()


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def tiled(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """One 70,000-leaf ledger per database for the whole module: the tests only read it."""
    instance = tmp_path_factory.mktemp("tiles")
    if request.param == "sqlite":
        url = f"sqlite:///{instance / 'tracenet.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    app = make_app(url, instance)
    grow_opaque_tree(app, SIZE)
    yield app.test_client()
    app.extensions["tracenet.runtime"].close()


# ---- the client, from the spec -------------------------------------------------------------

def spec_index(n: int) -> str:
    """"zero-padded 3-digit path elements. All but the last path element MUST begin with an x"."""
    digits = f"{n:d}"
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def spec_path(level: str, n: int, width: int | None = None) -> str:
    return f"/tile/{level}/{spec_index(n)}" + (f".p/{width}" if width else "")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class SpecClient:
    """Reads a tree of ``size`` leaves through tiles and answers RFC 6962 questions."""

    def __init__(self, client: FlaskClient, size: int) -> None:
        self.client, self.size = client, size
        self.fetched: list[str] = []

    def get(self, path: str) -> bytes:
        response = self.client.get(path, headers={"Accept-Encoding": "gzip, identity"})
        assert response.status_code == 200, (path, response.get_data())
        assert response.content_type == "application/octet-stream"
        self.fetched.append(path)
        data = response.get_data()
        if response.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return data

    def tile(self, level: int, n: int) -> list[bytes]:
        # "The partial tile at level l for a tree of size s has floor(s / 256**l) mod 256"
        full = (n + 1) * 256 ** (level + 1) <= self.size
        width = None if full else (self.size // 256 ** level) % 256
        data = self._tile(level, n, width)
        assert len(data) == (256 if full else width or 0) * 32
        return [data[i:i + 32] for i in range(0, len(data), 32)]

    @cache  # noqa: B019 - the client lives for one test
    def _tile(self, level: int, n: int, width: int | None) -> bytes:
        return self.get(spec_path(str(level), n, width))

    def leaf(self, index: int) -> bytes:
        return self.tile(0, index // 256)[index % 256]

    @cache  # noqa: B019
    def mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) per RFC 6962 2.1, taking whole 256-leaf blocks from level 1 tiles."""
        n = hi - lo
        if n == 1:
            return self.leaf(lo)
        if n == 256 and lo % 256 == 0 and hi <= self.size // 256 * 256:
            return self.tile(1, lo // 65536)[(lo // 256) % 256]
        k = 1 << ((n - 1).bit_length() - 1)
        return sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi))

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """PATH(m, D[lo:hi]), RFC 6962 2.1.1."""
        n = hi - lo
        if n == 1:
            return []
        k = 1 << ((n - 1).bit_length() - 1)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        """SUBPROOF(m, D[lo:hi], b), RFC 6962 2.1.2."""
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def spec_open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """signed-note + tlog-checkpoint: verify the log's Ed25519 line, return the body's fields."""
    name, key_hash, material = vkey.split("+", 2)
    raw = base64.b64decode(material)
    assert raw[0] == 1
    key = Ed25519PublicKey.from_public_bytes(raw[1:])
    assert sha256(name.encode() + b"\n" + raw)[:4].hex() == key_hash
    body, _, signatures = note.rpartition("\n\n")
    body += "\n"
    verified = False
    for line in signatures.splitlines():
        line_name, blob = line.removeprefix("— ").split(" ")
        sig = base64.b64decode(blob)
        if line_name == name and sig[:4].hex() == key_hash:
            key.verify(sig[4:], body.encode())
            verified = True
    assert verified
    origin, size, root = body.splitlines()[:3]
    return origin, int(size), base64.b64decode(root)


# ---- the tests ----------------------------------------------------------------------------

def test_spec_index_encoding_matches_the_spec_example() -> None:
    assert spec_index(1234067) == "x001/x234/067"
    assert spec_index(0) == "000"
    assert spec_index(1000) == "x001/000"


def test_checkpoint_and_tiles_agree_with_the_proof_api(tiled: FlaskClient) -> None:
    response = tiled.get("/checkpoint")
    assert response.status_code == 200
    assert response.content_type == "text/plain; charset=utf-8"
    assert "no-cache" in response.headers["Cache-Control"]
    vkey = tiled.get("/api/v1/ledger/key").get_data(as_text=True).strip()
    origin, size, root = spec_open_checkpoint(response.get_data(as_text=True), vkey)
    assert (origin, size) == ("tracenet.test/ledger", SIZE)

    reader = SpecClient(tiled, size)
    assert reader.mth(0, size) == root
    # The spec's inventory of a 70,000-leaf tree.
    assert reader.tile(0, 272) and len(reader.tile(0, 273)) == 112
    assert len(reader.tile(1, 0)) == 256 and len(reader.tile(1, 1)) == 17
    assert len(reader.tile(2, 0)) == 1
    # Each level-1 hash is the MTH of the full level-0 tile below it; level 2 likewise.
    for n in (0, 5, 272):
        leaves = reader.tile(0, n)
        assert reader.tile(1, n // 256)[n % 256] == reader.mth(n * 256, n * 256 + 256)
        assert len(leaves) == 256
    assert reader.tile(2, 0)[0] == reader.mth(0, 65536)

    for seq in (0, 1, 255, 256, 65535, 65536, 69_999):
        proof = tiled.get(f"/api/v1/ledger/proof/inclusion?seq={seq}").get_json()
        assert proof["leaf_hash"] == b64(reader.leaf(seq))
        assert proof["root"] == b64(root)
        assert proof["proof"] == [b64(h) for h in reader.path(seq, 0, size)]
    for first, second in ((1, SIZE), (256, 70_000), (65_536, 69_999), (300, 65_537),
                          (69_998, 69_999)):
        proof = tiled.get(f"/api/v1/ledger/proof/consistency?first={first}&second={second}"
                          ).get_json()
        assert proof["first_root"] == b64(reader.mth(0, first))
        assert proof["second_root"] == b64(reader.mth(0, second))
        assert proof["proof"] == [b64(h) for h in reader.subproof(first, 0, second, True)]


def test_entry_bundles_hash_to_the_level_0_tiles(tiled: FlaskClient) -> None:
    reader = SpecClient(tiled, SIZE)
    for n, width in ((0, None), (140, None), (273, 112)):
        data = reader.get(spec_path("entries", n, width))
        entries, offset = [], 0
        while offset < len(data):  # "big-endian uint16 length-prefixed log entries"
            length = int.from_bytes(data[offset:offset + 2], "big")
            entries.append(data[offset + 2:offset + 2 + length])
            offset += 2 + length
        assert offset == len(data)
        assert len(entries) == (width or 256)
        assert [sha256(b"\x00" + e) for e in entries] == reader.tile(0, n)
    first = reader.get(spec_path("entries", 0))
    assert first[2:].startswith(b"{")  # the genesis entry's canonical JSON


def test_partial_tiles_are_prefixes_of_what_the_tree_has(tiled: FlaskClient) -> None:
    full = tiled.get("/tile/0/005").get_data()
    for width in (1, 17, 255):
        assert tiled.get(f"/tile/0/005.p/{width}").get_data() == full[:width * 32]
    level1 = tiled.get("/tile/1/001.p/17").get_data()
    assert tiled.get("/tile/1/001.p/3").get_data() == level1[:96]


@pytest.mark.parametrize("path", [
    "/tile/0/274",  # beyond the tree
    "/tile/0/273",  # only 112 of its leaves exist
    "/tile/0/273.p/113",
    "/tile/1/001",
    "/tile/1/001.p/18",
    "/tile/2/000",
    "/tile/3/000.p/1",
    "/tile/entries/274",
    "/tile/entries/273.p/200",
    "/tile/0/5",  # not three digits
    "/tile/0/x000/005",  # not the one spelling of 5
    "/tile/0/x1/005",
    "/tile/00/005",
    "/tile/64/000",
    "/tile/0/005.p/0",
    "/tile/0/005.p/256",
    "/tile/0/005.p/07",
    "/tile/0/005.p/",
    "/tile/0/",
    "/tile/entries",
    "/tile/data/000",
])
def test_what_is_not_a_tile_of_the_tree_is_not_found(tiled: FlaskClient, path: str) -> None:
    response = tiled.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_caching_headers(tiled: FlaskClient) -> None:
    full = tiled.get("/tile/0/000")
    assert "immutable" in full.headers["Cache-Control"]
    assert "max-age=31536000" in full.headers["Cache-Control"]
    bundle = tiled.get("/tile/entries/000")
    assert "immutable" in bundle.headers["Cache-Control"]
    partial = tiled.get("/tile/0/273.p/112")
    assert "immutable" not in partial.headers["Cache-Control"]
    assert "max-age=60" in partial.headers["Cache-Control"]
    gzipped = tiled.get("/tile/entries/001", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    plain = tiled.get("/tile/entries/001")
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(gzipped.get_data()) == plain.get_data()
    assert tiled.head("/tile/0/000").status_code == 200
