"""Payload schemas of the supervision records producers log (one per entry type).

Each schema validates and normalises (GTINs to 14 digits); what it loads is what the ledger
stores. Every field has an example, so the OpenAPI description shows a complete record.
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from ledger.supervision import credit, names
from ledger.supervision.captured import HASH_ID
from ledger.supervision.gs1 import check_gln, check_prefix
from ledger.supervision.quantity import UNITS
from ledger.supervision.reference import load_reference
from ledger.supervision.registry import RECORD_TYPES
from schemas.codes import GTINField, LotField, RFC3339Field, USCCField, validate_amount

__all__ = ["RECORD_SCHEMAS", "typed_fields"]


def _unit(example: str = "kg") -> fields.String:
    return fields.String(required=True, validate=validate.OneOf(list(UNITS)),
                         metadata={"example": example})


def _quantity(example: str = "1000") -> fields.String:
    return fields.String(required=True, validate=validate_amount, metadata={"example": example})


def _category(code: str) -> str:
    if code not in load_reference().categories:
        raise ValidationError(f"{code!r} is not one of the 69 supervised categories")
    return code


def _gtin(example: str = "06901234567892") -> GTINField:
    return GTINField(required=True, metadata={"example": example})


class EpcisReferenceSchema(Schema):
    """The EPCIS 2.0 event a record was captured from (``POST /epcis/capture``)."""

    hash_id = fields.String(required=True, validate=validate.Regexp(HASH_ID.pattern),
                            metadata={"description": "the event's CBV 2.0 event hash ID",
                                      "example": "ni:///sha-256;"
                                                 "b3d481c5590757ab8361a6cb0e924820feb3b61e"
                                                 "b568e7d7703f21a96f76f51d?ver=CBV2.0"})
    event_id = fields.String(required=True, validate=validate.Length(1, 500), metadata={
        "description": "the client's eventID, or the hash ID when the event had none",
        "example": "urn:uuid:6a2b0f8e-1b7e-4c1e-9d62-2f3c1d0a7e11"})
    part = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                          metadata={"description": "which of the event's records this is",
                                    "example": 0})
    parts = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                           metadata={"description": "how many records the event became",
                                     "example": 1})
    event = fields.Dict(metadata={"description": "part 0 only: the event exactly as received"})

    @validates_schema
    def _event_on_first_part(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["part"] >= data["parts"]:
            raise ValidationError(f"part {data['part']} of {data['parts']} parts", "part")
        if (data["part"] == 0) != ("event" in data):
            raise ValidationError("part 0, and only part 0, carries the event", "event")


#: metadata of a field that only EPCIS capture sets: no sheet column, no console form field
CAPTURE_ONLY = "capture_only"


class _Capturable(Schema):
    """A record that an EPCIS event may become: it can carry its ``epcis`` reference."""

    epcis = fields.Nested(EpcisReferenceSchema, metadata={
        "description": "set when the record was captured from an EPCIS 2.0 event",
        CAPTURE_ONLY: True})


def typed_fields(schema: Schema) -> list[tuple[str, fields.Field[Any]]]:
    """The payload fields a person fills in (a sheet's columns, a form's fields), by their
    wire names, in the schema's order: all but those only EPCIS capture sets."""
    return [(field.data_key or name, field) for name, field in schema.fields.items()
            if not field.metadata.get(CAPTURE_ONLY)]


class ProductRegisteredSchema(Schema):
    gtin = _gtin()
    name = fields.String(required=True, validate=validate.Length(1, 200),
                         metadata={"example": "全脂纯牛奶 250mL"})
    category = fields.String(required=True, validate=_category, metadata={
        "description": "one of the 69 supervised category codes", "example": "07"})
    standard = fields.String(required=True, validate=validate.Length(1, 60), metadata={
        "description": "执行标准", "example": "GB 25190-2010"})
    spec = fields.String(load_default="", validate=validate.Length(max=200),
                         metadata={"example": "250mL×24"})


