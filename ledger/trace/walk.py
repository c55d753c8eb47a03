"""Trace downstream and upstream over the lot graph: a breadth-first walk, one level at a time.

Each level reads the edges of all its lots in one batched query (:class:`LotGraph`), so the
number of queries grows with the depth of the walk, not its width; a node is visited once, so
returns and re-shipments (cycles) end the walk like anything else. The lots reached, the
holders' names and stock, and the unit codes are read afterwards, again one query per batch
of a few hundred.
"""

# The SQL below is this module's own text, assembled from fixed fragments and placeholders;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import EntryError, ForbiddenError, NotFoundError
from ledger.log import ledger_size, rfc3339
from ledger.log.storage import EntryRow
from ledger.supervision.models import UnitRow
from ledger.supervision.names import MATERIAL_INTAKE, PRODUCTION, RECEIPT, SHIPMENT
from ledger.supervision.quantity import format_quantity
from ledger.supervision.queries import Viewer, viewer_sees
from ledger.trace.graph import WALKED, Edge, LotGraph, LotInfo, chunks
from ledger.trace.result import (
    AffectedLot,
    DownstreamLots,
    Holding,
    LotKey,
    Node,
    Step,
    Trace,
    TraceStart,
    UnitCode,
)

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_LIMIT",
    "downstream_lots",
    "ledger_size_at",
    "parse_as_of",
    "resolve_as_of",
    "trace_downstream",
    "trace_upstream",
]

#: steps from the start a trace follows unless told otherwise
DEFAULT_DEPTH = 32
#: holdings (lots at holders) a trace reports unless told otherwise; unit codes likewise
DEFAULT_LIMIT = 2000
_UNBOUNDED = 1 << 62

AsOf = int | datetime | None


# -- as of ---------------------------------------------------------------------------------------


