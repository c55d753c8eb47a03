"""The supervision projections: recomputed from the entries by ``tracenet rebuild``.

Each table is what the rules read and what listings, trace and recall will query; none of it
is the truth (the entries are), so every row can be dropped and replayed.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base

__all__ = [
    "PROJECTIONS",
    "AdditiveFilingRow",
    "AggregationRow",
    "CREDIT_PROJECTIONS",
    "CounterRow",
    "EnterpriseGs1KeyRow",
    "EpcisCapturedRow",
    "CreditApplicationRow",
    "CreditChangeRow",
    "CreditGradeRow",
    "CreditStepRow",
    "LotEdgeRow",
    "LotInputRow",
    "LotRecallRow",
    "LotRow",
    "NoticeRow",
    "ProductRow",
    "RecallHolderRow",
    "RecallHoldingRow",
    "RecallLotRow",
    "RecallReportRow",
    "RecallRow",
    "RecordRow",
    "SpotCheckPickRow",
    "SpotCheckPlanRow",
    "StockRow",
    "UnitRow",
]


class ProductRow(Base):
    """A registered product (GTIN) and the category rules it falls under."""

    __tablename__ = "products"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(8), index=True)
    standard: Mapped[str] = mapped_column(String(60))
    spec: Mapped[str] = mapped_column(String(200))
    registered_seq: Mapped[int] = mapped_column(BigInteger)
    #: the product's number in the ledger (1..999,999, in registration order): the first six
    #: digits of its units' supervision codes
    number: Mapped[int] = mapped_column(Integer, unique=True, index=True)
    #: the highest unit number its supervision codes have used (0: none yet)
    units_issued: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CounterRow(Base):
    """A named counter the rules draw numbers from (``product``: the last product number)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class LotRow(Base):
    """A lot (GTIN + lot code): where it came from and its inspection status."""

    __tablename__ = "lots"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    origin: Mapped[str] = mapped_column(String(40), index=True)
    origin_type: Mapped[str] = mapped_column(String(40))
    origin_seq: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))
    produced_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    expiry: Mapped[str | None] = mapped_column(String(40), nullable=True)
    inspection: Mapped[str] = mapped_column(String(10))  # none / pass / fail
    inspection_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    intake_rejected: Mapped[bool] = mapped_column(default=False)
    #: how many of its units were given serials (serialization entries), 0 if never
    serialized: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StockRow(Base):
    """How much of a lot an enterprise holds, in the lot's base unit (kg, L, pcs, case)."""

    __tablename__ = "stock"

    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))


class LotInputRow(Base):
    """An edge of the lot graph: ``input`` lot went into ``output`` lot."""

    __tablename__ = "lot_inputs"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    output_gtin: Mapped[str] = mapped_column(String(14), index=True)
    output_lot: Mapped[str] = mapped_column(String(20))
    input_gtin: Mapped[str] = mapped_column(String(14), index=True)
    input_lot: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))


class RecordRow(Base):
    """Every supervision record by seq, with what a listing needs (and whether superseded)."""

    __tablename__ = "records"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40), index=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    counterparty: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    gtin: Mapped[str | None] = mapped_column(String(14), nullable=True, index=True)
    lot: Mapped[str | None] = mapped_column(String(20), nullable=True)
    quantity: Mapped[str | None] = mapped_column(String(40), nullable=True)
    unit: Mapped[str | None] = mapped_column(String(8), nullable=True)
    document_no: Mapped[str | None] = mapped_column(String(60), nullable=True)
    received: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: material intake: whether the material passed intake
    accepted: Mapped[bool | None] = mapped_column(nullable=True)
    #: additive filing: the additive filed
    additive: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: inspection: pass / fail
    verdict: Mapped[str | None] = mapped_column(String(10), nullable=True)
    #: shipment: whether all of it was received
    fully_received: Mapped[bool | None] = mapped_column(nullable=True)
    #: correction (when its replacement made no record of its own): the seq it corrects
    corrects: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    event_time: Mapped[str] = mapped_column(String(40))
    superseded_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AdditiveFilingRow(Base):
    """A live food-additive filing for a product."""

    __tablename__ = "additive_filings"

    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    additive: Mapped[str] = mapped_column(String(100), primary_key=True)
    ins: Mapped[str | None] = mapped_column(String(20), nullable=True)
    level: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(BigInteger)


