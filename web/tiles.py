"""The C2SP tlog-tiles read API: ``/checkpoint``, ``/tile/<L>/<N>[.p/<W>]`` and
``/tile/entries/<N>[.p/<W>]``, static-looking resources that mirrors and CDNs can cache.

A tile never changes once the tree has it, so full tiles are served as immutable for a year;
partial tiles (the tree's right edge) are cacheable for a short while only, as the spec lets a
log drop them once the full tile exists, and ``/checkpoint`` not at all.
"""

from __future__ import annotations

import gzip

from flask import Blueprint, Response, request

from ledger import log
from ledger.log.cosigning import published_checkpoint
from ledger.log.tiles import parse_tile_path
from ledger.log.tilestore import entry_bundle, hash_tile
from web.db import get_ledger, get_session

__all__ = ["FULL_TILE_CACHE", "PARTIAL_TILE_CACHE", "bp"]

bp = Blueprint("tiles", __name__)

FULL_TILE_CACHE = "public, max-age=31536000, immutable"
PARTIAL_TILE_CACHE = "public, max-age=60"
_CHECKPOINT_CACHE = "no-cache"


@bp.get("/checkpoint")
def checkpoint() -> Response:
    """The latest checkpoint, with the cosignatures its witnesses have returned so far."""
    session = get_session()
    note = published_checkpoint(session, lambda: log.latest_checkpoint(session, get_ledger()))
    session.commit()
    response = Response(note, content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = _CHECKPOINT_CACHE
    return response


@bp.get("/tile/<path:path>")
def tile(path: str) -> Response:
    """A hash tile or an entry bundle; 404 (JSON error) for a path the spec does not spell
    that way, or a tile the tree does not have (yet)."""
    ref = parse_tile_path(path)
    session = get_session()
    data = entry_bundle(session, ref) if ref.bundle else hash_tile(session, ref)
    response = Response(data, content_type="application/octet-stream")
    response.headers["Cache-Control"] = PARTIAL_TILE_CACHE if ref.partial else FULL_TILE_CACHE
    if ref.bundle:
        # Entries are JSON text and shrink well; the spec asks for compression at the HTTP layer.
        response.vary.add("Accept-Encoding")
        if request.accept_encodings["gzip"]:
            response.set_data(gzip.compress(data, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
    return response
