"""The console's trace page (溯源): search a lot or a unit code, see where its goods went and
where they came from, as nested tables.

The answer is :func:`ledger.trace.trace_downstream` / :func:`~ledger.trace.trace_upstream`,
with the same visibility as the API (regulators everything; an enterprise upstream of its own
holdings and downstream as far as its direct customers). This module only arranges it for
the page: :func:`tree_rows` lays the trace's steps out as a tree, each holding nested under
the holding its goods came from (downstream) or went to (upstream).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ledger.accounts.roles import REGULATOR, sees_everything
from ledger.errors import EntryError, ForbiddenError, LedgerError, NotFoundError
from ledger.recall import lot_status
from ledger.supervision.queries import Viewer
from ledger.trace import (
    AffectedLot,
    Holding,
    Node,
    Step,
    Trace,
    TraceStart,
    parse_as_of,
    trace_downstream,
    trace_upstream,
)
from schemas.codes import GTINField, LotField
from web.console import i18n
from web.console.i18n import t
from web.console.recalls import start_fields
from web.console.views import bp, console_viewer, current_user, error_page, login_required
from web.db import get_session

__all__ = ["TreeRow", "tree_rows"]

#: unit codes listed on the page (the count says how many the trace found)
UNITS_SHOWN = 100


@dataclass(frozen=True)
class TreeRow:
    """One row of a trace's tree: a lot at a holder, nested ``level`` deep, reached from the
    row above it by ``step`` (None for a starting holding). ``repeat`` marks a holding shown in
    full elsewhere in the tree (reached by more than one path): its row is the link, without
    the subtree again."""

    holding: Holding
    lot: AffectedLot | None
    level: int
    step: Step | None
    repeat: bool
    anchor: str


def _anchor(direction: str, node: Node) -> str:
    return f"{direction[:2]}-{node.holder}-{node.gtin}-{node.lot}".replace(" ", "_")


def tree_rows(trace: Trace) -> list[TreeRow]:
    """The trace as tree rows in display order.

    The tree is the breadth-first tree of the trace's steps: each holding is shown in full
    once, nested under the first holding that reaches it in the fewest steps; every other step
    into it is a ``repeat`` row pointing to that one, so a diamond, a merge or a return cycle
    shows each link (with its entries) exactly once and no subtree twice. The tree opens at
    the starting holdings that no other starting holding leads to: a lot's origin, before the
    holders it shipped to (downstream); its last holders (upstream). A cycle among them (a
    return) opens at its first holding in order.
    """
    downstream = trace.direction == "downstream"
    holdings = {Node(h.holder, h.gtin, h.lot): h for h in trace.holdings}
    lots = {(lot.gtin, lot.lot): lot for lot in trace.lots}
    links: dict[Node, list[tuple[Step, Node]]] = {node: [] for node in holdings}
    for step in trace.steps:
        parent, child = (step.source, step.target) if downstream else (step.target, step.source)
        if parent in holdings and child in holdings and parent != child:
            links[parent].append((step, child))
    for found in links.values():
        found.sort(key=lambda link: (link[0].kind != "production", link[0].seqs, link[1]))
    starts = sorted(node for node, holding in holdings.items() if holding.depth == 0)
    led_to = {child for node in starts for _step, child in links[node]}

    opened_by: dict[Node, tuple[Node, Step] | None] = {}
    level_of: dict[Node, int] = {}
    roots: list[Node] = []

    def spread(sources: list[Node]) -> None:
        """Breadth first from ``sources`` (new roots) over holdings not yet opened."""
        queue = deque(sources)
        for node in sources:
            opened_by[node], level_of[node] = None, 0
            roots.append(node)
        while queue:
            node = queue.popleft()
            for step, child in links[node]:
                if child not in level_of:
                    opened_by[child], level_of[child] = (node, step), level_of[node] + 1
                    queue.append(child)

    spread([node for node in starts if node not in led_to])
    for node in [*starts, *sorted(holdings)]:  # cycles, and anything else left over
        if node not in level_of:
            spread([node])

    rows: list[TreeRow] = []
    stack: list[tuple[Node, int, Step | None, bool]] = [
        (node, 0, None, False) for node in reversed(roots)]
    while stack:  # depth first, for display: each holding followed by what it leads to
        node, level, into, repeat = stack.pop()
        rows.append(TreeRow(holdings[node], lots.get((node.gtin, node.lot)), level, into,
                            repeat, _anchor(trace.direction, node)))
        if not repeat:
            stack.extend(reversed([(child, level + 1, link, opened_by[child] != (node, link))
                                   for link, child in links[node]]))
    return rows


# --- the page -------------------------------------------------------------------------------


class TraceForm(Schema):
    """The search: a lot (GTIN and lot) or a unit code, and optionally ``as_of``."""

    gtin = GTINField(load_default=None)
    lot = LotField(load_default=None)
    code = fields.String(load_default=None, validate=validate.Length(1, 100))
    as_of = fields.String(load_default=None, validate=validate.Length(1, 40))

    @validates_schema
    def _a_lot_or_a_code(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        if data.get("code"):
            return
        missing = [name for name in ("gtin", "lot") if not data.get(name)]
        if missing:
            raise ValidationError("Missing data for required field.", missing[0])


def _viewer() -> Viewer:
    return console_viewer()


def _query() -> dict[str, str]:
    return {name: value.strip() for name, value in request.args.items()
            if name in ("gtin", "lot", "code", "as_of") and value.strip()}


@bp.get("/trace")
@login_required
def trace_page() -> Any:
    """The search form and, once a lot or code is given, its downstream and upstream."""
    query = _query()
    if not query:
        return _render(query, {})
    form = TraceForm().load(query)
    start = (TraceStart.of_unit(form["code"]) if form["code"]
             else TraceStart.of_lot(form["gtin"], form["lot"]))
    as_of = parse_as_of(form["as_of"]) if form["as_of"] else None
    session = get_session()
    viewer = _viewer()
    traces = [trace_downstream(session, start, as_of=as_of, viewer=viewer),
              trace_upstream(session, start, as_of=as_of, viewer=viewer)]
    lot = _traced_lot(form, traces[0])
    # Whether the lot is under recall now (a public fact: the consumer scan shows it too).
    recall = lot_status(session, lot["gtin"], lot["lot"])["recall"] if lot else None
    return _render(query, {}, traces=traces, traced_lot=lot, recall=recall,
                   recall_lot=None if form["as_of"] else lot)


def _traced_lot(form: Mapping[str, Any], trace: Trace) -> dict[str, str] | None:
    """The one lot the page traced: the lot searched, or a serial unit's lot; None for an
    aggregate, which may hold several. A regulator may order it recalled from here."""
    if form["gtin"] and form["lot"]:
        return {"gtin": form["gtin"], "lot": form["lot"]}
    unit = trace.start_unit[0] if trace.start_unit else None
    if unit is not None and unit.gtin and unit.lot:
        return {"gtin": unit.gtin, "lot": unit.lot}
    return None


def _render(query: Mapping[str, str], errors: Mapping[str, list[str]], *,
            traces: list[Trace] | None = None, status: int = 200, **extra: Any
            ) -> tuple[str, int]:
    user = current_user()
    sections = [{"trace": trace, "rows": tree_rows(trace),
                 "names": {h.holder: h.name for h in trace.holdings if h.name}}
                for trace in traces or []]
    page = render_template(
        "console/trace.html", query=query, errors=errors, sections=sections,
        sees_all=sees_everything(user.role), may_recall=user.role == REGULATOR,
        units_shown=UNITS_SHOWN, levels=start_fields(), **extra)
    return page, status


@error_page("console.trace_page")
def _trace_refused(exc: Exception) -> Any:
    """A search the form or the trace refused: the form again, the reason next to its field."""
    query = _query()
    if isinstance(exc, ValidationError):
        messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
        errors = {name: [i18n.field_error(str(m)) for m in (found if isinstance(found, list)
                                                            else [found])]
                  for name, found in messages.items()}
        return _render(query, errors, status=422)
    assert isinstance(exc, LedgerError)  # noqa: S101 - error_page only passes these two
    return _render(query, {_error_field(exc): [trace_error(exc, query)]},
                   status=_STATUS.get(type(exc), 422))


_STATUS: dict[type[LedgerError], int] = {NotFoundError: 404, ForbiddenError: 403}


def _error_field(exc: LedgerError) -> str:
    if isinstance(exc, ForbiddenError):
        return ""  # about the whole search, not one of its fields
    field = exc.field[-1] if exc.field else ""
    return {"serial": "code", "enterprise": ""}.get(str(field), str(field))


def trace_error(exc: LedgerError, query: Mapping[str, str]) -> str:
    """Why a trace was refused, in the user's language."""
    field = exc.field[-1] if exc.field else None
    if isinstance(exc, ForbiddenError):
        return t("trace.forbidden")
    if isinstance(exc, NotFoundError) and field in ("code", "serial"):
        return t("trace.unit_not_found", code=query.get("code", ""))
    if isinstance(exc, NotFoundError) and field == "lot":
        return t("trace.lot_not_found", gtin=query.get("gtin", ""), lot=query.get("lot", ""))
    if field == "as_of":
        return t("trace.bad_as_of")
    if isinstance(exc, EntryError):
        return i18n.pick(getattr(exc, "message_zh", None), exc.message)
    return exc.message
