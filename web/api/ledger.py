"""Checkpoints and proofs: what lets anyone check the ledger without trusting us."""

from __future__ import annotations

import base64
import math
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from ledger import log
from ledger.errors import NotFoundError
from ledger.log.checkpoint import verifier_key
from ledger.log.cosigning import cosigned_note, published_checkpoint
from web.db import get_ledger, get_runtime, get_session
from web.errors import ApiError, error_response

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger",
                description="Signed checkpoints, inclusion and consistency proofs")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


#: the longest a request may wait for a covering checkpoint (it holds a gunicorn worker)
MAX_WAIT = 10.0


class CheckpointQuery(Schema):
    min_cosignatures = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100))
    covering = fields.Integer(load_default=None, validate=validate.Range(min=0), metadata={
        "description": "a seq: answer with a checkpoint that covers this entry"})
    wait = fields.Float(load_default=0.0, validate=validate.Range(0, MAX_WAIT), metadata={
        "description": "with covering: seconds to wait for such a checkpoint (at most 10)"})


class InclusionQuery(Schema):
    seq = fields.Integer(required=True, validate=validate.Range(min=0))
    size = fields.Integer(load_default=None, validate=validate.Range(min=1))


class InclusionProofSchema(Schema):
    """An RFC 6962 inclusion proof (hashes in base64)."""

    seq = fields.Integer(required=True)
    size = fields.Integer(required=True)
    leaf_hash = fields.String(required=True)
    root = fields.String(required=True)
    proof = fields.List(fields.String(), required=True)


class ConsistencyProofSchema(Schema):
    """An RFC 6962 consistency proof between two tree sizes (hashes in base64)."""

    first = fields.Integer(required=True)
    second = fields.Integer(required=True)
    first_root = fields.String(required=True)
    second_root = fields.String(required=True)
    proof = fields.List(fields.String(), required=True)


class ConsistencyQuery(Schema):
    first = fields.Integer(required=True, validate=validate.Range(min=1))
    second = fields.Integer(load_default=None, validate=validate.Range(min=1))


@blp.get("/checkpoint")
@blp.arguments(CheckpointQuery, location="query")
@blp.doc(responses={"200": {"description": "C2SP signed note", "content": {"text/plain": {}}}})
def checkpoint(query: dict[str, Any]) -> Response | tuple[Response, int]:
    """The latest signed checkpoint (C2SP signed note) with its witnesses' cosignature lines
    (C2SP tlog-cosignature); with ``min_cosignatures=k``, the latest one that ``k`` witnesses
    cosigned (404 while none has).

    Checkpoints are signed at a cadence (by default at most one a second, or per 1,000
    entries), so the latest may not cover the newest entries yet. With ``covering=SEQ`` the
    answer is a checkpoint covering entry SEQ (with the cosignatures it has so far), waiting
    up to ``wait`` seconds for one; 404 ``checkpoint_pending`` (with Retry-After) if none came
    in time.
    """
    session = get_session()
    ledger = get_ledger()
    if query["covering"] is None:
        note = published_checkpoint(session, lambda: log.latest_checkpoint(session, ledger),
                                    query["min_cosignatures"])
        session.commit()
        return Response(note, mimetype="text/plain")
    if query["min_cosignatures"]:
        raise ApiError(422, "validation_error", "give covering or min_cosignatures, not both",
                       "min_cosignatures")
    seq = query["covering"]
    size = log.ledger_size(session)
    session.commit()
    if seq >= size:
        raise NotFoundError(f"no entry at seq {seq} (the ledger has {size})", field="covering")
    found = log.await_checkpoint(get_runtime().sessions, ledger, seq, query["wait"])
    if found is None:
        due_in = log.checkpoint_due_in(session, ledger)
        session.commit()
        response, status = error_response(
            404, "checkpoint_pending", f"no signed checkpoint covers seq {seq} yet; retry, or "
            f"pass wait=SECONDS (at most {MAX_WAIT:g})", "covering")
        response.headers["Retry-After"] = str(max(1, math.ceil(due_in or 0)))
        return response, status
    note = cosigned_note(session, int(found.split("\n", 2)[1]), found)
    session.commit()
    return Response(note, mimetype="text/plain")


@blp.get("/key")
@blp.doc(responses={"200": {"description": "the C2SP verifier key of the checkpoint signer",
                            "content": {"text/plain": {}}}})
def key() -> Response:
    """The verifier key (``origin+keyhash+base64``) that checkpoint signatures verify with."""
    ledger = get_ledger()
    return Response(verifier_key(ledger.origin, ledger.signing_key.public_key()) + "\n",
                    mimetype="text/plain")


@blp.get("/proof/inclusion")
@blp.arguments(InclusionQuery, location="query")
@blp.response(200, InclusionProofSchema)
def inclusion(query: dict[str, Any]) -> dict[str, Any]:
    """Inclusion proof of entry ``seq`` in the tree of ``size`` entries.

    Default size: the newest signed checkpoint's, when it covers ``seq`` (so the proof
    checks against that note), else the current tree's.
    """
    session = get_session()
    size = query["size"] or _signed_size(session, query["seq"] + 1)
    return log.inclusion_proof(session, query["seq"], size).as_json(_b64)


@blp.get("/proof/consistency")
@blp.arguments(ConsistencyQuery, location="query")
@blp.response(200, ConsistencyProofSchema)
def consistency(query: dict[str, Any]) -> dict[str, Any]:
    """Consistency proof from tree size ``first`` to ``second`` (default: the newest signed
    checkpoint's size when it is at least ``first``, else the current tree's)."""
    session = get_session()
    second = query["second"] or _signed_size(session, query["first"])
    return log.consistency_proof(session, query["first"], second).as_json(_b64)


def _signed_size(session: Session, at_least: int) -> int | None:
    """The newest signed checkpoint's size if it is at least ``at_least``; else None (the
    current size)."""
    size = log.checkpoint_size(session)
    return size if size >= at_least else None
