"""Public JSON for shoppers and their phones: a code's lookup, and the evidence behind it.

No sign-in: what these answer is what the shopper's page shows (:mod:`ledger.consumer`), never
suppliers, customers, quantities or prices.

- ``GET /api/v1/public/lookup`` (``gtin`` with ``lot`` and ``serial``, or ``code``: any form
  :func:`scanners.codes.parse_code` reads): the lookup as JSON; a unit code's query is
  counted, as on the page.
- ``GET /api/v1/public/evidence`` (the same parameters): the entries the page shows with their
  inclusion proofs, the latest signed checkpoint and the operator key, for the in-browser
  check; it counts nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ledger import log
from ledger.consumer.evidence import evidence as build_evidence
from scanners.codes import gtin14, parse_code
from schemas.consumer import EvidenceSchema, LookupSchema
from web.api.codes import CodeErrorSchema
from web.db import get_ledger, get_runtime, get_session
from web.resolver import ItemKey
from web.shopper import cosignature_policy, look_up

__all__ = ["blp"]

blp = Blueprint("public_api", __name__, url_prefix="/api/v1/public",
                description="What a shopper sees of a code, and the ledger evidence behind it")


class ItemQuery(Schema):
    gtin = fields.String(load_default=None, metadata={"example": "06927331000011"})
    lot = fields.String(load_default=None, validate=validate.Length(1, 20))
    serial = fields.String(load_default=None, validate=validate.Length(1, 20))
    code = fields.String(load_default=None, validate=validate.Length(1, 2000), metadata={
        "description": "any code a package carries (a GS1 Digital Link, an element string, "
                       "a GTIN, a 20-digit supervision code), instead of gtin, lot and serial"})

    @validates_schema
    def _one_key(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if (data["code"] is None) == (data["gtin"] is None):
            raise ValidationError("give either gtin (with lot and serial) or code", "gtin")
        if data["serial"] is not None and data["gtin"] is None:
            raise ValidationError("a serial needs its gtin", "serial")


def _key(query: dict[str, Any]) -> ItemKey:
    if query["code"] is not None:
        return ItemKey.of(parse_code(query["code"]))
    return ItemKey(gtin14(query["gtin"]), query["lot"], query["serial"])


@blp.get("/lookup")
@blp.arguments(ItemQuery, location="query")
@blp.doc(responses={"200": {"description": "what a shopper may see of the code",
                            "content": {"application/json": {"schema": LookupSchema}}}})
@blp.alt_response(400, schema=CodeErrorSchema,
                  description="the code or GTIN is malformed (a bad check digit, a bad AI)")
def lookup(query: dict[str, Any]) -> Response:
    """What a shopper sees of a product, lot or unit; a unit code's query is counted."""
    return jsonify(look_up(_key(query)).as_json())


@blp.get("/evidence")
@blp.arguments(ItemQuery, location="query")
@blp.doc(responses={"200": {"description": "entries, inclusion proofs, checkpoint, key",
                            "content": {"application/json": {"schema": EvidenceSchema}}}})
@blp.alt_response(400, schema=CodeErrorSchema,
                  description="the code or GTIN is malformed (a bad check digit, a bad AI)")
@blp.alt_response(404, schema=CodeErrorSchema,
                  description="TRACENET_CONSUMER_MIN_COSIGNATURES is set and no checkpoint has "
                              "that many witness cosignatures yet (field min_cosignatures)")
def evidence(query: dict[str, Any]) -> Response:
    """The entries a shopper's page shows, each with its inclusion proof in the latest signed
    checkpoint, and the operator key; the bytes of public entries, leaf hashes of the rest.
    When the server requires k witness cosignatures, the checkpoint is the newest one k
    witnesses cosigned, with their cosignature lines, and the evidence names them and k."""
    found = look_up(_key(query), count=False)
    ledger = get_ledger()
    newest = max((entry.seq for entry in found.entries), default=None)
    if newest is not None:
        # Checkpoints come at a cadence: a record made within the last interval waits (that
        # long at most) for the checkpoint covering it, so every entry shown comes with a proof.
        log.await_checkpoint(get_runtime().sessions, ledger, newest,
                             timeout=ledger.checkpoint_interval + 0.5)
    session = get_session()
    witnesses, min_cosignatures = cosignature_policy()
    body = build_evidence(session, ledger, found, witnesses=witnesses,
                          min_cosignatures=min_cosignatures)
    session.commit()  # the checkpoint, when this size had none yet
    response = jsonify(body)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