class MaterialIntakeSchema(_Capturable):
    gtin = _gtin()
    lot = LotField(required=True, metadata={"example": "RM20261126A"})
    material = fields.String(required=True, validate=validate.Length(1, 200),
                             metadata={"example": "生乳"})
    supplier = USCCField(required=True, metadata={"example": "91350100MA0000001P"})
    quantity = _quantity()
    unit = _unit()
    received_at = RFC3339Field(required=True, metadata={"example": "2026-11-26T07:00:00+08:00"})
    certificate = fields.String(load_default=None, validate=validate.Length(max=60),
                                metadata={"example": "QC-2026-1126-01"})
    accepted = fields.Boolean(required=True, metadata={"example": True})


class AdditiveFilingSchema(Schema):
    gtin = _gtin()
    additive = fields.String(required=True, validate=validate.Length(1, 100),
                             metadata={"example": "山梨酸钾"})
    ins = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{3,4}[a-z]?$"),
                        metadata={"example": "202"})
    function = fields.String(required=True, validate=validate.Length(1, 60),
                             metadata={"example": "防腐剂"})
    level = fields.String(required=True, validate=validate_amount, metadata={"example": "0.5"})
    unit = fields.String(required=True, validate=validate.OneOf(["g/kg", "mg/kg", "g/L",
                                                                 "mg/L"]),
                         metadata={"example": "g/kg"})


class LotInputSchema(Schema):
    gtin = _gtin()
    lot = LotField(required=True, metadata={"example": "RM20261126A"})
    quantity = _quantity("800")
    unit = _unit()


class ProductionSchema(_Capturable):
    gtin = _gtin("06901234567908")
    lot = LotField(required=True, metadata={"example": "P20261126-01"})
    quantity = _quantity("4000")
    unit = _unit("pcs")
    produced_at = RFC3339Field(required=True, metadata={"example": "2026-11-26T10:00:00+08:00"})
    expiry = fields.String(load_default=None, validate=validate.Regexp(
        r"^\d{4}-\d{2}-\d{2}$", error="expected a date such as 2027-05-26"),
        metadata={"example": "2027-05-26"})
    inputs = fields.List(fields.Nested(LotInputSchema), load_default=list)
    # 产值: what the white paper's output-value qualification rate weighs lots by; optional,
    # and absent (not null) when not given, so productions without it read as before
    output_value = fields.String(validate=validate_amount, metadata={
        "example": "252000", "description": "the lot's ex-factory value in CNY (产值)"})
    additives_used = fields.List(fields.String(validate=validate.Length(1, 100)),
                                 load_default=list, metadata={"example": ["山梨酸钾"]})


class InspectionItemSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 100),
                         metadata={"example": "三聚氰胺"})
    value = fields.String(required=True, validate=validate.Length(1, 40),
                          metadata={"example": "0.05"})
    limit = fields.String(load_default=None, validate=validate.Length(max=40),
                          metadata={"example": "≤2.5"})
    unit = fields.String(load_default=None, validate=validate.Length(max=20),
                         metadata={"example": "mg/kg"})
    passed = fields.Boolean(required=True, data_key="pass", metadata={"example": True})

    @post_load
    def _wire_name(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        # Stored under its wire name "pass", as sent and as the rules read it.
        data["pass"] = data.pop("passed")
        return data


class InspectionSchema(_Capturable):
    gtin = _gtin()
    lot = LotField(required=True, metadata={"example": "RM20261126A"})
    kind = fields.String(required=True, validate=validate.OneOf(
        ["self", "third_party", "spot_check", "incoming"]), metadata={"example": "incoming"})
    lab = fields.String(required=True, validate=validate.Length(1, 200),
                        metadata={"example": "福建省产品质量检验研究院"})
    lab_uscc = USCCField(load_default=None, metadata={"example": "12350000488000417E"})
    standard = fields.String(load_default=None, validate=validate.Length(max=60),
                             metadata={"example": "GB 19301-2010"})
    items = fields.List(fields.Nested(InspectionItemSchema), required=True,
                        validate=validate.Length(min=1))
    verdict = fields.String(required=True, validate=validate.OneOf(["pass", "fail"]),
                            metadata={"example": "pass"})
    report_no = fields.String(required=True, validate=validate.Length(1, 60),
                              metadata={"example": "FJQI-2026-08812"})
    inspected_at = RFC3339Field(required=True, metadata={"example": "2026-11-26T09:00:00+08:00"})


class _Movement(_Capturable):
    gtin = _gtin("06901234567908")
    lot = LotField(required=True, metadata={"example": "P20261126-01"})
    quantity = _quantity("480")
    unit = _unit("pcs")
    counterparty = USCCField(required=True, metadata={"example": "91350100MA0000002T"})
    document_no = fields.String(required=True, validate=validate.Length(1, 60),
                                metadata={"example": "DN-20261126-007"})


class ShipmentSchema(_Movement):
    shipped_at = RFC3339Field(required=True, metadata={"example": "2026-11-26T14:00:00+08:00"})


class ReceiptSchema(_Movement):
    received_at = RFC3339Field(required=True, metadata={"example": "2026-11-26T18:00:00+08:00"})


class SerializationSchema(_Capturable):
    gtin = _gtin("06901234567908")
    lot = LotField(required=True, metadata={"example": "P20261126-01"})
    serials = fields.List(fields.String(validate=validate.Regexp(r"^[!-~]{1,20}$")),
                          required=True, validate=validate.Length(1, 100_000),
                          metadata={"example": ["K7M3QX9TRW2H", "P4DNV8C2JZ6E"]})
    codes = fields.List(
        fields.String(validate=validate.Regexp(r"^[0-9]{20}$")),
        validate=validate.Length(1, 100_000),
        metadata={"example": ["00000100000015274839", "00000100000023391024"],
                  "description": "each unit's 20-digit supervision code, in the order of "
                                 "serials (one per serial); minted by the server "
                                 "(POST /api/v1/lots/{gtin}/{lot}/serials), whose secret "
                                 "keys six of its digits"})


class AggregationSchema(_Capturable):
    parent = fields.String(required=True, validate=validate.Length(1, 100),
                           metadata={"example": "(00)069012340000000017"})
    children = fields.List(fields.String(validate=validate.Length(1, 100)), required=True,
                           validate=validate.Length(min=1),
                           metadata={"example": ["(01)06901234567908(21)000001"]})


class CorrectionSchema(Schema):
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                         metadata={"example": 1234})
    reason = fields.String(required=True, validate=validate.Length(1, 500),
                           metadata={"example": "检验报告编号录入错误"})
    replacement = fields.Dict(required=True, metadata={
        "description": "the corrected payload, in the superseded record's own schema"})


def free_text(example: str, length: int = 2000, required: bool = True) -> fields.String:
    """Free text that says something: not empty, not only blanks."""
    if not required:
        return fields.String(load_default=None, validate=validate.Length(max=length),
                             metadata={"example": example})
    return fields.String(required=True, validate=[
        validate.Length(1, length), validate.Regexp(r"\S", error="must not be blank")],
        # Python's blanks (str.isspace, which \S negates) include \x1c-\x1f and \x85, which
        # ECMAScript's \s (an OpenAPI pattern's) does not.
        metadata={"example": example, "pattern": "[^\\s\\x1c-\\x1f\\x85]"})


class LotRefSchema(Schema):
    gtin = _gtin("06901234567908")
    lot = LotField(required=True, metadata={"example": "SR20261102"})


class HeldLotSchema(LotRefSchema):
    held = fields.String(load_default="0", validate=validate_amount, metadata={
        "description": "what the holder held of the lot when the scope was expanded",
        "example": "480"})
    unit = _unit("pcs")


class RecallHolderSchema(Schema):
    enterprise = USCCField(required=True, metadata={"example": "91350100MA0000002T"})
    lots = fields.List(fields.Nested(HeldLotSchema), load_default=list)


