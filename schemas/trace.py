"""Trace requests and answers on the wire: the query of ``GET /api/v1/trace/{downstream,
upstream}`` and the JSON both it and ``tracenet trace --json`` give (one schema, one shape).

The answer dumps a :class:`ledger.trace.Trace`; every field is documented here, so the
OpenAPI description says exactly what a client gets.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ledger.trace import DEFAULT_DEPTH, DEFAULT_LIMIT, Trace
from schemas.codes import GTINField, LotField, USCCField

__all__ = ["MAX_DEPTH", "MAX_LIMIT", "TraceQuerySchema", "TraceSchema", "trace_json"]

#: the most a caller may ask for: beyond these the answer says it is truncated
MAX_DEPTH = 64
MAX_LIMIT = 10_000

_QUANTITY = ("decimal text in the lot's base unit; null when not shown to this caller "
             "(another enterprise's stock) or unknown (a supplier off the ledger)")


def _text(description: str, **kwargs: Any) -> fields.String:
    return fields.String(metadata={"description": description}, **kwargs)


def _quantity(what: str) -> fields.String:
    return fields.String(allow_none=True, metadata={"description": f"{what}: {_QUANTITY}"})


class TraceQuerySchema(Schema):
    """Where to start (a lot, a serial unit, any unit code, or an enterprise's intake), as of
    when, and how far."""

    gtin = GTINField(load_default=None)
    lot = LotField(load_default=None)
    serial = fields.String(load_default=None, validate=validate.Length(1, 20), metadata={
        "description": "a serial number (GS1 AI 21) of the GTIN: trace that unit's lot"})
    code = fields.String(load_default=None, validate=validate.Length(1, 100), metadata={
        "description": "any unit code on the ledger, e.g. an SSCC pallet "
                       "'(00)069012340000000016': trace the lots packed in it",
        "example": "(00)069012340000000016"})
    enterprise = USCCField(load_default=None, metadata={
        "description": "trace what this enterprise took in (material intake and receipts), "
                       "optionally of gtin / lot"})
    as_of = fields.String(load_default=None, metadata={
        "description": "answer as the ledger stood then: a ledger size (number of entries) "
                       "or an RFC 3339 time with an offset",
        "example": "2026-11-02T08:00:00+08:00"})
    depth = fields.Integer(load_default=DEFAULT_DEPTH, validate=validate.Range(0, MAX_DEPTH),
                           metadata={"description": "steps from the start to follow"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": "holdings (and unit codes) to report"})

    @validates_schema
    def _one_start(self, data: dict[str, Any], **_: Any) -> None:
        if data["enterprise"] is not None:
            if data["serial"] is not None or data["code"] is not None:
                raise ValidationError("an intake trace takes gtin and lot only",
                                      field_name="enterprise")
        elif data["code"] is not None:
            if any(data[name] is not None for name in ("gtin", "lot", "serial")):
                raise ValidationError("give code alone, or gtin with lot or serial",
                                      field_name="code")
        elif data["gtin"] is None:
            raise ValidationError("gtin is needed (with lot or serial), or code, or "
                                  "enterprise", field_name="gtin")
        elif (data["lot"] is None) == (data["serial"] is None):
            raise ValidationError("give gtin with either lot or serial",
                                  field_name="lot" if data["lot"] is None else "serial")


class NodeSchema(Schema):
    """A lot at a holder."""

    holder = _text("the holder's USCC (统一社会信用代码)")
    gtin = _text("GTIN-14")
    lot = _text("lot number")


class StartSchema(Schema):
    kind = _text("lot / unit / intake")
    gtin = fields.String(allow_none=True)
    lot = fields.String(allow_none=True)
    code = fields.String(allow_none=True, metadata={"description": "the unit code"})
    enterprise = fields.String(allow_none=True,
                               metadata={"description": "whose intake (USCC)"})


class LotSchema(Schema):
    """A lot the trace reached."""

    gtin = fields.String()
    lot = fields.String()
    product = fields.String(allow_none=True, metadata={
        "description": "the registered product's name (null: an unregistered material)"})
    category = fields.String(allow_none=True, metadata={"description": "one of the 69"})
    origin = _text("its producer, or for material taken in, its supplier (USCC)")
    origin_type = _text("production / material_intake")
    origin_seq = fields.Integer(metadata={"description": "the entry that made the lot"})
    quantity = _text("produced (or first taken in), in unit")
    unit = _text("the lot's base unit: kg, L, pcs or case")
    produced_at = fields.String(allow_none=True)
    expiry = fields.String(allow_none=True)
    inspection = _text("the lot's latest inspection verdict now: none / pass / fail")
    depth = fields.Integer(metadata={"description": "fewest steps from the start"})


class HoldingSchema(Schema):
    """A lot at a holder: what it received, made, still holds and passed on."""

    holder = _text("the holder's USCC")
    name = fields.String(allow_none=True, metadata={
        "description": "the holder's registered name as stored (null: off the ledger)"})
    gtin = fields.String()
    lot = fields.String()
    unit = fields.String()
    depth = fields.Integer(metadata={"description": "fewest steps from the start"})
    received = _quantity("received (receipts and accepted material intakes)")
    in_transit = _quantity("shipped to it and not yet received")
    produced = _quantity("made of this lot by it")
    passed_on = _quantity("shipped on (for a supplier off the ledger: what was taken in "
                          "from it)")
    used = _quantity("used as input of its productions")
    held = _quantity("its stock (as of: produced + received - passed on - used)")
    end = fields.Boolean(metadata={"description": (
        "the far end of the walk: downstream, consumer-facing goods (a registered product "
        "held by an enterprise that passed none of it on); upstream, an origin")})


class StepSchema(Schema):
    """One link of the paths, with the entries that make it."""

    kind = _text("production / shipment / material_intake")
    source = fields.Nested(NodeSchema, data_key="from")
    target = fields.Nested(NodeSchema, data_key="to")
    quantity = _text("input used, shipped, or taken in")
    received = fields.String(allow_none=True, metadata={
        "description": "shipments: received against them so far"})
    unit = fields.String()
    seqs = fields.List(fields.Integer(), metadata={
        "description": "the entries making the step (a correction's for a re-routed one)"})
    receipt_seqs = fields.List(fields.Integer(),
                               metadata={"description": "shipments: the receipts"})
    depth = fields.Integer()


class UnitCodeSchema(Schema):
    code = _text("the unit code: (01)GTIN(21)serial, or an aggregate's (an SSCC)")
    gtin = fields.String(allow_none=True)
    lot = fields.String(allow_none=True)
    parent = fields.String(allow_none=True, metadata={"description": "what it is packed in"})


class TraceSchema(Schema):
    """A trace, downstream or upstream, as the ledger stood at ``size``."""

    direction = _text("downstream / upstream")
    start = fields.Nested(StartSchema)
    viewer = fields.String(allow_none=True, metadata={"description": (
        "whom the answer is for: null sees everything (regulators); an enterprise sees no "
        "other holder's quantities, and downstream only as far as its direct customers")})
    size = fields.Integer(metadata={"description": "the ledger size answered at"})
    depth_limit = fields.Integer()
    limit = fields.Integer()
    truncated = fields.Boolean(metadata={"description": "there is more than this answer"})
    truncation = fields.List(fields.String(), metadata={"description": (
        "why: depth (the depth limit was reached), limit (more holdings or unit codes than "
        "the limit), scope (an enterprise's trace stops at its direct customers)")})
    lots = fields.List(fields.Nested(LotSchema))
    holdings = fields.List(fields.Nested(HoldingSchema))
    ends = fields.List(fields.Nested(NodeSchema), metadata={
        "description": "the holdings at the far end (end: true)"})
    steps = fields.List(fields.Nested(StepSchema))
    units = fields.List(fields.Nested(UnitCodeSchema), metadata={
        "description": "the serial units of the lots reached"})
    aggregates = fields.List(fields.Nested(UnitCodeSchema), metadata={
        "description": "the cases and pallets they are packed in"})
    start_unit = fields.List(fields.Nested(UnitCodeSchema), metadata={
        "description": "from a unit code: it and the parents it is packed in, innermost "
                       "first"})


def trace_json(trace: Trace) -> dict[str, Any]:
    """The JSON form of a trace (what the API and ``tracenet trace --json`` print)."""
    dumped: dict[str, Any] = TraceSchema().dump(trace)
    return dumped