class UnitRow(Base):
    """A serialised unit code, or a logistic unit that aggregates others."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    gtin: Mapped[str | None] = mapped_column(String(14), nullable=True, index=True)
    lot: Mapped[str | None] = mapped_column(String(20), nullable=True)
    parent: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    #: the unit's 20-digit supervision code (电子监管码), when it was serialised with one
    supervision_code: Mapped[str | None] = mapped_column(String(20), nullable=True,
                                                         unique=True, index=True)


#: the serial units of a lot, which trace lists for the lots it reaches
Index("ix_units_gtin_lot", UnitRow.gtin, UnitRow.lot)
#: a lot's records with a counterparty: the receipt rule's open shipments to the receiver
Index("ix_records_gtin_lot_counterparty", RecordRow.gtin, RecordRow.lot, RecordRow.counterparty)


class AggregationRow(Base):
    """A unit code packed into a parent (a case, an SSCC pallet) by the entry ``seq``.

    ``units.parent`` says where a code is now; these rows keep when it got there, so a trace
    ``as_of`` an earlier ledger size finds the parent it had then (the latest row before it).
    """

    __tablename__ = "aggregations"

    child: Mapped[str] = mapped_column(String(100), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    parent: Mapped[str] = mapped_column(String(100), index=True)


class LotEdgeRow(Base):
    """An edge of the lot graph: goods of a lot at one holder passing into a lot at a holder.

    A node is a lot at a holder (enterprise, GTIN, lot); ``kind`` is the type of the record
    that made the edge. ``production``: an input lot at the producer -> the output lot at the
    producer, with the input quantity. ``material_intake`` (accepted): the lot at its supplier
    -> the same lot at the enterprise that took it in. ``shipment``: the lot at the shipper ->
    the same lot at the receiver (custody moves when it is shipped); ``receipt``: the same two
    nodes, with the quantity received against the shipment. ``seq`` is the entry
    that made the edge (a correction's own seq for the edge it re-routes), ``position`` the
    input's index in a production (0 otherwise), and ``superseded_by`` the correction that
    replaced it, so the graph as it stood at ledger size N is the edges with ``seq < N`` not
    superseded before N.
    """

    __tablename__ = "lot_edges"
    __table_args__ = (Index("ix_lot_edges_from", "from_gtin", "from_lot"),
                      Index("ix_lot_edges_to", "to_gtin", "to_lot"),
                      Index("ix_lot_edges_to_holder", "to_holder"))

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    from_holder: Mapped[str] = mapped_column(String(40))
    from_gtin: Mapped[str] = mapped_column(String(14))
    from_lot: Mapped[str] = mapped_column(String(20))
    to_holder: Mapped[str] = mapped_column(String(40))
    to_gtin: Mapped[str] = mapped_column(String(14))
    to_lot: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))
    superseded_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class NoticeRow(Base):
    """A warning or notice a rule attached to an entry when it was appended."""

    __tablename__ = "notices"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)


class RecallRow(Base):
    """A recall (召回), by the seq of its ``recall_initiated`` entry: what, how serious, why,
    and its closure with the four-part review (四不放过)."""

    __tablename__ = "recalls"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: who started it: the producer (voluntary, 主动召回) or a regulator (ordered, 责令召回)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    #: the producer that carries the recall out (the initiator of a voluntary one)
    producer: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    level: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    hazard: Mapped[str] = mapped_column(Text)
    consumer_advice: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the entry's event time: deadlines count from it
    initiated_at: Mapped[str] = mapped_column(String(40))
    #: the ledger size its scope was expanded at
    as_of: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open / closed
    closed_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    closed_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cause: Mapped[str | None] = mapped_column(Text, nullable=True)
    responsibility: Mapped[str | None] = mapped_column(Text, nullable=True)
    lessons: Mapped[str | None] = mapped_column(Text, nullable=True)
    corrective_actions: Mapped[str | None] = mapped_column(Text, nullable=True)
    report: Mapped[str | None] = mapped_column(String(200), nullable=True)


class RecallLotRow(Base):
    """A lot in a recall's scope, and how it got there: ``named`` by the initiator, found
    ``downstream`` when the scope was expanded, or ``made_from`` a recalled lot by a
    production recorded later (``via_seq`` is that entry)."""

    __tablename__ = "recall_lots"
    __table_args__ = (Index("ix_recall_lots_lot", "gtin", "lot"),)

    recall: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    via: Mapped[str] = mapped_column(String(12))
    via_seq: Mapped[int] = mapped_column(BigInteger)


class RecallHolderRow(Base):
    """An enterprise a recall reaches: its notice, and how far it got.

    ``notice`` is ``issued`` when the recall (or, for a holder found later, the late record
    ``via_seq``) reached it, ``acknowledged`` once it reported progress, ``complete`` once it
    reported its part done.
    """

    __tablename__ = "recall_holders"

    recall: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    via_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    notice: Mapped[str] = mapped_column(String(12))
    reports: Mapped[int] = mapped_column(Integer)
    first_report_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_report_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    complete: Mapped[bool] = mapped_column(default=False)
    completed_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    completed_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class RecallHoldingRow(Base):
    """What a holder had of a recalled lot when the recall reached it, and what it has done
    with it since, in the lot's base unit (each a running total of its reports)."""

    __tablename__ = "recall_holdings"

    recall: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    held: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(8))
    withdrawn: Mapped[str] = mapped_column(String(40))
    retrieved: Mapped[str] = mapped_column(String(40))
    destroyed: Mapped[str] = mapped_column(String(40))
    reworked: Mapped[str] = mapped_column(String(40))