def parse_as_of(text: str) -> int | datetime:
    """An ``as_of`` argument as written: a ledger size (digits) or an RFC 3339 time with an
    offset (``2026-11-02T08:00:00+08:00``, ``…Z``). EntryError naming ``as_of`` otherwise."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise EntryError("as_of must be a ledger size or an RFC 3339 time with an offset, "
                         f"got {text!r}", field="as_of")
    return moment


def ledger_size_at(session: Session, moment: datetime) -> int:
    """The ledger's size at ``moment``: how many entries were recorded at or before it.

    ``recorded_at`` never decreases along the log, so a binary search over seq finds it with
    a few primary-key reads (no index on the time is needed).
    """
    if moment.tzinfo is None:
        raise EntryError("as_of needs a time with an offset", field="as_of")
    text, low, high = rfc3339(moment), 0, ledger_size(session)
    while low < high:
        middle = (low + high) // 2
        recorded = session.scalar(select(EntryRow.recorded_at).where(EntryRow.seq == middle))
        if recorded is not None and recorded > text:
            high = middle
        else:
            low = middle + 1
    return low


def resolve_as_of(session: Session, as_of: AsOf) -> tuple[int, bool]:
    """The ledger size a trace answers at, and whether that is the ledger as it is now."""
    now = ledger_size(session)
    if as_of is None:
        return now, True
    size = ledger_size_at(session, as_of) if isinstance(as_of, datetime) else as_of
    if not 0 <= size <= now:
        raise NotFoundError(f"as_of {size} is past the ledger's size {now}", field="as_of")
    return size, size == now


# -- the walk ------------------------------------------------------------------------------------


@dataclass
class _StepSum:
    kind: str
    source: Node
    target: Node
    depth: int
    unit: str
    quantity: Decimal = Decimal(0)
    seqs: set[int] = field(default_factory=set)

    def add(self, edge: Edge) -> None:
        if (edge.seq, edge.position) in self._counted:
            return
        self._counted.add((edge.seq, edge.position))
        self.quantity += edge.quantity
        self.seqs.add(edge.seq)

    def __post_init__(self) -> None:
        self._counted: set[tuple[int, int]] = set()


@dataclass
class _Walk:
    depth_of: dict[Node, int]
    steps: dict[tuple[str, Node, Node], _StepSum]
    truncation: set[str]


def _walk(graph: LotGraph, start: Iterable[Node], *, downstream: bool, depth: int, limit: int,
          viewer: Viewer) -> _Walk:
    """Breadth-first from ``start``: one batched read of the graph per level."""
    depth_of = {node: 0 for node in sorted(start)}
    steps: dict[tuple[str, Node, Node], _StepSum] = {}
    truncation: set[str] = set()
    frontier = list(depth_of)
    level = 0
    while frontier:
        # Upstream, the edges out of a lot are read with the edges into it, in the same
        # statement: the holdings' quantities need them.
        graph.load({node.lot_key for node in frontier}, incoming=not downstream)
        following: list[Node] = []
        for node in frontier:
            edges = [edge for edge in (graph.edges_from(node) if downstream
                                       else graph.edges_to(node)) if edge.kind in WALKED]
            if not edges:
                continue
            if downstream and not viewer_sees(viewer, node.holder):
                truncation.add("scope")  # an enterprise sees as far as its direct customers
                continue
            if level >= depth:
                truncation.add("depth")
                continue
            for edge in edges:
                other = edge.target if downstream else edge.source
                if other not in depth_of:
                    if len(depth_of) >= limit:
                        truncation.add("limit")
                        continue
                    depth_of[other] = level + 1
                    following.append(other)
                key = (edge.kind, edge.source, edge.target)
                step = steps.get(key)
                if step is None:
                    step = steps[key] = _StepSum(edge.kind, edge.source, edge.target,
                                                 level + 1, edge.unit)
                step.add(edge)
        frontier = following
        level += 1
    return _Walk(depth_of, steps, truncation)


# -- where a trace starts ------------------------------------------------------------------------


def _lot_nodes(graph: LotGraph, lots: Collection[LotKey], downstream: bool) -> set[Node]:
    """Every holder of ``lots``: its origin and whoever a custody edge touches."""
    graph.load_lots(lots)
    missing = sorted(lot for lot in lots if lot not in graph.lots)
    if missing:
        raise NotFoundError(f"lot {missing[0].gtin}/{missing[0].lot} is not on the ledger"
                            + ("" if graph.current else f" at size {graph.size}"),
                            field="lot")
    graph.load(lots, incoming=not downstream)
    nodes: set[Node] = set()
    for key in lots:
        nodes.add(Node(graph.lots[key].origin, key.gtin, key.lot))
        nodes |= graph.custody_nodes(key)
    return nodes


def _intake_nodes(graph: LotGraph, start: TraceStart) -> set[Node]:
    """The lots ``start.enterprise`` took in (accepted intakes and receipts), as it holds them."""
    assert start.enterprise is not None  # noqa: S101 - of_intake sets it
    reader, mark = graph.reader, graph.reader.mark
    live, params = reader.live(graph.size)
    sql = (f"SELECT DISTINCT e.to_gtin, e.to_lot FROM lot_edges e WHERE e.to_holder = {mark} "
           f"AND e.kind IN ({mark}, {mark}) AND {live}")
    params = [start.enterprise, MATERIAL_INTAKE, RECEIPT, *params]
    for name in ("gtin", "lot"):
        if getattr(start, name) is not None:
            sql += f" AND e.to_{name} = {mark}"
            params.append(getattr(start, name))
    nodes = {Node(start.enterprise, gtin, lot) for gtin, lot in reader.rows(sql, params)}
    if not nodes:
        raise NotFoundError(f"{start.enterprise} took in nothing"
                            + (f" of {start.gtin or ''}/{start.lot or ''}"
                               if start.gtin or start.lot else ""), field="enterprise")
    return nodes


def _code(unit: UnitCode) -> str:
    return unit.code


class _Units:
    """Unit codes and what they are packed in, at the graph's ledger size."""

    def __init__(self, session: Session, graph: LotGraph) -> None:
        self.session, self.reader = session, graph.reader
        self.size, self.current = graph.size, graph.current

    def get(self, code: str) -> UnitRow | None:
        row = self.session.get(UnitRow, code)
        return row if row is not None and row.seq < self.size else None

    def _codes(self, sql: str, column: str, codes: Collection[str]) -> list[Any]:
        """``sql`` (which ends in ``WHERE``) for ``column IN codes``, a chunk at a time."""
        rows: list[Any] = []
        mark = self.reader.mark
        for chunk in chunks(sorted(codes)):
            rows += self.reader.rows(
                f"{sql} {column} IN ({', '.join([mark] * len(chunk))}) AND seq < {mark}",
                [*chunk, self.size])
        return rows

    def parents(self, codes: Collection[str]) -> dict[str, str | None]:
        """Each code's parent (None: not packed), as it was at the size."""
        found: dict[str, str | None] = dict.fromkeys(codes)
        if self.current:
            found.update((code, parent) for code, parent in self._codes(
                "SELECT code, parent FROM units WHERE", "code", codes))
            return found
        latest: dict[str, int] = {}
        for child, seq, parent in self._codes(
                "SELECT child, seq, parent FROM aggregations WHERE", "child", codes):
            if seq > latest.get(child, -1):
                latest[child], found[child] = seq, parent
        return found

    def ancestors(self, codes: Collection[str], limit: int,
                  known: dict[str, str | None] | None = None) -> dict[str, str | None]:
        """``codes`` and every parent above them, each with its own parent (``known``: the
        parents of some already)."""
        known = dict(known or {})
        level = set(codes) - set(known)
        level |= {parent for parent in known.values() if parent is not None} - set(known)
        while level and len(known) < limit:
            parents = self.parents(level)
            known.update(parents)
            level = {parent for parent in parents.values()
                     if parent is not None and parent not in known}
        return known

    def lots_inside(self, code: str) -> set[LotKey]:
        """The lots of the serial units packed (at any level) in the aggregate ``code``."""
        lots: set[LotKey] = set()
        seen, level = {code}, {code}
        while level:
            children = self._children(level) - seen
            seen |= children
            lots |= {LotKey(gtin, lot) for gtin, lot in self._codes(
                "SELECT gtin, lot FROM units WHERE gtin IS NOT NULL AND", "code", children)}
            level = children
        return lots

    def _children(self, parents: Collection[str]) -> set[str]:
        if self.current:
            return {code for (code,) in self._codes("SELECT code FROM units WHERE", "parent",
                                                    parents)}
        candidates = {child for (child,) in self._codes(
            "SELECT child FROM aggregations WHERE", "parent", parents)}
        return {child for child, parent in self.parents(candidates).items()
                if parent in parents}

    def of_lots(self, lots: Collection[LotKey], limit: int) -> tuple[list[UnitCode], bool]:
        """The serial units of ``lots`` (at most ``limit``, each with the parent it has now),
        and whether there were more."""
        found: list[UnitCode] = []
        reader = self.reader
        for chunk in chunks(sorted(lots)):
            with_, params = reader.wanted(chunk, "gtin", "lot")
            found += (UnitCode(*row) for row in reader.rows(
                with_ + "SELECT u.code, u.gtin, u.lot, u.parent FROM wanted w JOIN units u "
                f"ON u.gtin = w.gtin AND u.lot = w.lot WHERE u.seq < {reader.mark} "
                f"ORDER BY u.code LIMIT {reader.mark}",
                [*params, self.size, limit + 1 - len(found)]))
            if len(found) > limit:
                return sorted(found, key=_code)[:limit], True
        return sorted(found, key=_code), False


