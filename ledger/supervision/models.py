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
    "LotEdgeRow",
    "LotInputRow",
    "LotRow",
    "NoticeRow",
    "ProductRow",
    "RecordRow",
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


#: the serial units of a lot, which trace lists for the lots it reaches
Index("ix_units_gtin_lot", UnitRow.gtin, UnitRow.lot)


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


#: every supervision projection table, in an order safe to clear and refill
PROJECTIONS = (ProductRow, LotRow, StockRow, LotInputRow, RecordRow, AdditiveFilingRow, UnitRow,
               NoticeRow, LotEdgeRow, AggregationRow)