class RecallReportRow(Base):
    """A holder's ``recall_progress`` entry: when, whether its part is done, the evidence."""

    __tablename__ = "recall_reports"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    recall: Mapped[int] = mapped_column(BigInteger, index=True)
    enterprise: Mapped[str] = mapped_column(String(40))
    reported_at: Mapped[str] = mapped_column(String(40))
    complete: Mapped[bool] = mapped_column()
    #: the evidence references, as a JSON list of strings
    evidence: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class LotRecallRow(Base):
    """A lot's recall status, which the shipment and production rules read on every entry:
    how many open recalls cover it, the most serious of them, and since when one is open."""

    __tablename__ = "lot_recalls"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    open_count: Mapped[int] = mapped_column(Integer)
    #: the open recall with the most serious level (the earliest of those), or None
    open_recall: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    open_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the latest recall that covers it, open or closed
    last_recall: Mapped[int] = mapped_column(BigInteger)


class SpotCheckPlanRow(Base):
    """A spot-check plan (双随机抽查计划), by the seq of its ``spot_check_plan`` entry: the
    frame and the commitment to the seed published before the draw, then the draw itself."""

    __tablename__ = "spot_check_plans"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: the regulator that planned it (and alone may draw it)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(Text)
    #: the district the frame was limited to, or None for the regulator's whole area
    district: Mapped[str | None] = mapped_column(String(100), nullable=True)
    commitment: Mapped[str] = mapped_column(String(80))
    planned_at: Mapped[str] = mapped_column(String(40))
    enterprises: Mapped[int] = mapped_column(Integer)
    lots_per_enterprise: Mapped[int] = mapped_column(Integer)
    #: units in the frame and units left out as exempt (信用免检)
    frame_size: Mapped[int] = mapped_column(Integer)
    exempt: Mapped[int] = mapped_column(Integer)
    draw_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    drawn_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    seed: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SpotCheckPickRow(Base):
    """An enterprise a draw chose, and a lot of it (``position`` 0 with no lot when none was
    drawn: the enterprise is inspected on site)."""

    __tablename__ = "spot_check_picks"
    __table_args__ = (Index("ix_spot_check_picks_lot", "gtin", "lot"),)

    plan: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    gtin: Mapped[str | None] = mapped_column(String(14), nullable=True)
    lot: Mapped[str | None] = mapped_column(String(20), nullable=True)
