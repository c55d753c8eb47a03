"""API bodies and responses for serialising a lot's units and printing their labels
(/api/v1/lots/{gtin}/{lot}/serials, .../labels.pdf). The ``serialization`` entry's own
payload is in :mod:`schemas.records`."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

__all__ = ["LabelSheetQuery", "SerializeSchema", "SerializedSchema", "UnitListQuery",
           "UnitListSchema", "UnitSchema"]

#: the most units one request serialises (one ``serialization`` entry)
MAX_COUNT = 100_000
#: the most labels one sheet prints (scanners.labels.MAX_SHEET_LABELS)
MAX_SHEET = 1000


class SerializeSchema(Schema):
    """How many units of the lot to serialise."""

    count = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_COUNT),
                           metadata={"example": 24, "description": "1 to 100,000 units"})


class UnitSchema(Schema):
    """One unit: its serial (GS1 AI 21) and its 20-digit supervision code (电子监管码)."""

    serial = fields.String(required=True, metadata={"example": "K7M3QX9TRW2H"})
    supervision_code = fields.String(required=True, allow_none=True,
                                     metadata={"example": "00000100000015274839"})


class SerializedSchema(Schema):
    """The units just serialised, in the order of their unit numbers."""

    gtin = fields.String(required=True, metadata={"example": "06901234567892"})
    lot = fields.String(required=True, metadata={"example": "P20261126-01"})
    seq = fields.Integer(required=True, metadata={
        "description": "the seq of the serialization entry"})
    count = fields.Integer(required=True)
    units = fields.List(fields.Nested(UnitSchema), required=True)


class LabelSheetQuery(Schema):
    """Which units and what grid: an A4 sheet of one label per unit, in the order the units
    were issued, ``count`` of them from number ``first``."""

    columns = fields.Integer(load_default=2, validate=validate.Range(1, 4), metadata={
        "description": "labels across (each at least 60 mm wide)"})
    rows = fields.Integer(load_default=7, validate=validate.Range(1, 12), metadata={
        "description": "labels down (each at least 30 mm high)"})
    margin = fields.Float(load_default=10.0, validate=validate.Range(0, 40), metadata={
        "description": "page margin in millimetres"})
    gap = fields.Float(load_default=2.0, validate=validate.Range(0, 20), metadata={
        "description": "space between labels in millimetres"})
    first = fields.Integer(load_default=1, validate=validate.Range(1, 9_999_999), metadata={
        "description": "the first unit to print (1: the first issued)"})
    count = fields.Integer(load_default=MAX_SHEET, validate=validate.Range(1, MAX_SHEET),
                           metadata={"description": "how many units (at most 1,000 a sheet)"})


class UnitListQuery(Schema):
    """A page of a lot's units, in the order they were issued."""

    first = fields.Integer(load_default=1, validate=validate.Range(1, 9_999_999), metadata={
        "description": "the first unit (1: the first issued)"})
    count = fields.Integer(load_default=1000, validate=validate.Range(1, 10_000))


class UnitListSchema(Schema):
    """The lot's units from ``first``; ``next_first`` continues (None after the last)."""

    gtin = fields.String(required=True)
    lot = fields.String(required=True)
    total = fields.Integer(required=True, metadata={"description": "units serialised in all"})
    first = fields.Integer(required=True)
    next_first = fields.Integer(required=True, allow_none=True)
    units = fields.List(fields.Nested(UnitSchema), required=True)
