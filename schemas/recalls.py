"""API bodies and responses for recalls (/api/v1/recalls), the public recall notices and a
lot's recall status. The entries' own payloads are in :mod:`schemas.records`."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from schemas.codes import RFC3339Field, USCCField
from schemas.records import LotRefSchema, ProgressLotSchema, free_text
from schemas.webhooks import DeliverySchema

__all__ = [
    "LotStatusSchema",
    "PublicRecallPageSchema",
    "PublicRecallSchema",
    "RecallCloseSchema",
    "RecallPageSchema",
    "RecallProgressBodySchema",
    "RecallSchema",
    "RecallStartSchema",
]


def _event_time() -> RFC3339Field:
    return RFC3339Field(load_default=None, metadata={
        "description": "when it happened; default: now (China time)"})


class RecalledLotSchema(LotRefSchema):
    """A lot named in the body: the reference its ``recall_initiated`` entry stores."""


class RecallStartSchema(Schema):
    """Start a recall: voluntary by the producer of the lots, ordered by a regulator."""

    kind = fields.String(required=True, validate=validate.OneOf(["voluntary", "ordered"]),
                         metadata={"example": "ordered"})
    level = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2, 3]),
                           metadata={"description": "1 一级 (24 h / 10 working days), 2 二级 "
                                                    "(48 h / 20), 3 三级 (72 h / 30)",
                                     "example": 1})
    reason = free_text("生乳批次三聚氰胺检出值 3.8 mg/kg，超过限量 2.5 mg/kg")
    hazard = free_text("长期食用可能导致泌尿系统结石")
    consumer_advice = free_text("立即停止食用，凭购物凭证到购买处退货", required=False)
    lots = fields.List(fields.Nested(RecalledLotSchema), required=True,
                       validate=validate.Length(1, 1000))
    expand = fields.Boolean(load_default=True, metadata={
        "description": "recall every lot made from these downstream too (a raw material's)"})
    producer = USCCField(load_default=None, metadata={
        "description": "ordered recalls: the producer ordered to carry it out; default: the "
                       "producer of the first lot"})
    event_time = _event_time()


class RecallProgressBodySchema(Schema):
    """What a holder did with the recalled goods since its last report."""

    lots = fields.List(fields.Nested(ProgressLotSchema), load_default=list)
    evidence = fields.List(fields.String(validate=validate.Length(1, 200)), load_default=list,
                           metadata={"example": ["XH-2026-1106-01"]})
    complete = fields.Boolean(load_default=False, metadata={
        "description": "the caller's part of the recall is done"})
    note = fields.String(load_default=None, validate=validate.Length(max=2000))
    event_time = _event_time()


class RecallCloseSchema(Schema):
    """The four-part review (四不放过) a recall is closed with; every part is required."""

    cause = free_text("牧场收奶环节人为添加三聚氰胺", 4000)
    responsibility = free_text("牧场负责人移送公安机关", 4000)
    lessons = free_text("全员培训生乳验收与快检规程", 4000)
    corrective_actions = free_text("每批生乳入厂加测三聚氰胺", 4000)
    report = fields.String(load_default=None, validate=validate.Length(max=200),
                           metadata={"description": "the summary report, by reference"})
    event_time = _event_time()


# -- responses -----------------------------------------------------------------------------------

class RecallPartySchema(Schema):
    uscc = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class RecallProductSchema(Schema):
    gtin = fields.String()
    name = fields.String(allow_none=True)


class PublicLotSchema(Schema):
    gtin = fields.String()
    lot = fields.String()
    product_name = fields.String(allow_none=True)


class PublicRecallSchema(Schema):
    """A recall's public notice (阳光行政): no quantities, prices or customers."""

    id = fields.Integer(metadata={"description": "the seq of its recall_initiated entry"})
    kind = fields.String(metadata={"enum": ["voluntary", "ordered"]})
    level = fields.Integer()
    level_name_zh = fields.String(metadata={"example": "一级召回"})
    level_name_en = fields.String(metadata={"example": "Class I recall"})
    status = fields.String(metadata={"enum": ["open", "closed"]})
    producer = fields.Nested(RecallPartySchema)
    products = fields.List(fields.Nested(RecallProductSchema))
    lots = fields.List(fields.Nested(PublicLotSchema))
    reason = fields.String()
    hazard = fields.String()
    consumer_advice = fields.String(allow_none=True, metadata={
        "description": "what consumers should do, as the recall says (else the defaults)"})
    consumer_advice_default_zh = fields.String()
    consumer_advice_default_en = fields.String()
    initiated_at = fields.String()
    complete_by = fields.String(metadata={"description": "the last day to complete it"})
    closed_at = fields.String(allow_none=True)