class CreditGradeRow(Base):
    """An enterprise's current quality credit grade (企业质量信用等级), from the newest
    ``credit_grade`` entry about it; an enterprise with no row is graded B."""

    __tablename__ = "credit_grades"

    enterprise: Mapped[str] = mapped_column(String(40), primary_key=True)
    grade: Mapped[str] = mapped_column(String(1), index=True)
    #: RFC 3339: when the grade was given (the recorded_at of its entry)
    since: Mapped[str] = mapped_column(String(40))
    #: RFC 3339: the end of an A grade's spot-check exemption (信用免检), else None
    exempt_until: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: the seq of the ``credit_grade`` entry
    seq: Mapped[int] = mapped_column(BigInteger)


class CreditChangeRow(Base):
    """One grade change (a ``credit_grade`` entry): an enterprise's credit history."""

    __tablename__ = "credit_changes"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    previous: Mapped[str] = mapped_column(String(1))
    grade: Mapped[str] = mapped_column(String(1))
    score: Mapped[str] = mapped_column(String(12))
    #: the seq after which the grading decided the change
    as_of_seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[str] = mapped_column(String(40))
    exempt_until: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cause: Mapped[str] = mapped_column(String(20))
    #: JSON list of the seqs the change rests on
    evidence: Mapped[str] = mapped_column(Text)
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)


class CreditApplicationRow(Base):
    """A grading application (信用评级申请) by the seq of its ``credit_application`` entry,
    and where it stands: applied -> prereviewed -> district_reviewed -> approved / rejected."""

    __tablename__ = "credit_applications"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    grade: Mapped[str] = mapped_column(String(1))
    statement: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), index=True)
    applied_at: Mapped[str] = mapped_column(String(40))
    #: the seq of the latest step (the application's own seq until one is taken)
    updated_seq: Mapped[int] = mapped_column(BigInteger)
    #: the district of the bureau that took the district review (the panel sits above it)
    district_reviewer: Mapped[str | None] = mapped_column(String(100), nullable=True)


class CreditStepRow(Base):
    """One step taken on a grading application (a ``credit_review`` entry)."""

    __tablename__ = "credit_steps"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    application: Mapped[int] = mapped_column(BigInteger, index=True)
    step: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))
    by: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(40))


class EnterpriseGs1KeyRow(Base):
    """A GS1 company prefix or GLN an enterprise registered (``gs1_keys_registered``): what
    says which enterprise an EPCIS event's location belongs to."""

    __tablename__ = "enterprise_gs1_keys"

    #: ``prefix`` (a GS1 company prefix, 6-12 digits) or ``gln`` (13 digits)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(13), primary_key=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class EpcisCapturedRow(Base):
    """An EPCIS event captured into the ledger, by its CBV 2.0 event hash ID: the entry that
    holds it (its first part) and whose it is. A second capture of the same hash ID is
    refused (rule ``epcis.duplicate``)."""

    __tablename__ = "epcis_captured"

    hash_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: the client's eventID, or the hash ID when the event came without one
    event_id: Mapped[str] = mapped_column(String(500), index=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    enterprise: Mapped[str] = mapped_column(String(40), index=True)


#: every supervision projection table, in an order safe to clear and refill
PROJECTIONS = (CounterRow, ProductRow, LotRow, StockRow, LotInputRow, RecordRow,
               AdditiveFilingRow, UnitRow, NoticeRow, LotEdgeRow, AggregationRow,
               RecallRow, RecallLotRow, RecallHolderRow, RecallHoldingRow, RecallReportRow,
               LotRecallRow, SpotCheckPlanRow, SpotCheckPickRow, EnterpriseGs1KeyRow,
               EpcisCapturedRow)
#: the quality credit projections (the ``credit_*`` entries'): rebuilt with the others, listed
#: apart because a ledger without credit entries (the demo as loaded, before the grading runs)
#: leaves them empty
CREDIT_PROJECTIONS = (CreditGradeRow, CreditChangeRow, CreditApplicationRow, CreditStepRow)
