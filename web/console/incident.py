"""The regulator's incident view (事故处置): find the lot an incident is about, see where its
goods went and where they came from as a graph beside the tables, order its recall from there,
and keep the open recalls and their deadlines in sight.

- ``/console/incident``: one search box for a lot code, a product (GTIN or name), an
  enterprise (USCC or name) or a unit code (a GS1 element string, Digital Link or supervision
  code, as typed or scanned), answered by :mod:`ledger.trace.search`; a single lot found opens
  at once, several are listed (failed inspections first). Without a search: the open recalls.
- ``/console/incident/lot?gtin=…&lot=…``: the lot's facts (product, maker, inspections and
  what failed), its downstream and upstream trace (:func:`ledger.trace.trace_downstream` /
  ``trace_upstream``) drawn with Cytoscape.js (npm, served from ``/static/vendor/``; the page
  script is ``static/incident.js``, never inline) beside the holders' tables, the order-recall
  form (:mod:`web.console.recalls` starts it) and the open recalls with their deadlines.

Regulators and administrators only; a district bureau's search, traces and recalls are
narrowed to its district (``ledger.accounts.scope.viewer_for``, as on every console page).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ledger.accounts.roles import REGULATOR, sees_everything
from ledger.errors import ForbiddenError, LedgerError
from ledger.log.proofs import get_entry
from ledger.log.storage import EnterpriseRow
from ledger.recall import list_recalls, lot_status
from ledger.supervision import names
from ledger.supervision.context import unit_code
from ledger.supervision.models import LotRecallRow, LotRow, ProductRow, RecordRow
from ledger.supervision.queries import Viewer
from ledger.supervision.recall_levels import CHINA
from ledger.supervision.recalls import OPEN
from ledger.trace import Holding, LotKey, Trace, TraceStart, trace_downstream, trace_upstream
from ledger.trace.search import UNIT, FoundLots, find_lots, lots_by_keys, unit_lots
from scanners.codes import parse_code
from scanners.errors import CodeError
from schemas.codes import GTINField, LotField
from web.console import i18n
from web.console.i18n import t
from web.console.recalls import start_fields
from web.console.trace import tree_rows
from web.console.views import bp, console_viewer, current_user, error_page, login_required
from web.db import get_ledger, get_session

__all__ = ["graph_data", "open_recalls", "search"]

#: lots listed for a search that found several
FOUND_LIMIT = 50
#: open recalls listed beside an incident and on the search page
RECALLS_LIMIT = 50
#: "GTIN / lot" or "GTIN lot", as people copy them from a label or a spreadsheet
_GTIN_AND_LOT = re.compile(r"^\s*(\d{8}|\d{12,14})\s*[/／\s]\s*(\S+)\s*$")


def _visible(viewer: Viewer) -> set[str] | None:
    """The enterprises whose lots the search may list: None for everything."""
    if viewer is None:
        return None
    return {viewer} if isinstance(viewer, str) else set(viewer)


def _require_overseer() -> None:
    if not sees_everything(current_user().role):
        abort(403)


# --- finding the lot -------------------------------------------------------------------------


def search(session: Session, text: str, *, visible: Collection[str] | None,
           limit: int = FOUND_LIMIT) -> tuple[FoundLots, str | None]:
    """The lots ``text`` names, and the unit code it was read as (if it was one).

    A code someone typed or scanned is read first (:func:`scanners.codes.parse_code`): a
    serial unit or supervision code is its unit's lot, an aggregate (SSCC) the lots packed in
    it, GTIN with a lot that lot; anything else is looked up as words
    (:func:`ledger.trace.search.find_lots`).
    """
    text = text.strip()
    pair = _GTIN_AND_LOT.match(text)
    if pair:
        try:
            gtin = GTINField().deserialize(pair.group(1).zfill(14))
        except ValidationError:
            gtin = None
        if gtin:
            found = lots_by_keys(session, [LotKey(gtin, pair.group(2))], visible=visible,
                                 limit=limit)
            if found.total:
                return found, None
    try:
        parsed = parse_code(text)
    except CodeError:
        parsed = None
    if parsed is not None:
        code: str | None = None
        if parsed.supervision is not None:
            code = parsed.supervision.text
        elif parsed.get("01") and parsed.get("21"):
            code = unit_code(parsed.get("01") or "", parsed.get("21") or "")
        elif parsed.get("00"):
            code = f"(00){parsed.get('00')}"
        if code is not None:
            lots = unit_lots(session, code)
            if lots is not None:
                return lots_by_keys(session, lots, matched=UNIT, visible=visible,
                                    limit=limit), code
        gtin, lot = parsed.get("01"), parsed.get("10")
        if gtin and lot:
            found = lots_by_keys(session, [LotKey(gtin, lot)], visible=visible, limit=limit)
            if found.total:
                return found, None
        if gtin and parsed.kind != "gtin":
            return find_lots(session, gtin, visible=visible, limit=limit), None
    return find_lots(session, text, visible=visible, limit=limit), None


@bp.get("/incident")
@login_required
def incident_search() -> Any:
    """The search box; a search that finds one lot opens it, several are listed."""
    _require_overseer()
    query = request.args.get("q", "").strip()[:200]
    session = get_session()
    viewer = console_viewer()
    visible = _visible(viewer)
    found: FoundLots | None = None
    code = None
    if query:
        found, code = search(session, query, visible=visible)
        if found.total == 1:
            only = found.lots[0]
            return redirect(url_for("console.incident_lot", gtin=only.gtin, lot=only.lot,
                                    code=code))
    return render_template("console/incident_search.html", query=query, found=found,
                           code=code, recalls=open_recalls(session, viewer))


# --- one lot -------------------------------------------------------------------------------


class LotQuery(Schema):
    """The lot of an incident page."""

    gtin = GTINField(required=True)
    lot = LotField(required=True)


def _lot_facts(session: Session, gtin: str, lot: str) -> dict[str, Any]:
    row = session.get(LotRow, (gtin, lot))
    if row is None:
        abort(404)
    product = session.get(ProductRow, gtin)
    origin = session.get(EnterpriseRow, row.origin)
    inspections = []
    for record in session.scalars(
            select(RecordRow).where(RecordRow.type == names.INSPECTION, RecordRow.gtin == gtin,
                                    RecordRow.lot == lot, RecordRow.superseded_by.is_(None))
            .order_by(RecordRow.seq)):
        payload = get_entry(session, record.seq).statement.payload
        inspector = session.get(EnterpriseRow, record.enterprise)
        inspections.append({
            "seq": record.seq, "verdict": record.verdict or payload.get("verdict"),
            "kind": payload.get("kind"), "lab": payload.get("lab"),
            "report_no": payload.get("report_no"), "at": payload.get("inspected_at"),
            "by": inspector.name if inspector else record.enterprise,
            "failed": [item for item in payload.get("items", [])
                       if isinstance(item, Mapping) and item.get("pass") is False]})
    return {"gtin": gtin, "lot": lot, "row": row, "product": product,
            "origin_name": origin.name if origin else None, "inspections": inspections}


@bp.get("/incident/lot")
@login_required
def incident_lot() -> Any:
    """One lot's incident: its facts, the trace graph beside the tables, the recall form."""
    _require_overseer()
    lot_query = LotQuery().load({name: request.args.get(name, "").strip()
                                 for name in ("gtin", "lot")})
    gtin, lot = lot_query["gtin"], lot_query["lot"]
    session = get_session()
    viewer = console_viewer()
    visible = _visible(viewer)
    facts = _lot_facts(session, gtin, lot)
    if visible is not None and not lots_by_keys(session, [LotKey(gtin, lot)],
                                                visible=visible).total:
        abort(403)
    # As the trace page shows it to the same account: a district bureau from its district's
    # holdings, as far as their direct customers.
    start = TraceStart.of_lot(gtin, lot)
    down = trace_downstream(session, start, viewer=viewer)
    up = trace_upstream(session, start, viewer=viewer)
    status = lot_status(session, gtin, lot)["recall"]
    recalled = _recalled_lots(session, {LotKey(a.gtin, a.lot) for a in (*down.lots, *up.lots)})
    return render_template(
        "console/incident.html", facts=facts, recall=status, down=down, up=up,
        sections=[{"trace": trace, "rows": tree_rows(trace)} for trace in (down, up)],
        graph=graph_data(down, up, recalled=recalled), code=request.args.get("code"),
        may_recall=current_user().role == REGULATOR, levels=start_fields(),
        recalls=open_recalls(session, viewer))