# -- the answer ----------------------------------------------------------------------------------


def _total(edges: Iterable[Edge], kind: str, source: Node | None = None) -> Decimal:
    return sum((edge.quantity for edge in edges
                if edge.kind == kind and (source is None or edge.source == source)), Decimal(0))


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else format_quantity(amount)


def _holding(graph: LotGraph, node: Node, depth: int, lot: LotInfo, downstream: bool,
             shown: bool) -> Holding:
    ins, outs = graph.edges_to(node), graph.edges_from(node)
    produced = (Decimal(lot.quantity) if lot.origin_type == PRODUCTION
                and lot.origin == node.holder else None)
    received = _total(ins, RECEIPT) + _total(ins, MATERIAL_INTAKE)
    shipped, supplied = _total(outs, SHIPMENT), _total(outs, MATERIAL_INTAKE)
    used = _total(outs, PRODUCTION)
    # A supplier off the ledger: enterprises took the lot in from it, nothing else is known.
    off_ledger = produced is None and not ins and all(e.kind == MATERIAL_INTAKE for e in outs)
    held: Decimal | None
    if off_ledger:
        held = None
    elif graph.current:
        held = graph.stock.get(node, Decimal(0))
    else:
        held = (produced or Decimal(0)) + received - shipped - used
    if downstream:
        end = lot.product is not None and not any(edge.kind in WALKED for edge in outs)
    else:
        end = not any(edge.kind in WALKED for edge in ins)
    in_transit = _total(ins, SHIPMENT) - _total(ins, RECEIPT)
    name = graph.names.get(node.holder)
    if not shown:
        return Holding(node.holder, name, node.gtin, node.lot, lot.unit, depth, None, None,
                       None, None, None, None, end)
    return Holding(node.holder, name, node.gtin, node.lot, lot.unit, depth,
                   None if off_ledger else _text(received),
                   None if off_ledger else _text(in_transit), _text(produced),
                   _text(shipped + supplied), None if off_ledger else _text(used),
                   _text(held), end)


