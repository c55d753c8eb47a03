"""The names of the supervision record types: the one spelling of each.

What each type is (its rules, its schema, its spreadsheet and form) is declared once, in
:mod:`ledger.supervision.registry`; everything else refers to a type by these names.
"""

from __future__ import annotations

__all__ = [
    "ADDITIVE_FILING",
    "AGGREGATION",
    "CORRECTION",
    "EPCIS_EVENT",
    "GS1_KEYS_REGISTERED",
    "CREDIT_APPLICATION",
    "CREDIT_GRADE",
    "CREDIT_REVIEW",
    "ENFORCEMENT",
    "INSPECTION",
    "MATERIAL_INTAKE",
    "PRODUCTION",
    "PRODUCT_REGISTERED",
    "RECALL_CLOSED",
    "RECALL_INITIATED",
    "RECALL_PROGRESS",
    "RECEIPT",
    "SERIALIZATION",
    "SHIPMENT",
    "SPOT_CHECK_DRAW",
    "SPOT_CHECK_PLAN",
]

PRODUCT_REGISTERED = "product_registered"
MATERIAL_INTAKE = "material_intake"
ADDITIVE_FILING = "additive_filing"
PRODUCTION = "production"
INSPECTION = "inspection"
SHIPMENT = "shipment"
RECEIPT = "receipt"
SERIALIZATION = "serialization"
AGGREGATION = "aggregation"
CORRECTION = "correction"
RECALL_INITIATED = "recall_initiated"
RECALL_PROGRESS = "recall_progress"
RECALL_CLOSED = "recall_closed"
SPOT_CHECK_PLAN = "spot_check_plan"
SPOT_CHECK_DRAW = "spot_check_draw"
#: an EPCIS event that maps to no native record, stored as captured (``ledger.epcis``)
EPCIS_EVENT = "epcis_event"
#: the operator's record of an enterprise's GS1 company prefixes and GLNs
GS1_KEYS_REGISTERED = "gs1_keys_registered"
CREDIT_GRADE = "credit_grade"
CREDIT_APPLICATION = "credit_application"
CREDIT_REVIEW = "credit_review"
ENFORCEMENT = "enforcement"
