"""Trace (溯源): from one lot, unit code or enterprise intake to everything downstream or
upstream of it, over the lot graph the supervision rules keep (``lot_edges``, ``units``,
``aggregations``; see :class:`ledger.supervision.models.LotEdgeRow`).

A reader of the supervision projections: nothing in ``supervision`` needs it, and it imports
no Flask. The API (``web/api/trace.py``), the CLI (``tracenet trace``) and the console call it.

The public surface:

- :func:`trace_downstream` / :func:`trace_upstream` ``(session, start, *, as_of=None,
  depth=DEFAULT_DEPTH, limit=DEFAULT_LIMIT, viewer=None) -> Trace``, where ``start`` is a
  :class:`TraceStart` (``TraceStart.of_lot(gtin, lot)``, ``.of_unit(code)``,
  ``.of_intake(enterprise, gtin=None, lot=None)``) and the :class:`Trace` lists the lots
  reached, each holder with what it received, holds and passed on, the steps linking them
  (with the entries' seqs), the unit codes and their aggregates, and whether it was truncated;
- :func:`downstream_lots` ``(session, gtin, lot, as_of=None) -> DownstreamLots(size, lots,
  holders)``: the unlimited downstream reach of a lot, for a recall's scope. ``size`` is the
  ledger size it was computed at (store it, so anyone can recompute the same answer with
  ``as_of=size``); ``lots`` the start lot first and then every lot made from it, as
  :class:`LotKey` ``(gtin, lot)``; ``holders`` every :class:`Node` ``(holder, gtin, lot)``
  reached: each enterprise (USCC) that holds or held goods of those lots, including goods in
  transit to it and, for a lot taken in as material, its supplier;
- :func:`parse_as_of`, :func:`resolve_as_of`, :func:`ledger_size_at`: ``as_of`` is a ledger
  size or a time (the size at that moment, from the entries' ``recorded_at``).
"""

from __future__ import annotations

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
from ledger.trace.walk import (
    DEFAULT_DEPTH,
    DEFAULT_LIMIT,
    downstream_lots,
    ledger_size_at,
    parse_as_of,
    resolve_as_of,
    trace_downstream,
    trace_upstream,
)

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_LIMIT",
    "AffectedLot",
    "DownstreamLots",
    "Holding",
    "LotKey",
    "Node",
    "Step",
    "Trace",
    "TraceStart",
    "UnitCode",
    "downstream_lots",
    "ledger_size_at",
    "parse_as_of",
    "resolve_as_of",
    "trace_downstream",
    "trace_upstream",
]