class PublicRecallPageSchema(Schema):
    items = fields.List(fields.Nested(PublicRecallSchema))
    next_cursor = fields.String(allow_none=True)


class RecallDeadlinesSchema(Schema):
    start_by = fields.String(metadata={"description": "holders should have begun by then"})
    complete_by = fields.String(metadata={"description": "the last working day to complete"})


class ScopeLotSchema(Schema):
    gtin = fields.String()
    lot = fields.String()
    via = fields.String(metadata={"enum": ["named", "downstream", "made_from"]})
    via_seq = fields.Integer()


class RecallHoldingSchema(Schema):
    gtin = fields.String()
    lot = fields.String()
    held = fields.String()
    unit = fields.String()
    withdrawn = fields.String()
    retrieved = fields.String()
    destroyed = fields.String()
    reworked = fields.String()


class RecallReportSchema(Schema):
    seq = fields.Integer()
    reported_at = fields.String()
    complete = fields.Boolean()
    evidence = fields.List(fields.String())
    note = fields.String(allow_none=True)


class RecallHolderViewSchema(Schema):
    enterprise = fields.String()
    name = fields.String(allow_none=True)
    via_seq = fields.Integer(metadata={"description": "the entry that reached it"})
    notice = fields.String(metadata={"enum": ["issued", "acknowledged", "complete"]})
    reports = fields.List(fields.Nested(RecallReportSchema))
    first_report_at = fields.String(allow_none=True)
    complete = fields.Boolean()
    completed_at = fields.String(allow_none=True)
    start_late = fields.Boolean(metadata={"description": "began after start_by"})
    overdue = fields.Boolean(metadata={"description": "not complete past complete_by"})
    completed_late = fields.Boolean()
    holdings = fields.List(fields.Nested(RecallHoldingSchema))
    deliveries = fields.List(fields.Nested(DeliverySchema))


class RecallLotTotalSchema(RecallHoldingSchema):
    pass


class RecallProgressTotalsSchema(Schema):
    holders = fields.Integer()
    acknowledged = fields.Integer()
    complete = fields.Integer()
    percent_complete = fields.Float()
    start_late = fields.Integer()
    overdue = fields.Integer()
    lots = fields.List(fields.Nested(RecallLotTotalSchema))


class RecallClosureSchema(Schema):
    seq = fields.Integer()
    closed_at = fields.String()
    closed_by = fields.Nested(RecallPartySchema)
    cause = fields.String()
    responsibility = fields.String()
    lessons = fields.String()
    corrective_actions = fields.String()
    report = fields.String(allow_none=True)


class RecallSchema(PublicRecallSchema):
    """A recall as the caller may see it: ``access`` full (regulators, the initiator and the
    producer), holder (its own part) or public (the notice only)."""

    access = fields.String(metadata={"enum": ["full", "holder", "public"]})
    enterprise = fields.Nested(RecallPartySchema, metadata={"description": "who started it"})
    as_of = fields.Integer(metadata={"description": "the ledger size the scope was expanded "
                                                    "at"})
    deadlines = fields.Nested(RecallDeadlinesSchema)
    scope = fields.List(fields.Nested(ScopeLotSchema))
    holders = fields.List(fields.Nested(RecallHolderViewSchema))
    progress = fields.Nested(RecallProgressTotalsSchema)
    overdue = fields.Boolean()
    closure = fields.Nested(RecallClosureSchema, allow_none=True)


class RecallPageSchema(Schema):
    items = fields.List(fields.Nested(RecallSchema))
    next_cursor = fields.String(allow_none=True)


class LotRecallStatusSchema(Schema):
    status = fields.String(metadata={"enum": ["none", "open", "closed"]})
    id = fields.Integer(allow_none=True)
    level = fields.Integer(allow_none=True)
    level_name_zh = fields.String(allow_none=True)
    level_name_en = fields.String(allow_none=True)
    initiated_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    consumer_advice = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)


class LotProductSchema(Schema):
    gtin = fields.String()
    name = fields.String()
    category = fields.String()
    standard = fields.String()
    spec = fields.String()
    producer = fields.String()


class LotStatusSchema(Schema):
    """A lot's product and recall status, for the consumer's scan (public)."""

    gtin = fields.String()
    lot = fields.String()
    product = fields.Nested(LotProductSchema, allow_none=True)
    produced_at = fields.String(allow_none=True)
    expiry = fields.String(allow_none=True)
    recall = fields.Nested(LotRecallStatusSchema)