class RecallScopeSchema(Schema):
    as_of = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                           metadata={"description": "the ledger size the scope was expanded "
                                                    "at: anyone can recompute it",
                                     "example": 5120})
    lots = fields.List(fields.Nested(LotRefSchema), required=True,
                       validate=validate.Length(min=1), metadata={
                           "description": "every lot recalled: the named ones and, when "
                                          "expanded, every lot made from them downstream"})
    holders = fields.List(fields.Nested(RecallHolderSchema), load_default=list, metadata={
        "description": "every enterprise the recall reaches, with what it held"})


class RecallInitiatedSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["voluntary", "ordered"]),
                         metadata={"description": "voluntary (主动召回, by the producer) or "
                                                  "ordered (责令召回, by a regulator)",
                                   "example": "ordered"})
    level = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2, 3]),
                           metadata={"description": "一级 1 (24 h / 10 working days), 二级 2 "
                                                    "(48 h / 20), 三级 3 (72 h / 30)",
                                     "example": 1})
    producer = USCCField(load_default=None, metadata={
        "description": "the producer that carries the recall out (required when ordered; a "
                       "voluntary recall's is its initiator)",
        "example": "91350100MA0000002T"})
    reason = free_text("生乳批次三聚氰胺检出值 3.8 mg/kg，超过限量 2.5 mg/kg")
    hazard = free_text("长期食用可能导致泌尿系统结石")
    consumer_advice = free_text("立即停止食用，凭购物凭证到购买处退货", required=False)
    lots = fields.List(fields.Nested(LotRefSchema), required=True,
                       validate=validate.Length(min=1),
                       metadata={"description": "the lots named as recalled"})
    scope = fields.Nested(RecallScopeSchema, required=True)


class ProgressLotSchema(LotRefSchema):
    unit = _unit("pcs")
    withdrawn = fields.String(load_default="0", validate=validate_amount, metadata={
        "description": "taken off sale (下架)", "example": "120"})
    retrieved = fields.String(load_default="0", validate=validate_amount, metadata={
        "description": "taken back from consumers (追回); back into stock", "example": "8"})
    destroyed = fields.String(load_default="0", validate=validate_amount, metadata={
        "description": "destroyed (销毁); out of stock", "example": "128"})
    reworked = fields.String(load_default="0", validate=validate_amount, metadata={
        "description": "made safe or relabelled (无害化处理); out of stock", "example": "0"})


class RecallProgressSchema(Schema):
    recall = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                            metadata={"description": "the recall_initiated seq",
                                      "example": 5121})
    lots = fields.List(fields.Nested(ProgressLotSchema), load_default=list)
    evidence = fields.List(fields.String(validate=validate.Length(1, 200)), load_default=list,
                           metadata={"description": "references to the proof: destruction "
                                                    "records, photos, receipts",
                                     "example": ["XH-2026-1106-01"]})
    complete = fields.Boolean(load_default=False, metadata={
        "description": "this holder's part of the recall is done", "example": False})
    note = free_text("已全部下架封存", required=False)


class RecallClosedSchema(Schema):
    recall = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                            metadata={"example": 5121})
    cause = free_text("牧场收奶环节人为添加三聚氰胺", 4000)
    responsibility = free_text("牧场负责人移送公安机关，乳业公司质量负责人停职", 4000)
    lessons = free_text("全员培训生乳验收与快检规程", 4000)
    corrective_actions = free_text("每批生乳入厂加测三聚氰胺，停止向该牧场采购", 4000)
    report = fields.String(load_default=None, validate=validate.Length(max=200), metadata={
        "description": "the producer's summary report (召回总结报告), by reference",
        "example": "ZH-2026-11-28"})


class FrameLotSchema(LotRefSchema):
    weight = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                            metadata={"example": 6})