def _steps(graph: LotGraph, walk: _Walk) -> list[Step]:
    steps = []
    for summed in walk.steps.values():
        receipts = [edge for edge in graph.edges_to(summed.target)
                    if edge.kind == RECEIPT and edge.source == summed.source]
        shipment = summed.kind == SHIPMENT
        steps.append(Step(
            summed.kind, summed.source, summed.target, format_quantity(summed.quantity),
            format_quantity(sum((e.quantity for e in receipts), Decimal(0))) if shipment
            else None, summed.unit, tuple(sorted(summed.seqs)),
            tuple(sorted({edge.seq for edge in receipts})) if shipment else (), summed.depth))
    return sorted(steps, key=lambda step: (step.depth, step.seqs, step.source, step.target))


def _trace(session: Session, start: TraceStart, *, downstream: bool, as_of: AsOf, depth: int,
           limit: int, viewer: Viewer) -> Trace:
    if depth < 0 or limit < 1:
        raise EntryError("depth must be >= 0 and limit >= 1", field="depth" if depth < 0
                         else "limit")
    size, current = resolve_as_of(session, as_of)
    graph = LotGraph(session, size, current)
    units = _Units(session, graph)
    start_unit: tuple[UnitCode, ...] = ()
    if start.kind == "intake":
        if not viewer_sees(viewer, start.enterprise):
            raise ForbiddenError("an enterprise may trace only its own intake",
                                 field="enterprise")
        nodes = _intake_nodes(graph, start)
    else:
        if start.kind == "unit":
            assert start.code is not None  # noqa: S101 - of_unit sets it
            unit = units.get(start.code)
            if unit is None:
                raise NotFoundError(f"unit code {start.code} is not on the ledger",
                                    field="code")
            chain = units.ancestors([unit.code], _UNBOUNDED)
            code: str | None = unit.code
            trail = []
            while code is not None:
                trail.append(UnitCode(code, unit.gtin if code == unit.code else None,
                                      unit.lot if code == unit.code else None, chain.get(code)))
                code = chain.get(code)
            start_unit = tuple(trail)
            lots = ({LotKey(unit.gtin, unit.lot)} if unit.gtin is not None
                    and unit.lot is not None else units.lots_inside(unit.code))
        else:
            assert start.gtin is not None and start.lot is not None  # noqa: S101
            lots = {LotKey(start.gtin, start.lot)}
        nodes = _lot_nodes(graph, lots, downstream) if lots else set()
        if viewer is not None:
            nodes = {node for node in nodes if viewer_sees(viewer, node.holder)}
            if not nodes:
                raise ForbiddenError("an enterprise may trace only lots it made or holds",
                                     field="lot")
    walk = _walk(graph, nodes, downstream=downstream, depth=depth, limit=limit, viewer=viewer)
    reached = walk.depth_of
    lots_reached = {node.lot_key for node in reached}
    graph.load(lots_reached)  # read already, unless the walk stopped at a limit
    graph.load_lots(lots_reached)
    graph.load_holders(reached)
    holdings = sorted(
        (_holding(graph, node, node_depth, graph.lots[node.lot_key], downstream,
                  viewer_sees(viewer, node.holder))
         for node, node_depth in reached.items()),
        key=lambda h: (h.depth, h.gtin, h.lot, h.holder))
    lot_depth: dict[LotKey, int] = {}
    for node, node_depth in reached.items():
        lot_depth[node.lot_key] = min(node_depth, lot_depth.get(node.lot_key, node_depth))
    affected = sorted(
        (AffectedLot(key.gtin, key.lot, lot.product, lot.category, lot.origin,
                     lot.origin_type, lot.origin_seq, lot.quantity, lot.unit, lot.produced_at,
                     lot.expiry, lot.inspection, lot_depth[key])
         for key, lot in graph.lots.items() if key in lot_depth),
        key=lambda a: (a.depth, a.gtin, a.lot))
    serials, more_units = units.of_lots(
        [key for key in lots_reached if graph.lots[key].serialised], limit)
    packed = units.ancestors([unit.code for unit in serials], limit,
                             known={u.code: u.parent for u in serials} if current else None)
    aggregate_codes = sorted(set(packed) - {unit.code for unit in serials})
    truncation = set(walk.truncation)
    if more_units or len(packed) >= limit:
        truncation.add("limit")
    return Trace(
        direction="downstream" if downstream else "upstream", start=start, viewer=viewer,
        size=size, depth_limit=depth, limit=limit, lots=tuple(affected),
        holdings=tuple(holdings), steps=tuple(_steps(graph, walk)),
        units=tuple(UnitCode(u.code, u.gtin, u.lot, packed.get(u.code)) for u in serials),
        aggregates=tuple(UnitCode(code, None, None, packed[code]) for code in aggregate_codes),
        start_unit=start_unit, truncated=bool(truncation),
        truncation=tuple(sorted(truncation)))


