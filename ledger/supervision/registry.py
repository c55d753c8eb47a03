"""The record-type registry: every supervision record type, declared once.

The rules (``admit``, ``correct``), the payload schemas (:mod:`schemas.records`, keyed by
these names and checked complete against them), the spreadsheet templates and the console
forms are all driven from :data:`RECORD_TYPES`. Identity entries (enterprise and key
registration) are the log's own and are not records.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from ledger.supervision import (
    captured,
    corrections,
    credit,
    gs1,
    lots,
    movements,
    names,
    products,
    recalls,
    spot_checks,
    units,
)
from ledger.supervision.context import RecordContext
from ledger.supervision.corrections import Corrector

__all__ = ["BY_NAME", "FORM_TYPES", "RECORD_TYPES", "SPREADSHEET_TYPES", "RecordType"]


@dataclass(frozen=True)
class RecordType:
    """One kind of supervision record and everything that is driven from it."""

    name: str
    #: checks an entry of this type against the projections and applies it
    admit: Callable[[RecordContext], None]
    #: replaces a record of this type on correction; None: only a compensating entry can
    correct: Corrector | None = None
    #: the payload field that says when the record happened (a blank event_time takes it)
    time_field: str | None = None
    #: whether a spreadsheet row can hold one (a correction's nested payload cannot)
    spreadsheet: bool = True
    #: whether the producer console has a form for it
    form: bool = True


_RECORDS = (
    RecordType(names.PRODUCT_REGISTERED, products.product_registered, products.correct_product),
    RecordType(names.MATERIAL_INTAKE, lots.material_intake, lots.correct_material_intake,
               time_field="received_at"),
    RecordType(names.ADDITIVE_FILING, products.additive_filing, products.correct_additive_filing),
    RecordType(names.PRODUCTION, lots.production, time_field="produced_at"),
    RecordType(names.INSPECTION, lots.inspection, lots.correct_inspection,
               time_field="inspected_at"),
    RecordType(names.SHIPMENT, movements.shipment, movements.correct_shipment,
               time_field="shipped_at"),
    RecordType(names.RECEIPT, movements.receipt, time_field="received_at"),
    RecordType(names.SERIALIZATION, units.serialization, form=False),
    RecordType(names.AGGREGATION, units.aggregation, form=False),
    # Recalls are started, reported and closed through ledger.recall (the API, the CLI), not
    # through generic forms or sheets; none is corrected: a later entry says what changed.
    RecordType(names.RECALL_INITIATED, recalls.recall_initiated, spreadsheet=False,
               form=False),
    RecordType(names.RECALL_PROGRESS, recalls.recall_progress, spreadsheet=False, form=False),
    RecordType(names.RECALL_CLOSED, recalls.recall_closed, spreadsheet=False, form=False),
    # Spot-check draws are planned and drawn through ledger.risk (the console, the CLI): the
    # frame and the draw are computed, never typed in; neither is corrected.
    RecordType(names.SPOT_CHECK_PLAN, spot_checks.spot_check_plan, spreadsheet=False,
               form=False),
    RecordType(names.SPOT_CHECK_DRAW, spot_checks.spot_check_draw, spreadsheet=False,
               form=False),
    # EPCIS capture (ledger.epcis): an event no native record can hold, kept as captured,
    # and the operator's record of the GS1 keys that say whose an event's location is.
    RecordType(names.EPCIS_EVENT, captured.epcis_event, spreadsheet=False, form=False),
    RecordType(names.GS1_KEYS_REGISTERED, gs1.gs1_keys_registered, spreadsheet=False,
               form=False),
    # Quality credit: grades are the grading's (ledger.credit), applications and their
    # reviews go through the credit pages, violations are a regulator's; none is corrected.
    RecordType(names.CREDIT_GRADE, credit.credit_grade, spreadsheet=False, form=False),
    RecordType(names.CREDIT_APPLICATION, credit.credit_application, spreadsheet=False,
               form=False),
    RecordType(names.CREDIT_REVIEW, credit.credit_review, spreadsheet=False, form=False),
    RecordType(names.ENFORCEMENT, credit.enforcement, spreadsheet=False, form=False),
)

#: every record type, in the order a producer meets them
RECORD_TYPES: tuple[RecordType, ...] = (
    *_RECORDS,
    RecordType(names.CORRECTION, functools.partial(
        corrections.correction,
        correctors={t.name: t.correct for t in _RECORDS if t.correct is not None}),
        spreadsheet=False, form=False),
)

BY_NAME: dict[str, RecordType] = {record_type.name: record_type for record_type in RECORD_TYPES}

#: the types a spreadsheet sheet can hold, and the types the console has a form for
SPREADSHEET_TYPES = tuple(t.name for t in RECORD_TYPES if t.spreadsheet)
FORM_TYPES = tuple(t.name for t in RECORD_TYPES if t.form)
