"""What a shopper sees of a code, and the evidence behind it: the public JSON of
``GET /api/v1/public/lookup`` (:meth:`ledger.consumer.Lookup.as_json`) and
``GET /api/v1/public/evidence`` (:func:`ledger.consumer.evidence.evidence`), described for the
OpenAPI document. Every key is always present (null where nothing was found), whatever the
code, so a code never issued answers in the same shape as an issued one."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from schemas.events import SignedEntryTimestampSchema

__all__ = ["EvidenceSchema", "LookupSchema"]


def _text(**metadata: Any) -> fields.String:
    """A text that is always there, null when nothing was found."""
    return fields.String(allow_none=True, required=True, metadata=metadata)


def _number(**metadata: Any) -> fields.Integer:
    """A number that is always there, null when nothing was found."""
    return fields.Integer(allow_none=True, required=True, metadata=metadata)



class ProductViewSchema(Schema):
    found = fields.Boolean(required=True)
    gtin = _text(example="06927331000018")
    name = _text(example="全脂纯牛奶 250mL")
    spec = _text()
    standard = _text(example="GB 25190-2010")
    category = _text(example="07")
    category_zh = _text(example="乳制品")
    category_en = _text(example="Dairy products")
    class_zh = _text()
    class_en = _text()
    seq = _number(description="its product_registered entry")


class LicenceSchema(Schema):
    kind = fields.String(required=True, metadata={"example": "SC"})
    number = fields.String(required=True, metadata={"example": "SC10535012100053"})


class MakerViewSchema(Schema):
    found = fields.Boolean(required=True)
    uscc = _text()
    name = _text()
    district = _text()
    licence_status = fields.String(required=True, metadata={
        "description": "licensed (food: an SC licence on record; otherwise any licence), "
                       "unlicensed, or unknown (no maker found)"})
    licences = fields.List(fields.Nested(LicenceSchema), required=True)
    seq = _number(description="its enterprise_registered entry")


class LotViewSchema(Schema):
    found = fields.Boolean(required=True)
    lot = _text()
    produced_at = _text(example="2026-11-20T10:00:00+08:00")
    expiry = _text(example="2027-05-20")
    expired = fields.Boolean(required=True, metadata={
        "description": "the expiry date is before today (China time)"})
    inspection = _text(description="latest verdict: none, pass or fail")
    seq = _number(description="the entry that made the lot")


class InspectionItemViewSchema(Schema):
    name = fields.String(allow_none=True)
    value = fields.String(allow_none=True)
    limit = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    passed = fields.Boolean(allow_none=True, data_key="pass")


class InspectionViewSchema(Schema):
    seq = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={
        "description": "self, third_party, spot_check or incoming"})
    inspected_at = _text()
    lab = _text()
    standard = _text()
    report_no = _text()
    verdict = fields.String(required=True, metadata={"description": "pass or fail"})
    items = fields.List(fields.Nested(InspectionItemViewSchema), required=True)


class RecallViewSchema(Schema):
    status = fields.String(required=True, metadata={"description": "open, closed or none"})
    id = _number(description="the recall_initiated entry's seq")
    level = _number()
    level_name_zh = _text()
    level_name_en = _text()
    initiated_at = _text()
    reason = _text()
    consumer_advice = _text()
    closed_at = _text()


class QueryViewSchema(Schema):
    counted = fields.Boolean(required=True, metadata={
        "description": "whether this query was counted (unit codes only)"})
    count = fields.Integer(required=True, metadata={"description": "queries, this one included"})
    first_at = _text(description="when the first query was")
    first = fields.Boolean(required=True, metadata={"description": "this is the first query"})


class ShownEntrySchema(Schema):
    seq = fields.Integer(required=True)
    role = fields.String(required=True, metadata={
        "description": "maker, product, lot, inspection, recall, recall_closed or unit"})
    type = fields.String(required=True, metadata={"example": "inspection"})
    public = fields.Boolean(required=True, metadata={
        "description": "whether the evidence serves the entry's bytes (else its leaf hash)"})


class LookupSchema(Schema):
    """What a shopper may see of a code; never suppliers, customers, quantities or prices."""

    level = fields.String(required=True, metadata={"description": "product, lot or unit"})
    code = fields.String(required=True, metadata={
        "description": "the unit's code (01)…(21)…, or the code as asked",
        "example": "(01)06927331000018(21)A0001"})
    gtin = _text()
    lot = _text()
    serial = _text()
    found = fields.Boolean(required=True, metadata={
        "description": "the item the code names is on the ledger (a unit: issued)"})
    authenticity = fields.String(required=True, metadata={
        "description": "genuine, too_many_queries, not_issued, not_authentic, or unchecked "
                       "(a product or lot code)"})
    counterfeit = fields.Boolean(required=True)
    threshold = fields.Integer(required=True, metadata={
        "description": "queries of one unit code above which it is suspect"})
    warnings = fields.List(fields.String(), required=True, metadata={
        "example": ["counterfeit.not_issued", "lot.recalled", "lot.expired"]})
    product = fields.Nested(ProductViewSchema, required=True)
    maker = fields.Nested(MakerViewSchema, required=True)
    lot_info = fields.Nested(LotViewSchema, required=True)
    inspections = fields.List(fields.Nested(InspectionViewSchema), required=True)
    recall = fields.Nested(RecallViewSchema, required=True)
    queries = fields.Nested(QueryViewSchema, required=True)
    seqs = fields.List(fields.Integer(), required=True)
    entries = fields.List(fields.Nested(ShownEntrySchema), required=True)


class EvidenceEntrySchema(ShownEntrySchema):
    leaf_hash = fields.String(required=True, metadata={"description": "base64"})
    entry = fields.String(allow_none=True, required=True, metadata={
        "description": "the entry's canonical bytes, base64, for public entries; else null"})
    proof = fields.List(fields.String(), required=True, metadata={
        "description": "the RFC 6962 inclusion proof in the checkpoint's tree, base64 hashes"})


class OperatorKeySchema(Schema):
    verifier_key = fields.String(required=True, metadata={
        "description": "C2SP verifier key: origin+keyhash+base64"})
    public_key = fields.String(required=True, metadata={"description": "raw Ed25519, base64"})
    key_id = fields.String(required=True)


class CheckpointTimeSchema(Schema):
    """How new the checkpoint is, checkable: the signed entry timestamp of its last entry."""

    timestamp = fields.Nested(SignedEntryTimestampSchema, required=True)
    proof = fields.List(fields.String(), required=True, metadata={
        "description": "that entry's inclusion proof in the checkpoint's tree, base64 hashes"})


class EvidenceSchema(Schema):
    """The entries a shopper's page rests on, provable against the signed checkpoint."""

    origin = fields.String(required=True)
    checkpoint = fields.String(required=True, metadata={"description": "C2SP signed note"})
    checkpoint_time = fields.Nested(CheckpointTimeSchema, required=True)
    size = fields.Integer(required=True)
    root = fields.String(required=True, metadata={"description": "base64"})
    operator_key = fields.Nested(OperatorKeySchema, required=True)
    code = fields.String(required=True)
    gtin = _text()
    lot = _text()
    serial = _text()
    seqs = fields.List(fields.Integer(), required=True, metadata={
        "description": "the entries proven (those the checkpoint already covers)"})
    entries = fields.List(fields.Nested(EvidenceEntrySchema), required=True)
    witnesses = fields.List(fields.String(), metadata={
        "description": "the witnesses' verifier keys (C2SP tlog-cosignature) whose "
                       "cosignatures the checkpoint carries, when the server requires some"})
    min_cosignatures = fields.Integer(metadata={
        "description": "how many of the witnesses cosigned the checkpoint (0: none required)"})