def _recalled_lots(session: Session, lots: Collection[LotKey]) -> set[LotKey]:
    if not lots:
        return set()
    return {LotKey(row.gtin, row.lot) for row in session.scalars(
        select(LotRecallRow).where(tuple_(LotRecallRow.gtin, LotRecallRow.lot).in_(
            sorted(lots)), LotRecallRow.open_count > 0))}


@error_page("console.incident_lot")
def _lot_refused(exc: Exception) -> Any:
    """A lot address that cannot be read: the search page, saying why."""
    query = " / ".join(request.args.get(name, "") for name in ("gtin", "lot")).strip(" /")
    message = (i18n.pick(getattr(exc, "message_zh", None), exc.message)
               if isinstance(exc, LedgerError) else t("incident.bad_lot"))
    if isinstance(exc, ForbiddenError):
        message = t("trace.forbidden")
    page = render_template("console/incident_search.html", query=query, found=None,
                           code=None, recalls=open_recalls(get_session(), console_viewer()),
                           error=message)
    return page, 403 if isinstance(exc, ForbiddenError) else 422


# --- the graph -----------------------------------------------------------------------------


def _node_id(holder: str, gtin: str, lot: str) -> str:
    return f"{holder}|{gtin}|{lot}"


def graph_data(down: Trace, up: Trace, *, recalled: Collection[LotKey] = ()) -> dict[str, Any]:
    """Both traces as one graph for Cytoscape.js: ``nodes`` (a lot at a holder) and ``edges``
    (the steps, goods flowing from source to target), as ``{"data": …}`` elements.

    Each node has a ``rank``, which the page lays out as columns (rows on a phone): 0 for
    where the lot searched begins, then the steps downstream, or minus the steps upstream.
    Everything shown is already formatted for the user's language.
    """
    products = {(lot.gtin, lot.lot): lot for lot in (*up.lots, *down.lots)}
    nodes: dict[str, dict[str, Any]] = {}
    for trace, sign in ((up, -1), (down, 1)):
        for holding in trace.holdings:
            key = _node_id(holding.holder, holding.gtin, holding.lot)
            rank = sign * holding.depth
            node = nodes.get(key)
            if node is not None:
                node["sides"].append(trace.direction)
                if abs(rank) < abs(node["rank"]):
                    node["rank"] = rank
                continue
            lot = products.get((holding.gtin, holding.lot))
            nodes[key] = {"id": key, "rank": rank, "sides": [trace.direction],
                          **_node_text(holding, lot.product if lot else None),
                          "inspection": lot.inspection if lot else "none",
                          "recalled": LotKey(holding.gtin, holding.lot) in recalled,
                          "start": holding.depth == 0, "end": holding.end,
                          "url": url_for("console.incident_lot", gtin=holding.gtin,
                                         lot=holding.lot)}
    edges: dict[str, dict[str, Any]] = {}
    for trace in (up, down):
        for step in trace.steps:
            source = _node_id(*step.source)
            target = _node_id(*step.target)
            if source not in nodes or target not in nodes or source == target:
                continue
            key = f"{step.kind}:{source}>{target}"
            if key not in edges:
                edges[key] = {"id": key, "source": source, "target": target,
                              "kind": step.kind, "label": t("trace.kind." + step.kind),
                              "amount": i18n.format_quantity(step.quantity, step.unit),
                              "seqs": list(step.seqs)}
    _rank(nodes, list(edges.values()))
    return {"nodes": [{"data": node} for node in nodes.values()],
            "edges": [{"data": edge} for edge in edges.values()],
            "words": {name: t("incident.graph." + name) for name in _GRAPH_WORDS}}


