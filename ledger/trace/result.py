"""What a trace answers: frozen dataclasses, the same for the API, the CLI and the console.

Quantities are decimal text in the lot's base unit (kg, L, pcs, case), as the ledger stores
them. ``None`` for a quantity means it is not shown: the holding is another enterprise's and
the viewer may not see its stock, or the holder is a supplier off the ledger whose stock
nothing records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ledger.supervision.queries import Viewer

__all__ = [
    "AffectedLot",
    "DownstreamLots",
    "Holding",
    "LotKey",
    "Node",
    "Step",
    "Trace",
    "TraceStart",
    "UnitCode",
]


class LotKey(NamedTuple):
    """A lot: GTIN and lot code."""

    gtin: str
    lot: str


class Node(NamedTuple):
    """A node of the lot graph: a lot at a holder (the enterprise's USCC)."""

    holder: str
    gtin: str
    lot: str

    @property
    def lot_key(self) -> LotKey:
        return LotKey(self.gtin, self.lot)


class DownstreamLots(NamedTuple):
    """Everything downstream of a lot, for a recall's scope (:func:`downstream_lots`).

    ``size`` is the ledger size the answer was computed at; ``lots`` the lots reached (the
    start lot first, then sorted); ``holders`` every lot at a holder reached (sorted): the
    enterprises that hold or held goods of those lots, including any still in transit to them
    and, for a lot taken in as material, the supplier it came from.
    """

    size: int
    lots: tuple[LotKey, ...]
    holders: tuple[Node, ...]


@dataclass(frozen=True)
class TraceStart:
    """Where a trace starts: a lot, a unit code (a serial unit or an aggregate such as an SSCC
    pallet), or what an enterprise took in (optionally of one product or lot)."""

    kind: str  # lot / unit / intake
    gtin: str | None = None
    lot: str | None = None
    code: str | None = None
    enterprise: str | None = None

    @classmethod
    def of_lot(cls, gtin: str, lot: str) -> TraceStart:
        """Every holder of the lot ``gtin``/``lot``."""
        return cls("lot", gtin=gtin, lot=lot)

    @classmethod
    def of_unit(cls, code: str) -> TraceStart:
        """The lot(s) of a unit code: a serial unit's lot, or the lots packed in an
        aggregate."""
        return cls("unit", code=code)

    @classmethod
    def of_intake(cls, enterprise: str, gtin: str | None = None,
                  lot: str | None = None) -> TraceStart:
        """The lots ``enterprise`` took in (material intake and receipts), as it holds them."""
        return cls("intake", gtin=gtin, lot=lot, enterprise=enterprise)


@dataclass(frozen=True)
class AffectedLot:
    """A lot the trace reached, with what the ledger says about it."""

    gtin: str
    lot: str
    product: str | None  # the registered product's name, None for an unregistered material
    category: str | None
    origin: str  # producer, or for material taken in, its supplier
    origin_type: str  # production / material_intake
    origin_seq: int
    quantity: str  # produced, or taken in by the first intake
    unit: str
    produced_at: str | None
    expiry: str | None
    inspection: str  # none / pass / fail: the lot's latest verdict now, whatever as_of says
    depth: int  # fewest steps from the start


@dataclass(frozen=True)
class Holding:
    """A lot at a holder: what it received, made, still holds and passed on.

    ``received`` counts receipts and accepted material intakes; ``in_transit`` what was shipped
    to it and not yet received; ``produced`` what it made of the lot; ``passed_on`` what it
    shipped (for a supplier off the ledger: what enterprises took in from it); ``used`` what
    went into its productions; ``held`` its stock (at ``as_of``: produced + received -
    passed_on - used, from the graph as it stood). ``end`` marks the far end of the walk:
    downstream, consumer-facing goods (a registered product held by an enterprise that passed
    none of it on); upstream, an origin (a lot made from nothing on the ledger, or a supplier
    off it).
    """

    holder: str
    name: str | None  # the enterprise's registered name (as stored: Chinese), None off ledger
    gtin: str
    lot: str
    unit: str
    depth: int
    received: str | None
    in_transit: str | None
    produced: str | None
    passed_on: str | None
    used: str | None
    held: str | None
    end: bool


@dataclass(frozen=True)
class Step:
    """One link of the paths: goods of ``source`` passing to ``target`` by the entries
    ``seqs`` (productions, shipments or material intakes; a correction's seq for a re-routed
    shipment) and, for a shipment, the receipts ``receipt_seqs``."""

    kind: str  # production / shipment / material_intake
    source: Node
    target: Node
    quantity: str  # input used, shipped, or taken in
    received: str | None  # shipments: received so far (at as_of)
    unit: str
    seqs: tuple[int, ...]
    receipt_seqs: tuple[int, ...]
    depth: int  # steps from the start to ``target`` (downstream) or ``source`` (upstream)


@dataclass(frozen=True)
class UnitCode:
    """A unit code: a serial unit of a lot (``gtin``/``lot`` set) or an aggregate packing other
    codes, with the parent it was packed into (at ``as_of``)."""

    code: str
    gtin: str | None
    lot: str | None
    parent: str | None


@dataclass(frozen=True)
class Trace:
    """The answer to a trace, downstream or upstream, as the ledger stood at ``size``.

    ``truncated`` is True when the answer is not the whole reach; ``truncation`` says why:
    ``depth`` (a node at the depth limit leads further), ``limit`` (more holdings than the
    limit, or more unit codes), ``scope`` (an enterprise's downstream trace stops at its
    direct customers, who passed goods on).
    """

    direction: str  # downstream / upstream
    start: TraceStart
    #: whom it was computed for: None for everything (a regulator), else that enterprise (or
    #: a district bureau's enterprises)
    viewer: Viewer
    size: int
    depth_limit: int
    limit: int
    lots: tuple[AffectedLot, ...]
    holdings: tuple[Holding, ...]
    steps: tuple[Step, ...]
    units: tuple[UnitCode, ...]
    aggregates: tuple[UnitCode, ...]
    #: the unit the trace started from and the parents it is packed in, innermost first
    start_unit: tuple[UnitCode, ...]
    truncated: bool
    truncation: tuple[str, ...]

    @property
    def ends(self) -> tuple[Holding, ...]:
        """The holdings at the far end: consumer-facing goods downstream, origins upstream."""
        return tuple(holding for holding in self.holdings if holding.end)
