"""Trace against brute force on generated networks, and the graph against a replay.

Hypothesis chooses the shape and seed of a small synthetic network (``bench/network.py``),
which is written through the submit door into a fresh SQLite ledger. The test then reads the
raw entries back (``EntryRow.body``, parsed from the canonical bytes, nothing taken from the
projections), builds the lot graph from their payloads itself, and checks that downstream and
upstream traces from random lots at random ledger sizes reach exactly what a plain search over
that graph reaches: the same holdings at the same depths with the same quantities, the same
lots and the same steps with the same seqs.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bench.network import Shape, plan_network, write_network
from ledger import log
from ledger.db import Base, create_ledger_engine, migrate
from ledger.errors import NotFoundError
from ledger.log.entry import Entry
from ledger.log.keys import generate_private_key
from ledger.log.storage import EntryRow
from ledger.supervision import names
from ledger.supervision.admission import rebuild
from ledger.supervision.models import AggregationRow, LotEdgeRow, StockRow, UnitRow
from ledger.supervision.quantity import Quantity
from ledger.trace import Trace, TraceStart, downstream_lots, trace_downstream, trace_upstream
from tests.ledger.conftest import ORIGIN

LEDGER = log.Ledger(ORIGIN, generate_private_key())
WALKED = {names.PRODUCTION, names.SHIPMENT, names.MATERIAL_INTAKE}
ALL = {"depth": 10**6, "limit": 10**9}

NodeKey = tuple[str, str, str]


# -- the brute force: the graph from the raw entries ---------------------------------------------


@dataclass
class RawGraph:
    """The lot graph as the entries below ``size`` describe it, built from their payloads."""

    #: the entry that made each edge -> its edges: (kind, source, target, quantity)
    edges: dict[int, list[tuple[str, NodeKey, NodeKey, Decimal]]] = field(default_factory=dict)
    produced: dict[NodeKey, Decimal] = field(default_factory=dict)
    origins: dict[tuple[str, str], NodeKey] = field(default_factory=dict)

    def all_edges(self) -> Iterator[tuple[int, str, NodeKey, NodeKey, Decimal]]:
        for seq, edges in self.edges.items():
            for kind, source, target, quantity in edges:
                yield seq, kind, source, target, quantity

    def lot_nodes(self, gtin: str, lot: str) -> set[NodeKey]:
        nodes = {self.origins[(gtin, lot)]}
        for _, kind, source, target, _ in self.all_edges():
            if kind != names.PRODUCTION and source[1:] == (gtin, lot):
                nodes |= {source, target}
        return nodes

    def reach(self, start: set[NodeKey], downstream: bool) -> tuple[
            dict[NodeKey, int], set[tuple[str, NodeKey, NodeKey, frozenset[int]]]]:
        """Breadth-first over the walked edges: each node's distance, and the steps taken."""
        following: dict[NodeKey, list[tuple[int, str, NodeKey, NodeKey]]] = {}
        for seq, kind, source, target, _ in self.all_edges():
            if kind in WALKED:
                following.setdefault(source if downstream else target, []).append(
                    (seq, kind, source, target))
        depth = dict.fromkeys(start, 0)
        queue = deque(start)
        seqs: dict[tuple[str, NodeKey, NodeKey], set[int]] = {}
        while queue:
            node = queue.popleft()
            for seq, kind, source, target in following.get(node, []):
                other = target if downstream else source
                seqs.setdefault((kind, source, target), set()).add(seq)
                if other not in depth:
                    depth[other] = depth[node] + 1
                    queue.append(other)
        return depth, {(kind, s, t, frozenset(found)) for (kind, s, t), found in seqs.items()}

    def quantities(self, node: NodeKey) -> tuple[Decimal | None, ...]:
        """received, in transit, produced, passed on, used, held."""
        into = [(kind, q) for _, kind, _, target, q in self.all_edges() if target == node]
        out = [(kind, q) for _, kind, source, _, q in self.all_edges() if source == node]

        def total(edges: list[tuple[str, Decimal]], *kinds: str) -> Decimal:
            return sum((q for kind, q in edges if kind in kinds), Decimal(0))

        produced = self.produced.get(node)
        received = total(into, names.RECEIPT, names.MATERIAL_INTAKE)
        shipped, used = total(out, names.SHIPMENT), total(out, names.PRODUCTION)
        passed_on = shipped + total(out, names.MATERIAL_INTAKE)
        if produced is None and not into and all(k == names.MATERIAL_INTAKE for k, _ in out):
            return None, None, None, passed_on, None, None  # a supplier off the ledger
        return (received, total(into, names.SHIPMENT) - total(into, names.RECEIPT), produced,
                passed_on, used, (produced or 0) + received - shipped - used)


