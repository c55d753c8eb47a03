"""Reading the lot graph (``lot_edges``) as it stood at a ledger size, a batch of lots at a time.

Every read takes a set of lots and answers with one query per few hundred lots (an ``IN`` list
on the indexed lot columns), never one query per node, so a walk costs a query or two per
level however wide the level is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, or_, select, tuple_
from sqlalchemy.orm import Session

from ledger.supervision.models import LotEdgeRow
from ledger.supervision.names import MATERIAL_INTAKE, PRODUCTION, RECEIPT, SHIPMENT
from ledger.trace.result import LotKey, Node

__all__ = ["CUSTODY", "WALKED", "Edge", "LotGraph", "chunks", "live"]

#: the edge kinds a walk follows (a receipt settles a shipment the walk already followed)
WALKED = frozenset({PRODUCTION, SHIPMENT, MATERIAL_INTAKE})
#: the edge kinds that move a lot between holders (the same lot at both ends)
CUSTODY = frozenset({SHIPMENT, RECEIPT, MATERIAL_INTAKE})
#: lots per IN list: well inside SQLite's and PostgreSQL's bound-parameter limits
CHUNK = 400

_COLUMNS = (LotEdgeRow.seq, LotEdgeRow.position, LotEdgeRow.kind, LotEdgeRow.from_holder,
            LotEdgeRow.from_gtin, LotEdgeRow.from_lot, LotEdgeRow.to_holder, LotEdgeRow.to_gtin,
            LotEdgeRow.to_lot, LotEdgeRow.quantity, LotEdgeRow.unit)


class Edge(NamedTuple):
    """One edge of the graph: ``quantity`` of ``source`` passed to ``target`` by entry ``seq``."""

    seq: int
    position: int
    kind: str
    source: Node
    target: Node
    quantity: Decimal
    unit: str


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def live(size: int, current: bool) -> ColumnElement[bool]:
    """The edges of the graph as it stood at ledger size ``size``: made before it and not yet
    superseded by then (``current``: ``size`` is the ledger's size now, so none is later)."""
    if current:
        return LotEdgeRow.superseded_by.is_(None)
    return and_(LotEdgeRow.seq < size,
                or_(LotEdgeRow.superseded_by.is_(None), LotEdgeRow.superseded_by >= size))


class LotGraph:
    """The edges read so far, indexed by node both ways; lots are read on demand, in batches.

    After :meth:`load_from` of a lot, every edge *out of* its nodes is known, and so is every
    custody edge *into* them (a custody edge has the same lot at both ends); after
    :meth:`load_to`, every edge into its nodes, and every custody edge out of them.
    """

    def __init__(self, session: Session, size: int, current: bool) -> None:
        self.session = session
        self.size = size
        self._live = live(size, current)
        self._seen: set[tuple[int, int]] = set()
        self._out: dict[Node, list[Edge]] = {}
        self._in: dict[Node, list[Edge]] = {}
        self._custody: dict[LotKey, set[Node]] = {}
        self.loaded_from: set[LotKey] = set()
        self.loaded_to: set[LotKey] = set()
        #: queries issued, for tests and benchmarks that hold the walk to its batching
        self.queries = 0

    def load_from(self, lots: Iterable[LotKey]) -> None:
        """Read the edges leaving any node of ``lots`` (those not read yet)."""
        wanted = sorted(set(lots) - self.loaded_from)
        self.loaded_from.update(wanted)
        self._load(wanted, LotEdgeRow.from_gtin, LotEdgeRow.from_lot)

    def load_to(self, lots: Iterable[LotKey]) -> None:
        """Read the edges entering any node of ``lots`` (those not read yet)."""
        wanted = sorted(set(lots) - self.loaded_to)
        self.loaded_to.update(wanted)
        self._load(wanted, LotEdgeRow.to_gtin, LotEdgeRow.to_lot)

    def _load(self, lots: Sequence[LotKey], gtin: Any, lot: Any) -> None:
        for chunk in chunks(lots):
            self.queries += 1
            rows = self.session.execute(
                select(*_COLUMNS).where(tuple_(gtin, lot).in_(chunk), self._live))
            for (seq, position, kind, from_holder, from_gtin, from_lot, to_holder, to_gtin,
                 to_lot, quantity, unit) in rows:
                if (seq, position) in self._seen:
                    continue
                self._seen.add((seq, position))
                edge = Edge(seq, position, kind, Node(from_holder, from_gtin, from_lot),
                            Node(to_holder, to_gtin, to_lot), Decimal(quantity), unit)
                self._out.setdefault(edge.source, []).append(edge)
                self._in.setdefault(edge.target, []).append(edge)
                if kind in CUSTODY:
                    self._custody.setdefault(edge.source.lot_key, set()).update(
                        (edge.source, edge.target))

    def edges_from(self, node: Node) -> list[Edge]:
        """The edges read so far that leave ``node``."""
        return self._out.get(node, [])

    def edges_to(self, node: Node) -> list[Edge]:
        """The edges read so far that enter ``node``."""
        return self._in.get(node, [])

    def custody_nodes(self, lot: LotKey) -> set[Node]:
        """Every holder of ``lot`` that a custody edge read so far touches."""
        return self._custody.get(lot, set())