class FrameEnterpriseSchema(Schema):
    uscc = USCCField(required=True, metadata={"example": "91350100MA0000002T"})
    weight = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                            metadata={"description": "the enterprise's weight in the draw "
                                                     "(grade x risk class x recent failures)",
                                      "example": 12})
    grade = fields.String(load_default=None, validate=validate.OneOf(["A", "B", "C", "D"]),
                          metadata={"example": "B"})
    risk_class = fields.String(load_default=None,
                               validate=validate.OneOf(["high", "medium", "low"]),
                               metadata={"example": "high"})
    failures = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0),
                              metadata={"description": "failed inspections in the look-back "
                                                       "period", "example": 1})
    lots = fields.List(fields.Nested(FrameLotSchema), load_default=list)


class FrameSchema(Schema):
    as_of = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                           metadata={"description": "the ledger size the frame was computed "
                                                    "at", "example": 5120})
    at = RFC3339Field(required=True, metadata={"example": "2026-11-28T09:00:00+08:00"})
    enterprises = fields.List(fields.Nested(FrameEnterpriseSchema), required=True,
                              validate=validate.Length(min=1))


class ExemptSchema(Schema):
    uscc = USCCField(required=True, metadata={"example": "91350100MA0000003R"})
    until = RFC3339Field(load_default=None, metadata={"example": "2027-06-30T00:00:00+08:00"})


class SpotCheckPlanSchema(Schema):
    title = free_text("2026 年第四季度乳制品双随机抽查", 200)
    district = fields.String(load_default=None, validate=validate.Length(max=100),
                             metadata={"example": "福州市鼓楼区"})
    categories = fields.List(fields.String(validate=_category), load_default=None,
                             metadata={"example": ["07"]})
    enterprises = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=1, max=10_000),
                                 metadata={"description": "how many enterprises to draw",
                                           "example": 3})
    lots_per_enterprise = fields.Integer(required=True, strict=True,
                                         validate=validate.Range(min=0, max=20),
                                         metadata={"example": 1})
    commitment = fields.String(required=True, validate=validate.Regexp(r"^sha256:[0-9a-f]{64}$"),
                               metadata={"description": "sha256: and the hex SHA-256 of the "
                                                        "32-byte seed revealed by the draw",
                                         "example": "sha256:" + "0" * 64})
    frame = fields.Nested(FrameSchema, required=True)
    exempt = fields.List(fields.Nested(ExemptSchema), load_default=list, metadata={
        "description": "enterprises left out of the frame: A-graded, within their exemption"})


class SelectedSchema(Schema):
    uscc = USCCField(required=True, metadata={"example": "91350100MA0000002T"})
    lots = fields.List(fields.Nested(LotRefSchema), load_default=list)


class SpotCheckDrawSchema(Schema):
    plan = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                          metadata={"description": "the spot_check_plan seq", "example": 5121})
    seed = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"),
                         metadata={"example": "0" * 64})
    selected = fields.List(fields.Nested(SelectedSchema), required=True)
def _seq_field(example: int, description: str, required: bool = True) -> fields.Integer:
    return fields.Integer(required=required, strict=True, validate=validate.Range(min=0),
                          metadata={"example": example, "description": description})


def _seq_list(description: str) -> fields.List[Any]:
    return fields.List(fields.Integer(strict=True, validate=validate.Range(min=0)),
                       load_default=list, validate=validate.Length(max=200),
                       metadata={"example": [812, 907], "description": description})


_GRADE = validate.OneOf(list(credit.GRADES))


class CreditGradeSchema(Schema):
    enterprise = USCCField(required=True)
    previous = fields.String(required=True, validate=_GRADE, metadata={"example": "B"})
    grade = fields.String(required=True, validate=_GRADE, metadata={"example": "C"})
    score = fields.String(required=True, validate=validate.Length(1, 12),
                          metadata={"example": "54.0"})
    as_of_seq = _seq_field(907, "the seq after which the grading decided the change")
    cause = fields.String(required=True, validate=validate.OneOf(
        ["grading", "panel", "exemption_ended"]), metadata={"example": "grading"})
    evidence = _seq_list("the seqs the change rests on, each named in both explanations")
    reason_zh = free_text("seq 812 监督抽检不合格 -26 分", 8000)
    reason_en = free_text("seq 812 failed spot check -26 points", 8000)
    exempt_until = RFC3339Field(load_default=None, allow_none=True, metadata={
        "description": "grade A: the end of the spot-check exemption",
        "example": "2029-11-28T00:00:00Z"})


