"""Reading the lot graph (``lot_edges``) as it stood at a ledger size, a batch of lots at a time.

Every read takes a set of lots and answers with one statement per few hundred lots, never one
per node, so a walk costs a statement per level however wide the level is. The statements are
plain SQL on the session's connection, written once here: a trace is a handful of small
reads, and building SQLAlchemy expressions for them cost more than running them.

The lots are joined in as a ``WITH wanted(gtin, lot) AS (VALUES ...)`` table rather than a
``(gtin, lot) IN (...)`` list: SQLite (3.40) answers a row-value ``IN`` by scanning the whole
table, while it joins a ``VALUES`` table through the index, as PostgreSQL does either way.
"""

# The SQL below is this module's own text, assembled from fixed fragments and placeholders;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from ledger.supervision.names import MATERIAL_INTAKE, PRODUCTION, RECEIPT, SHIPMENT
from ledger.trace.result import LotKey, Node

__all__ = ["CUSTODY", "WALKED", "Edge", "LotGraph", "LotInfo", "Reader", "chunks"]

#: the edge kinds a walk follows (a receipt settles a shipment the walk already followed)
WALKED = frozenset({PRODUCTION, SHIPMENT, MATERIAL_INTAKE})
#: the edge kinds that move a lot between holders (the same lot at both ends)
CUSTODY = frozenset({SHIPMENT, RECEIPT, MATERIAL_INTAKE})
#: keys per statement: well inside SQLite's and PostgreSQL's bound-parameter limits
CHUNK = 400


class Edge(NamedTuple):
    """One edge of the graph: ``quantity`` of ``source`` passed to ``target`` by entry ``seq``."""

    seq: int
    position: int
    kind: str
    source: Node
    target: Node
    quantity: Decimal
    unit: str


class LotInfo(NamedTuple):
    """A lot as the ledger has it, with its registered product (if any was, at the size)."""

    gtin: str
    lot: str
    origin: str
    origin_type: str
    origin_seq: int
    quantity: str
    unit: str
    produced_at: str | None
    expiry: str | None
    inspection: str
    product: str | None
    category: str | None
    #: whether any serial unit of the lot was on the ledger at the size
    serialised: bool


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Reader:
    """Plain SQL on the session's connection (in its transaction), with the driver's
    placeholders; the SQL is this package's own text, every value is a bound parameter."""

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.mark = "?" if self.connection.dialect.paramstyle == "qmark" else "%s"
        #: statements run, for tests and benchmarks that hold the walk to its batching
        self.statements = 0

    def rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        self.statements += 1
        return list(self.connection.exec_driver_sql(sql, tuple(params)))

    def wanted(self, keys: Sequence[tuple[str, ...]], *names: str) -> tuple[str, list[Any]]:
        """``WITH wanted(<names>) AS (VALUES ...)`` for ``keys``, and its parameters."""
        row = "(" + ", ".join([self.mark] * len(names)) + ")"
        return (f"WITH wanted({', '.join(names)}) AS (VALUES {', '.join([row] * len(keys))}) ",
                [value for key in keys for value in key])

    def live(self, size: int) -> tuple[str, list[Any]]:
        """The edges of the graph as it stood at ledger size ``size``: made before it and not
        yet superseded by then. Bounded by the size even for the ledger as it is now, so
        entries appended while a trace runs (PostgreSQL reads each statement afresh) never
        mix into its answer."""
        return (f"e.seq < {self.mark} AND (e.superseded_by IS NULL OR e.superseded_by >= "
                f"{self.mark})", [size, size])


_EDGE_COLUMNS = ("e.seq, e.position, e.kind, e.from_holder, e.from_gtin, e.from_lot, "
                 "e.to_holder, e.to_gtin, e.to_lot, e.quantity, e.unit")


