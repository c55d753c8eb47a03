"""API bodies of the risk endpoints: early-warning alerts and rates, spot-check plans and
draws, standards warnings (ledger.risk decides; these describe what goes in and out)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ledger.risk.models import ALERT_STATUSES
from ledger.supervision.reference import load_reference
from schemas.codes import USCCField
from schemas.records import free_text

__all__ = [
    "AlertListSchema",
    "AlertNoteSchema",
    "AlertQuery",
    "AlertSchema",
    "RatesSchema",
    "SpotCheckPlanRequestSchema",
    "SpotCheckPlanViewListSchema",
    "SpotCheckPlanViewSchema",
    "StandardsWarningListSchema",
]


class AlertSchema(Schema):
    id = fields.Integer(required=True)
    dimension = fields.String(required=True, metadata={
        "description": "category_district, category, class or district"})
    key = fields.String(required=True, metadata={"example": "07|福州市鼓楼区"})
    month = fields.String(required=True, metadata={"example": "2026-11"})
    category = fields.String(allow_none=True)
    class_code = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    inspections = fields.Integer(required=True)
    failures = fields.Integer(required=True)
    baseline_inspections = fields.Integer(required=True)
    baseline_failures = fields.Integer(required=True)
    p_value = fields.Float(required=True, metadata={
        "description": "Fisher's exact one-sided p of the month against the 12 before"})
    status = fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    raised_at = fields.String(required=True)
    acknowledged_by = fields.String(allow_none=True)
    acknowledged_at = fields.String(allow_none=True)
    acknowledge_note = fields.String(allow_none=True)
    closed_by = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    close_note = fields.String(allow_none=True)


class AlertListSchema(Schema):
    items = fields.List(fields.Nested(AlertSchema), required=True)


class AlertQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(ALERT_STATUSES))


class AlertNoteSchema(Schema):
    note = free_text("已派员现场核查，原料供应商已更换", 4000)


class _RateRowSchema(Schema):
    key = fields.String(required=True)
    label = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    inspections = fields.Integer(required=True)
    failures = fields.Integer(required=True)
    rate = fields.Float(allow_none=True, required=True)


class _MonthRateSchema(Schema):
    month = fields.String(required=True)
    inspections = fields.Integer(required=True)
    failures = fields.Integer(required=True)
    rate = fields.Float(allow_none=True, required=True)


class _RuleSchema(Schema):
    alpha = fields.Float(required=True)
    min_failures = fields.Integer(required=True)
    min_baseline = fields.Integer(required=True)
    baseline_months = fields.Integer(required=True)


class RatesSchema(Schema):
    months = fields.List(fields.Nested(_MonthRateSchema), required=True)
    category = fields.List(fields.Nested(_RateRowSchema), required=True)
    class_ = fields.List(fields.Nested(_RateRowSchema), required=True, data_key="class",
                         attribute="class")
    district = fields.List(fields.Nested(_RateRowSchema), required=True)
    rule = fields.Nested(_RuleSchema, required=True)


class SpotCheckPlanRequestSchema(Schema):
    title = free_text("2026 年第四季度乳制品双随机抽查", 200)
    enterprises = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=1, max=10_000),
                                 metadata={"example": 3})
    lots_per_enterprise = fields.Integer(load_default=1, strict=True,
                                         validate=validate.Range(min=0, max=20),
                                         metadata={"example": 1})
    categories = fields.List(
        fields.String(validate=validate.OneOf(sorted(load_reference().categories))),
        load_default=None, metadata={"example": ["07"],
                                     "description": "only these of the 69 category codes"})


class _PickedLotSchema(Schema):
    gtin = fields.String(required=True)
    lot = fields.String(required=True)
    verdict = fields.String(allow_none=True)
    inspection_seq = fields.Integer(allow_none=True)


class _PickedSchema(Schema):
    uscc = USCCField(required=True)
    name = fields.String(required=True)
    district = fields.String(allow_none=True)
    lots = fields.List(fields.Nested(_PickedLotSchema), required=True)


class SpotCheckPlanViewSchema(Schema):
    seq = fields.Integer(required=True)
    title = fields.String(required=True)
    planner = fields.String(required=True)
    planner_name = fields.String(required=True)
    district = fields.String(allow_none=True)
    planned_at = fields.String(required=True)
    commitment = fields.String(required=True)
    enterprises = fields.Integer(required=True)
    lots_per_enterprise = fields.Integer(required=True)
    frame_size = fields.Integer(required=True)
    exempt = fields.Integer(required=True)
    draw_seq = fields.Integer(allow_none=True)
    drawn_at = fields.String(allow_none=True)
    seed = fields.String(allow_none=True)
    selected = fields.List(fields.Nested(_PickedSchema), required=True)


class SpotCheckPlanViewListSchema(Schema):
    items = fields.List(fields.Nested(SpotCheckPlanViewSchema), required=True)


class _CitingSchema(Schema):
    uscc = fields.String(required=True)
    name = fields.String(required=True)
    district = fields.String(allow_none=True)
    products = fields.List(fields.Dict(), required=True)
    inspections = fields.List(fields.Dict(), required=True)
    filings = fields.List(fields.Dict(), required=True)


class _StandardsWarningSchema(Schema):
    standard = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ["withdrawn", "being_replaced", "not_yet_effective"]))
    severity = fields.String(required=True)
    message = fields.String(required=True)
    title_zh = fields.String(allow_none=True)
    title_en = fields.String(allow_none=True)
    replaced_by = fields.String(allow_none=True)
    replacement_title_zh = fields.String(allow_none=True)
    replacement_title_en = fields.String(allow_none=True)
    effective_from = fields.String(allow_none=True)
    enterprises = fields.List(fields.Nested(_CitingSchema), required=True)


class StandardsWarningListSchema(Schema):
    items = fields.List(fields.Nested(_StandardsWarningSchema), required=True)