def _amount(payload: Mapping[str, Any]) -> Decimal:
    return Quantity.parse(payload["quantity"], payload["unit"]).in_base_unit().amount


def raw_graph(entries: list[Entry], size: int) -> RawGraph:
    graph = RawGraph()
    types: dict[int, str] = {}
    for entry in entries[:size]:
        type_, who, payload = (entry.statement.type, entry.statement.enterprise,
                               entry.statement.payload)
        if type_ == names.CORRECTION:
            type_ = types[payload["seq"]]
            graph.edges.pop(payload["seq"], None)
            payload = payload["replacement"]
        types[entry.seq] = type_
        gtin, lot = payload.get("gtin"), payload.get("lot")
        made: list[tuple[str, NodeKey, NodeKey, Decimal]] = []
        if type_ == names.PRODUCTION:
            graph.produced[(who, gtin, lot)] = _amount(payload)
            graph.origins[(gtin, lot)] = (who, gtin, lot)
            made = [(type_, (who, source["gtin"], source["lot"]), (who, gtin, lot),
                     _amount(source)) for source in payload["inputs"]]
        elif type_ == names.MATERIAL_INTAKE:
            graph.origins.setdefault((gtin, lot), (payload["supplier"], gtin, lot))
            if payload.get("accepted", True):
                made = [(type_, (payload["supplier"], gtin, lot), (who, gtin, lot),
                         _amount(payload))]
        elif type_ == names.SHIPMENT:
            made = [(type_, (who, gtin, lot), (payload["counterparty"], gtin, lot),
                     _amount(payload))]
        elif type_ == names.RECEIPT:
            made = [(type_, (payload["counterparty"], gtin, lot), (who, gtin, lot),
                     _amount(payload))]
        if made:
            graph.edges[entry.seq] = made
    return graph


# -- comparing ---------------------------------------------------------------------------------


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def check(trace: Trace, graph: RawGraph, start: set[NodeKey], downstream: bool,
          stock: Mapping[NodeKey, Decimal] | None) -> None:
    depth, steps = graph.reach(start, downstream)
    assert {(h.holder, h.gtin, h.lot): h.depth for h in trace.holdings} == depth
    assert {(lot.gtin, lot.lot) for lot in trace.lots} == {node[1:] for node in depth}
    assert {(s.kind, s.source, s.target, frozenset(s.seqs)) for s in trace.steps} == steps
    for holding in trace.holdings:
        node = (holding.holder, holding.gtin, holding.lot)
        expected = graph.quantities(node)
        found = tuple(_decimal(q) for q in (holding.received, holding.in_transit,
                                            holding.produced, holding.passed_on, holding.used,
                                            holding.held))
        assert found == expected, node
        if stock is not None and holding.held is not None:  # now: the stock projection too
            assert Decimal(holding.held) == stock.get(node, Decimal(0)), node
    assert not trace.truncated


# -- the networks ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite ledger holding its genesis entry, copied for each example."""
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    engine = create_ledger_engine(f"sqlite:///{path}")
    migrate(engine)
    with Session(engine) as session:
        log.initialise(session, LEDGER)
        session.commit()
    engine.dispose()
    return path


def _copy(template: Path, target: Path) -> Engine:
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return create_ledger_engine(f"sqlite:///{target}")