class LotGraph:
    """The edges read so far, indexed by node both ways; lots are read on demand, in batches,
    and so are the holders' names and (for the ledger as it is now) their stock.

    After :meth:`load` of a lot, every edge *out of* its nodes is known, and so is every
    custody edge *into* them (a custody edge has the same lot at both ends); with
    ``incoming``, every edge into them too.
    """

    def __init__(self, session: Session, size: int, current: bool) -> None:
        self.reader = Reader(session)
        self.size = size
        self.current = current
        self._seen: set[tuple[int, int]] = set()
        self._out: dict[Node, list[Edge]] = {}
        self._in: dict[Node, list[Edge]] = {}
        self._custody: dict[LotKey, set[Node]] = {}
        self.loaded_from: set[LotKey] = set()
        self.loaded_to: set[LotKey] = set()
        #: the registered name of each holder met (absent: not on the ledger)
        self.names: dict[str, str] = {}
        #: the stock of each node met, when ``current``
        self.stock: dict[Node, Decimal] = {}
        self.lots: dict[LotKey, LotInfo] = {}

    def load(self, lots: Iterable[LotKey], *, incoming: bool = False) -> None:
        """Read the edges leaving any node of ``lots`` and, with ``incoming``, those entering
        them (those not read yet), in one statement per chunk of lots."""
        wanted = set(lots)
        leaving = sorted(wanted - self.loaded_from)
        entering = sorted(wanted - self.loaded_to) if incoming else []
        self.loaded_from.update(leaving)
        self.loaded_to.update(entering)
        if not (leaving or entering):
            return
        live, live_params = self.reader.live(self.size)
        # Kept to the one table: PostgreSQL took milliseconds to plan this statement with the
        # holders' names and stock joined in, which the end of the walk reads in one go.
        for chunk in chunks(sorted(set(leaving) | set(entering))):
            with_, params = self.reader.wanted(chunk, "gtin", "lot")
            sides = [side for side, lots_of_side in (("from", leaving), ("to", entering))
                     if lots_of_side]
            branches = [f"SELECT {_EDGE_COLUMNS} FROM wanted w JOIN lot_edges e ON "
                        f"e.{side}_gtin = w.gtin AND e.{side}_lot = w.lot WHERE {live}"
                        for side in sides]
            self._add(self.reader.rows(with_ + " UNION ".join(branches),
                                       params + live_params * len(branches)))

    def _add(self, rows: list[Any]) -> None:
        for row in rows:
            seq, position, kind = row[0], row[1], row[2]
            if (seq, position) in self._seen:
                continue
            self._seen.add((seq, position))
            source, target = Node(row[3], row[4], row[5]), Node(row[6], row[7], row[8])
            edge = Edge(seq, position, kind, source, target, Decimal(row[9]), row[10])
            self._out.setdefault(source, []).append(edge)
            self._in.setdefault(target, []).append(edge)
            if kind in CUSTODY:
                self._custody.setdefault(source.lot_key, set()).update((source, target))

    def load_lots(self, lots: Iterable[LotKey]) -> None:
        """Read the lots (with their products) that were on the ledger at the size; a lot not
        found then stays out of :attr:`lots`."""
        wanted = sorted(set(lots) - set(self.lots))
        mark = self.reader.mark
        for chunk in chunks(wanted):
            with_, params = self.reader.wanted(chunk, "gtin", "lot")
            rows = self.reader.rows(
                with_ + "SELECT l.gtin, l.lot, l.origin, l.origin_type, l.origin_seq, "
                "l.quantity, l.unit, l.produced_at, l.expiry, l.inspection, p.name, "
                "p.category, p.registered_seq, CASE WHEN EXISTS (SELECT 1 FROM units u "
                f"WHERE u.gtin = l.gtin AND u.lot = l.lot AND u.seq < {mark}) THEN 1 ELSE 0 "
                "END FROM wanted w JOIN lots l ON l.gtin = w.gtin AND l.lot = w.lot "
                f"LEFT JOIN products p ON p.gtin = l.gtin WHERE l.origin_seq < {mark}",
                [*params, self.size, self.size])
            for row in rows:
                registered = row[12] is not None and row[12] < self.size
                info = LotInfo(
                    gtin=row[0], lot=row[1], origin=row[2], origin_type=row[3],
                    origin_seq=row[4], quantity=row[5], unit=row[6], produced_at=row[7],
                    expiry=row[8], inspection=row[9], product=row[10] if registered else None,
                    category=row[11] if registered else None, serialised=bool(row[13]))
                self.lots[LotKey(info.gtin, info.lot)] = info

    def load_holders(self, nodes: Iterable[Node]) -> None:
        """Read the holders' registered names and (when ``current``) their stock of ``nodes``."""
        stock = ("s.quantity", " LEFT JOIN stock s ON s.enterprise = w.holder AND "
                 "s.gtin = w.gtin AND s.lot = w.lot") if self.current else ("NULL", "")
        for chunk in chunks(sorted(set(nodes))):
            with_, params = self.reader.wanted(chunk, "holder", "gtin", "lot")
            for holder, gtin, lot, name, quantity in self.reader.rows(
                    with_ + f"SELECT w.holder, w.gtin, w.lot, o.name, {stock[0]} FROM wanted w "
                    f"LEFT JOIN enterprises o ON o.uscc = w.holder{stock[1]}", params):
                if name is not None:
                    self.names[holder] = name
                if quantity is not None:
                    self.stock[Node(holder, gtin, lot)] = Decimal(quantity)

    def edges_from(self, node: Node) -> list[Edge]:
        """The edges read so far that leave ``node``."""
        return self._out.get(node, [])

    def edges_to(self, node: Node) -> list[Edge]:
        """The edges read so far that enter ``node``."""
        return self._in.get(node, [])

    def custody_nodes(self, lot: LotKey) -> set[Node]:
        """Every holder of ``lot`` that a custody edge read so far touches."""
        return self._custody.get(lot, set())