def trace_downstream(session: Session, start: TraceStart, *, as_of: AsOf = None,
                     depth: int = DEFAULT_DEPTH, limit: int = DEFAULT_LIMIT,
                     viewer: Viewer = None) -> Trace:
    """Where the goods of ``start`` went: every lot made from them and every holder reached.

    ``as_of`` (a ledger size, or a time: the size at that moment) answers as the ledger stood
    then. At most ``depth`` steps from the start and ``limit`` holdings are reported, with
    ``truncated`` set when there was more. ``viewer`` is None for a regulator (everything), a
    set of enterprises for a district bureau (as each of them would see it, together);
    an enterprise starts from its own holdings of the lot, sees as far as its direct customers
    (``truncation`` says ``scope`` when they passed goods on) and no other holder's stock.
    NotFoundError for an unknown lot or code; ForbiddenError when the viewer holds none of it.
    """
    return _trace(session, start, downstream=True, as_of=as_of, depth=depth, limit=limit,
                  viewer=viewer)


def trace_upstream(session: Session, start: TraceStart, *, as_of: AsOf = None,
                   depth: int = DEFAULT_DEPTH, limit: int = DEFAULT_LIMIT,
                   viewer: Viewer = None) -> Trace:
    """Where the goods of ``start`` came from: every input lot, supplier and earlier holder.

    Arguments as for :func:`trace_downstream`; an enterprise sees the whole way upstream of its
    own holdings, but no other holder's stock.
    """
    return _trace(session, start, downstream=False, as_of=as_of, depth=depth, limit=limit,
                  viewer=viewer)


def downstream_lots(session: Session, gtin: str, lot: str,
                    as_of: AsOf = None) -> DownstreamLots:
    """Every lot and every holder downstream of ``gtin``/``lot``, without depth or size limit.

    This is a recall's scope: the start lot and every lot made from it (at any remove), and
    each lot at each holder reached, as the ledger stood at ``as_of`` (default: now). Raises
    NotFoundError when the lot is not on the ledger (at that size).
    """
    size, current = resolve_as_of(session, as_of)
    graph = LotGraph(session, size, current)
    start = LotKey(gtin, lot)
    nodes = _lot_nodes(graph, [start], downstream=True)
    walk = _walk(graph, nodes, downstream=True, depth=_UNBOUNDED, limit=_UNBOUNDED,
                 viewer=None)
    lots = {node.lot_key for node in walk.depth_of} - {start}
    return DownstreamLots(size, (start, *sorted(lots)), tuple(sorted(walk.depth_of)))