shapes = st.builds(
    Shape, farms=st.integers(1, 3), processors=st.integers(1, 4),
    distributors=st.integers(1, 2), retailers=st.integers(1, 4), days=st.integers(1, 4),
    seed=st.integers(0, 2**32), returns=st.sampled_from([0.0, 0.3]),
    corrections=st.sampled_from([0.0, 0.3]), gifts=st.sampled_from([0.0, 0.5]))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=shapes, data=st.data())
def test_traces_equal_a_brute_force_search_of_the_entries(template: Path, shape: Shape,
                                                          data: st.DataObject) -> None:
    directory = Path(tempfile.mkdtemp(prefix="tracenet-property-"))
    engine = _copy(template, directory / "ledger.db")
    try:
        with Session(engine) as session:
            write_network(session, LEDGER, plan_network(shape))
            entries = [Entry.from_canonical(body) for body in session.scalars(
                select(EntryRow.body).order_by(EntryRow.seq))]
            size = len(entries)
            stock = {(e, g, lt): Decimal(q) for e, g, lt, q in session.execute(
                select(StockRow.enterprise, StockRow.gtin, StockRow.lot, StockRow.quantity))}
            lots = sorted(raw_graph(entries, size).origins)
            for _ in range(3):
                gtin, lot = data.draw(st.sampled_from(lots), label="lot")
                as_of = data.draw(st.one_of(st.none(), st.integers(1, size)), label="as_of")
                graph = raw_graph(entries, size if as_of is None else as_of)
                start = TraceStart.of_lot(gtin, lot)
                if (gtin, lot) not in graph.origins:
                    with pytest.raises(NotFoundError, match="is not on the ledger at size"):
                        trace_downstream(session, start, as_of=as_of)
                    continue
                nodes = graph.lot_nodes(gtin, lot)
                now = stock if as_of is None or as_of == size else None
                check(trace_downstream(session, start, as_of=as_of, **ALL), graph, nodes,
                      True, now)
                check(trace_upstream(session, start, as_of=as_of, **ALL), graph, nodes,
                      False, now)
                reach = downstream_lots(session, gtin, lot, as_of=as_of)
                depth, _ = graph.reach(nodes, downstream=True)
                assert set(reach.holders) == set(depth)
                assert reach.lots[0] == (gtin, lot)
                assert set(reach.lots) == {node[1:] for node in depth}
    finally:
        engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)


# -- the graph is a projection: rebuild gives it back ----------------------------------------------

GRAPH_TABLES = (LotEdgeRow, AggregationRow, UnitRow)


def graph_snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    for model in GRAPH_TABLES:
        table = Base.metadata.tables[model.__tablename__]
        rows = session.execute(select(*table.columns).order_by(*table.primary_key.columns))
        tables[table.name] = [tuple(row) for row in rows]
    return tables


NETWORK = Shape(farms=3, processors=4, distributors=2, retailers=4, days=5, seed=7,
                returns=0.3, corrections=0.3, gifts=0.5)


def test_rebuild_recomputes_the_graph(sessions: sessionmaker[Session],
                                      ledger: log.Ledger) -> None:
    with sessions() as session:
        log.initialise(session, ledger)
        session.commit()
        write_network(session, ledger, plan_network(NETWORK))
        live = graph_snapshot(session)
        assert len(live["lot_edges"]) > 100 and live["aggregations"]
        assert any(row[-1] is not None for row in live["lot_edges"])  # re-routed shipments
    with sessions() as session:
        rebuild(session)
        session.commit()
        assert graph_snapshot(session) == live


def test_the_migration_fills_the_graph_of_an_older_ledger(tmp_path: Path) -> None:
    """A ledger written before revision 0006 gets the graph its projections imply."""
    from alembic import command
    from alembic.config import Config

    from ledger.db import _MIGRATIONS

    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    ledger = log.Ledger(ORIGIN, generate_private_key())
    with Session(engine) as session:
        log.initialise(session, ledger)
        session.commit()
        write_network(session, ledger, plan_network(NETWORK))
        live = graph_snapshot(session)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006_lot_graph@-1")
    with Session(engine) as session:
        assert session.execute(select(UnitRow.code)).first() is not None  # units are kept
    migrate(engine)
    with Session(engine) as session:
        assert graph_snapshot(session) == live
    engine.dispose()