def _rank(nodes: dict[str, dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    """Lay the lot's own holdings out along the flow too: a trace starts at every holder of
    the lot searched (the farm that made it and the dairy it shipped it to are both at depth
    0), so the graph's ranks are counted from the first of them instead — the holdings of the
    lot that no other holding of it leads to — downstream along the edges and upstream
    against them. Nodes no edge reaches keep their depth."""
    out: dict[str, list[str]] = {key: [] for key in nodes}
    into: dict[str, list[str]] = {key: [] for key in nodes}
    for edge in edges:
        out[edge["source"]].append(edge["target"])
        into[edge["target"]].append(edge["source"])
    starts = sorted(key for key, node in nodes.items() if node["start"])
    roots = [key for key in starts if not any(node in starts for node in into[key])] or starts
    rank = dict.fromkeys(roots, 0)
    queue = deque(roots)
    while queue:
        node = queue.popleft()
        for target in sorted(out[node]):
            if target not in rank and "downstream" in nodes[target]["sides"]:
                rank[target] = rank[node] + 1
                queue.append(target)
    queue = deque(key for key in starts if key in rank)
    while queue:
        node = queue.popleft()
        for source in sorted(into[node]):
            if source not in rank:
                rank[source] = rank[node] - 1
                queue.append(source)
    for key, found in rank.items():
        nodes[key]["rank"] = found


_GRAPH_WORDS = ("received", "produced", "passed_on", "used", "held", "open", "order", "entries",
                "recalled", "start", "end", "inspection_fail", "inspection_pass",
                "inspection_none", "off_ledger")


def _node_text(holding: Holding, product: str | None) -> dict[str, Any]:
    amounts = {name: (None if getattr(holding, name) is None
                      else i18n.format_quantity(getattr(holding, name), holding.unit))
               for name in ("received", "produced", "passed_on", "used", "held")}
    return {"holder": holding.holder, "name": holding.name, "gtin": holding.gtin,
            "lot": holding.lot, "product": product,
            "label": f"{_short(holding.name or holding.holder)}\n{holding.lot}",
            "amounts": amounts}


#: what the graph's labels leave off enterprise names: the legal form, which says nothing here
_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "专业合作社")


#: characters of a name a node's 150-pixel label line holds (CJK at 13 px)
_LABEL_CHARS = 10


def _short(name: str) -> str:
    """An enterprise's name as a node's label line: without its legal form, and cut to what
    the line holds (the detail panel and the tables give it whole)."""
    for form in _LEGAL_FORMS:
        if name.endswith(form) and len(name) > len(form) + 2:
            name = name[: -len(form)]
            break
    return name if len(name) <= _LABEL_CHARS else name[: _LABEL_CHARS - 1] + "…"


# --- the open recalls ------------------------------------------------------------------------


def open_recalls(session: Session, viewer: Viewer) -> list[dict[str, Any]]:
    """The open recalls ``viewer`` takes part in (a bureau: all of its district's), the most
    urgent first: those with holders late or past a deadline, then by the deadline."""
    now = get_ledger().clock()
    items = list_recalls(session, viewer=viewer, now=now, limit=RECALLS_LIMIT,
                         status=OPEN).items
    today = now.astimezone(CHINA).date()
    for item in items:
        # the last day it may be completed on, in China: 0 days left on that day itself
        item["days_left"] = (date.fromisoformat(item["deadlines"]["complete_by"]) - today).days
    items.sort(key=lambda item: (-(item["progress"]["overdue"] + item["progress"]["start_late"]),
                                 item["deadlines"]["complete_by"]))
    return items
