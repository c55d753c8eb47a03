"""Checkpoints and proofs: what lets anyone check the ledger without trusting us."""

from __future__ import annotations

import base64
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ledger import log
from ledger.log.checkpoint import verifier_key
from ledger.log.cosigning import published_checkpoint
from web.db import get_ledger, get_session

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger",
                description="Signed checkpoints, inclusion and consistency proofs")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class CheckpointQuery(Schema):
    min_cosignatures = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100))


class InclusionQuery(Schema):
    seq = fields.Integer(required=True, validate=validate.Range(min=0))
    size = fields.Integer(load_default=None, validate=validate.Range(min=1))


class ConsistencyQuery(Schema):
    first = fields.Integer(required=True, validate=validate.Range(min=1))
    second = fields.Integer(load_default=None, validate=validate.Range(min=1))


@blp.get("/checkpoint")
@blp.arguments(CheckpointQuery, location="query")
@blp.doc(responses={"200": {"description": "C2SP signed note", "content": {"text/plain": {}}}})
def checkpoint(query: dict[str, Any]) -> Response:
    """The latest signed checkpoint (C2SP signed note) with its witnesses' cosignature lines
    (C2SP tlog-cosignature); with ``min_cosignatures=k``, the latest one that ``k`` witnesses
    cosigned (404 while none has)."""
    session = get_session()
    note = published_checkpoint(session, lambda: log.latest_checkpoint(session, get_ledger()),
                                query["min_cosignatures"])
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
def inclusion(query: dict[str, Any]) -> dict[str, Any]:
    """Inclusion proof of entry ``seq`` in the tree of ``size`` entries (default: current)."""
    return log.inclusion_proof(get_session(), query["seq"], query["size"]).as_json(_b64)


@blp.get("/proof/consistency")
@blp.arguments(ConsistencyQuery, location="query")
def consistency(query: dict[str, Any]) -> dict[str, Any]:
    """Consistency proof from tree size ``first`` to ``second`` (default: current)."""
    return log.consistency_proof(get_session(), query["first"], query["second"]).as_json(_b64)