class CreditApplicationSchema(Schema):
    grade = fields.String(required=True, validate=validate.OneOf(["A"]),
                          metadata={"example": "A", "description": "A: 信用免检"})
    statement = free_text("近三年监督抽检全部合格，无召回", 4000)


class CreditReviewSchema(Schema):
    application = _seq_field(5120, "the seq of the credit_application entry")
    step = fields.String(required=True, validate=validate.OneOf(list(credit.STEPS)),
                         metadata={"example": "prereview"})
    outcome = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]),
                            metadata={"example": "approve"})
    note = free_text("材料齐全，同意推荐", required=False)


class EnforcementSchema(Schema):
    enterprise = USCCField(required=True)
    violation = fields.String(required=True, validate=validate.OneOf(list(credit.VIOLATIONS)),
                              metadata={"example": "shipment.not_inspected"})
    note = free_text("现场检查发现批次未检验即出厂")
    evidence = _seq_list("the entries the violation concerns")


class EpcisEventSchema(Schema):
    epcis = fields.Nested(EpcisReferenceSchema, required=True)


def _each(check: Any) -> Any:
    def validate_key(value: str) -> str:
        problem = check(value)
        if problem is not None:
            raise ValidationError(problem)
        return value
    return validate_key


class Gs1KeysRegisteredSchema(Schema):
    enterprise = USCCField(required=True, metadata={"example": "91350100MA0000001P"})
    gs1_prefixes = fields.List(fields.String(validate=_each(check_prefix), metadata={
        "pattern": "^[0-9]{6,12}$"}), load_default=list, validate=validate.Length(max=100),
        metadata={"description": "GS1 company prefixes (6-12 digits)",
                  "example": ["6901234"]})
    glns = fields.List(fields.String(validate=_each(check_gln), metadata={
        "pattern": "^[0-9]{13}$"}), load_default=list, validate=validate.Length(max=1000),
        metadata={"description": "GLNs (13 digits with a GS1 check digit) of locations "
                                 "and parties", "example": ["6901234000009"]})


_SCHEMAS: dict[str, type[Schema]] = {
    names.PRODUCT_REGISTERED: ProductRegisteredSchema,
    names.MATERIAL_INTAKE: MaterialIntakeSchema,
    names.ADDITIVE_FILING: AdditiveFilingSchema,
    names.PRODUCTION: ProductionSchema,
    names.INSPECTION: InspectionSchema,
    names.SHIPMENT: ShipmentSchema,
    names.RECEIPT: ReceiptSchema,
    names.SERIALIZATION: SerializationSchema,
    names.AGGREGATION: AggregationSchema,
    names.RECALL_INITIATED: RecallInitiatedSchema,
    names.RECALL_PROGRESS: RecallProgressSchema,
    names.RECALL_CLOSED: RecallClosedSchema,
    names.SPOT_CHECK_PLAN: SpotCheckPlanSchema,
    names.SPOT_CHECK_DRAW: SpotCheckDrawSchema,
    names.CORRECTION: CorrectionSchema,
    names.EPCIS_EVENT: EpcisEventSchema,
    names.GS1_KEYS_REGISTERED: Gs1KeysRegisteredSchema,
    names.CREDIT_GRADE: CreditGradeSchema,
    names.CREDIT_APPLICATION: CreditApplicationSchema,
    names.CREDIT_REVIEW: CreditReviewSchema,
    names.ENFORCEMENT: EnforcementSchema,
}
if set(_SCHEMAS) != {record_type.name for record_type in RECORD_TYPES}:  # pragma: no cover
    raise RuntimeError("every record type of the registry needs exactly one payload schema")

#: the payload schema of each record type, in the registry's order
RECORD_SCHEMAS: dict[str, type[Schema]] = {t.name: _SCHEMAS[t.name] for t in RECORD_TYPES}
