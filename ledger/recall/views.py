"""Reading recalls: one recall's view, the listing, the public notices and a lot's status.

Who sees what (``viewer`` is the enterprise whose view it is; ``None`` a regulator or an
administrator, as in :mod:`ledger.supervision.queries`):

- ``full``: regulators, the enterprise that started the recall and the producer carrying it
  out see every holder, their holdings, reports, deadlines and notice deliveries;
- ``holder``: an enterprise the recall reached sees the recall and its own part only;
- ``public``: anyone else, signed in or not, sees the public notice (阳光行政): level, product,
  lots, reason, hazard, dates, what consumers should do, and who recalls, and never
  quantities, prices or customers.

Deadlines (:mod:`ledger.supervision.recall_levels`) and whether a holder is past them are
computed when asked, for ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from ledger.errors import NotFoundError
from ledger.log.storage import EnterpriseRow
from ledger.outbox import deliveries_by_key
from ledger.recall.service import notice_key
from ledger.supervision.models import (
    LotRecallRow,
    LotRow,
    ProductRow,
    RecallHolderRow,
    RecallHoldingRow,
    RecallLotRow,
    RecallReportRow,
    RecallRow,
)
from ledger.supervision.quantity import format_quantity
from ledger.supervision.queries import Page, Viewer, viewer_matches, viewer_sees
from ledger.supervision.recall_levels import LEVELS, Deadlines, deadlines, parse_moment
from ledger.supervision.recalls import ACTIVITIES, CLOSED, OPEN, REVIEW

__all__ = ["DEFAULT_ADVICE", "FULL", "HOLDER", "PUBLIC", "access", "list_recalls",
           "recall_listing", "recall_summaries",
           "lot_status", "public_recalls", "recall_view"]

FULL, HOLDER, PUBLIC = "full", "holder", "public"

#: what consumers should do when the recall does not say: (zh, en)
DEFAULT_ADVICE = ("请立即停止食用或使用，凭购物凭证到购买处或联系生产者退货、退款。",
                  "Stop eating or using it at once, and return it to the shop or the "
                  "producer with your receipt for a refund.")


def access(session: Session, recall: RecallRow, viewer: Viewer) -> str:
    """How much of ``recall`` ``viewer`` may see: FULL, HOLDER or PUBLIC (a district bureau:
    FULL when it or one of its enterprises started it or made the goods, HOLDER when one of
    its enterprises holds them)."""
    if viewer_sees(viewer, recall.enterprise) or viewer_sees(viewer, recall.producer):
        return FULL
    if isinstance(viewer, str):
        held = viewer != "" and session.get(RecallHolderRow, (recall.seq, viewer)) is not None
    else:
        assert viewer is not None  # noqa: S101 - viewer_sees covers None above
        held = session.scalar(select(RecallHolderRow.enterprise).where(
            RecallHolderRow.recall == recall.seq,
            viewer_matches(RecallHolderRow.enterprise, viewer)).limit(1)) is not None
    return HOLDER if held else PUBLIC


def _deadlines(recall: RecallRow) -> Deadlines:
    return deadlines(recall.level, parse_moment(recall.initiated_at))


def _names(session: Session, enterprises: Collection[str]) -> dict[str, str]:
    if not enterprises:
        return {}
    return dict(session.execute(select(EnterpriseRow.uscc, EnterpriseRow.name)
                                .where(EnterpriseRow.uscc.in_(list(enterprises)))).all())


def _products(session: Session, gtins: Collection[str]) -> dict[str, str]:
    if not gtins:
        return {}
    return dict(session.execute(select(ProductRow.gtin, ProductRow.name)
                                .where(ProductRow.gtin.in_(list(gtins)))).all())


def _public(recall: RecallRow, lots: Sequence[RecallLotRow], products: dict[str, str],
            names: dict[str, str]) -> dict[str, Any]:
    """The public notice: nothing about quantities, prices or customers."""
    grade = LEVELS[recall.level]
    due = _deadlines(recall)
    seen: dict[str, None] = {}
    for lot in lots:
        seen.setdefault(lot.gtin)
    return {
        "id": recall.seq, "kind": recall.kind, "level": recall.level,
        "level_name_zh": grade.name_zh, "level_name_en": grade.name_en,
        "status": recall.status,
        "producer": {"uscc": recall.producer, "name": names.get(recall.producer)},
        "products": [{"gtin": gtin, "name": products.get(gtin)} for gtin in seen],
        "lots": [{"gtin": lot.gtin, "lot": lot.lot, "product_name": products.get(lot.gtin)}
                 for lot in lots],
        "reason": recall.reason, "hazard": recall.hazard,
        "consumer_advice": recall.consumer_advice,
        "consumer_advice_default_zh": DEFAULT_ADVICE[0],
        "consumer_advice_default_en": DEFAULT_ADVICE[1],
        "initiated_at": recall.initiated_at, "complete_by": due.complete_by.isoformat(),
        "closed_at": recall.closed_at,
    }


def _scope(session: Session, recalls: Collection[int]) -> dict[int, list[RecallLotRow]]:
    found: dict[int, list[RecallLotRow]] = {seq: [] for seq in recalls}
    if found:
        for row in session.scalars(select(RecallLotRow).where(
                RecallLotRow.recall.in_(list(found))).order_by(
                RecallLotRow.recall, RecallLotRow.via_seq, RecallLotRow.gtin, RecallLotRow.lot)):
            found[row.recall].append(row)
    return found


def _holder_state(holder: RecallHolderRow, due: Deadlines, until: datetime) -> dict[str, bool]:
    """Whether a holder began late, is past the completion deadline, or completed late."""
    first = parse_moment(holder.first_report_at) if holder.first_report_at else None
    completed = parse_moment(holder.completed_at) if holder.completed_at else None
    return {
        "start_late": (first or until) > due.start_by,
        "overdue": not holder.complete and until >= due.complete_before,
        "completed_late": completed is not None and completed >= due.complete_before,
    }


def _until(recall: RecallRow, now: datetime) -> datetime:
    """The moment deadlines are checked at: now, or when a closed recall closed."""
    return parse_moment(recall.closed_at) if recall.closed_at else now


def recall_view(session: Session, seq: int, *, viewer: Viewer, now: datetime
                ) -> dict[str, Any]:
    """One recall as ``viewer`` may see it (see the module's docstring); NotFoundError when
    there is no recall ``seq``."""
    recall = session.get(RecallRow, seq)
    if recall is None:
        raise NotFoundError(f"no recall at seq {seq}")
    seen = access(session, recall, viewer)
    lots = _scope(session, [seq])[seq]
    holder_rows = list(session.scalars(
        select(RecallHolderRow).where(RecallHolderRow.recall == seq)
        .order_by(RecallHolderRow.enterprise)))
    names = _names(session, {recall.producer, recall.enterprise,
                             *(h.enterprise for h in holder_rows)})
    view = _public(recall, lots, _products(session, {lot.gtin for lot in lots}), names)
    view["access"] = seen
    if seen == PUBLIC:
        return view
    due = _deadlines(recall)
    until = _until(recall, now)
    shown = holder_rows if seen == FULL else [h for h in holder_rows
                                              if viewer_sees(viewer, h.enterprise)]
    view.update({
        "enterprise": {"uscc": recall.enterprise, "name": names.get(recall.enterprise)},
        "as_of": recall.as_of,
        "deadlines": {"start_by": due.start_by.isoformat(),
                      "complete_by": due.complete_by.isoformat()},
        "scope": [{"gtin": lot.gtin, "lot": lot.lot, "via": lot.via, "via_seq": lot.via_seq}
                  for lot in lots],
        "holders": _holders(session, recall, shown, names, due, until,
                            with_urls=viewer is None),
        "progress": _progress(shown, due, until),
        "overdue": recall.status == OPEN and any(
            _holder_state(h, due, until)["overdue"] for h in holder_rows),
        "closure": None if recall.status != CLOSED else {
            "seq": recall.closed_seq, "closed_at": recall.closed_at,
            "closed_by": {"uscc": recall.closed_by, "name": names.get(recall.closed_by or "")},
            **{name: getattr(recall, name) for name in REVIEW}, "report": recall.report},
    })
    view["progress"]["lots"] = _lot_totals(view["holders"])
    return view


def _holders(session: Session, recall: RecallRow, holders: Sequence[RecallHolderRow],
             names: dict[str, str], due: Deadlines, until: datetime, *,
             with_urls: bool) -> list[dict[str, Any]]:
    wanted = [holder.enterprise for holder in holders]
    holdings: dict[str, list[dict[str, Any]]] = {name: [] for name in wanted}
    reports: dict[str, list[dict[str, Any]]] = {name: [] for name in wanted}
    if wanted:
        for row in session.scalars(select(RecallHoldingRow).where(
                RecallHoldingRow.recall == recall.seq,
                RecallHoldingRow.enterprise.in_(wanted)).order_by(
                RecallHoldingRow.enterprise, RecallHoldingRow.gtin, RecallHoldingRow.lot)):
            holdings[row.enterprise].append({
                "gtin": row.gtin, "lot": row.lot, "held": row.held, "unit": row.unit,
                **{name: getattr(row, name) for name in ACTIVITIES}})
        for report in session.scalars(select(RecallReportRow).where(
                RecallReportRow.recall == recall.seq,
                RecallReportRow.enterprise.in_(wanted)).order_by(RecallReportRow.seq)):
            reports[report.enterprise].append({
                "seq": report.seq, "reported_at": report.reported_at,
                "complete": report.complete, "evidence": json.loads(report.evidence),
                "note": report.note})
    keys = {holder.enterprise: notice_key(recall.seq, holder.enterprise) for holder in holders}
    deliveries = deliveries_by_key(session, list(keys.values()))
    hidden = () if with_urls else ("url", "last_error")
    return [{
        "enterprise": holder.enterprise, "name": names.get(holder.enterprise),
        "via_seq": holder.via_seq, "notice": holder.notice, "reports": reports[holder.enterprise],
        "first_report_at": holder.first_report_at, "complete": holder.complete,
        "completed_at": holder.completed_at, **_holder_state(holder, due, until),
        "holdings": holdings[holder.enterprise],
        "deliveries": [{k: v for k, v in delivery.items() if k not in hidden}
                       for delivery in deliveries[keys[holder.enterprise]]],
    } for holder in holders]


def _progress(holders: Sequence[RecallHolderRow], due: Deadlines,
              until: datetime) -> dict[str, Any]:
    states = [_holder_state(holder, due, until) for holder in holders]
    complete = sum(holder.complete for holder in holders)
    return {
        "holders": len(holders),
        "acknowledged": sum(holder.reports > 0 for holder in holders),
        "complete": complete,
        "percent_complete": round(100 * complete / len(holders), 1) if holders else 100.0,
        "start_late": sum(state["start_late"] for state in states),
        "overdue": sum(state["overdue"] for state in states),
    }


def _taking_part(query: Select[Any], viewer: Viewer) -> Select[Any]:
    if viewer is None:
        return query
    reached = select(RecallHolderRow.recall).where(
        viewer_matches(RecallHolderRow.enterprise, viewer))
    return query.where(or_(viewer_matches(RecallRow.enterprise, viewer),
                           viewer_matches(RecallRow.producer, viewer),
                           RecallRow.seq.in_(reached)))


def list_recalls(session: Session, *, viewer: Viewer, now: datetime, limit: int,
                 after: tuple[Any, ...] | None = None, status: str | None = None) -> Page:
    """Recalls ``viewer`` takes part in (regulators: all), newest first, with completion."""
    query = _taking_part(select(RecallRow), viewer)
    if status:
        query = query.where(RecallRow.status == status)
    if after:
        query = query.where(RecallRow.seq < after[0])
    rows = list(session.scalars(query.order_by(RecallRow.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(_summaries(session, rows, viewer, now),
                (rows[-1].seq,) if more and rows else None)


def recall_listing(viewer: Viewer) -> Select[Any]:
    """The recalls ``viewer`` takes part in as a listing's select (labelled columns: seq,
    level, kind, status, producer, producer_name, producer_district, reason, initiated_at,
    closed_at); :func:`recall_summaries` adds what :func:`list_recalls` shows of each."""
    maker = aliased(EnterpriseRow)
    query = cast("Select[Any]", select(
        RecallRow.seq.label("seq"), RecallRow.level.label("level"),
        RecallRow.kind.label("kind"), RecallRow.status.label("status"),
        RecallRow.producer.label("producer"), maker.name.label("producer_name"),
        maker.district.label("producer_district"), RecallRow.reason.label("reason"),
        RecallRow.initiated_at.label("initiated_at"), RecallRow.closed_at.label("closed_at"),
    ).outerjoin(maker, maker.uscc == RecallRow.producer))
    return _taking_part(query, viewer)


def recall_summaries(session: Session, seqs: Sequence[int], *, viewer: Viewer,
                     now: datetime) -> dict[int, dict[str, Any]]:
    """What :func:`list_recalls` shows of each recall ``seqs`` names, by seq."""
    rows = list(session.scalars(select(RecallRow).where(RecallRow.seq.in_(seqs)))) if seqs \
        else []
    return {item["id"]: item for item in _summaries(session, rows, viewer, now)}


def _summaries(session: Session, rows: Sequence[RecallRow], viewer: Viewer,
               now: datetime) -> list[dict[str, Any]]:
    seqs = [row.seq for row in rows]
    lots = _scope(session, seqs)
    holders: dict[int, list[RecallHolderRow]] = {seq: [] for seq in seqs}
    for holder in session.scalars(select(RecallHolderRow).where(
            RecallHolderRow.recall.in_(seqs))) if seqs else ():
        holders[holder.recall].append(holder)
    names = _names(session, {row.producer for row in rows})
    products = _products(session, {lot.gtin for found in lots.values() for lot in found})
    items = []
    for row in rows:
        item = _public(row, lots[row.seq], products, names)
        seen = access(session, row, viewer)
        mine = [h for h in holders[row.seq] if seen == FULL or viewer_sees(viewer, h.enterprise)]
        due = _deadlines(row)
        item["access"] = seen
        item["deadlines"] = {"start_by": due.start_by.isoformat(),
                             "complete_by": due.complete_by.isoformat()}
        item["progress"] = _progress(mine, due, _until(row, now))
        items.append(item)
    return items


def public_recalls(session: Session, *, limit: int, after: tuple[Any, ...] | None = None
                   ) -> Page:
    """Every recall's public notice (阳光行政), newest first: open and closed alike."""
    query = select(RecallRow)
    if after:
        query = query.where(RecallRow.seq < after[0])
    rows = list(session.scalars(query.order_by(RecallRow.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    lots = _scope(session, [row.seq for row in rows])
    products = _products(session, {lot.gtin for found in lots.values() for lot in found})
    names = _names(session, {row.producer for row in rows})
    return Page([_public(row, lots[row.seq], products, names) for row in rows],
                (rows[-1].seq,) if more and rows else None)


def lot_status(session: Session, gtin: str, lot: str) -> dict[str, Any]:
    """A lot's product and recall status, for a consumer's scan (public): ``recall`` is
    ``open`` (with the most serious open recall's level), ``closed`` (the latest recall of it
    is over) or ``none``. NotFoundError when the lot is not on the ledger."""
    row = session.get(LotRow, (gtin, lot))
    if row is None:
        raise NotFoundError(f"lot {gtin}/{lot} is not on the ledger")
    product = session.get(ProductRow, gtin)
    status = session.get(LotRecallRow, (gtin, lot))
    recall: RecallRow | None = None
    state = "none"
    if status is not None:
        state = OPEN if status.open_count > 0 else CLOSED
        recall = session.get(RecallRow, status.open_recall if status.open_recall is not None
                             else status.last_recall)
    body: dict[str, Any] = {
        "gtin": gtin, "lot": lot,
        "product": None if product is None else {
            "gtin": product.gtin, "name": product.name, "category": product.category,
            "standard": product.standard, "spec": product.spec,
            "producer": product.enterprise},
        "produced_at": row.produced_at, "expiry": row.expiry,
        "recall": {"status": state, "id": None, "level": None, "level_name_zh": None,
                   "level_name_en": None, "initiated_at": None, "reason": None,
                   "consumer_advice": None, "closed_at": None},
    }
    if recall is not None:
        grade = LEVELS[recall.level]
        body["recall"].update({
            "id": recall.seq, "level": recall.level, "level_name_zh": grade.name_zh,
            "level_name_en": grade.name_en, "initiated_at": recall.initiated_at,
            "reason": recall.reason,
            "consumer_advice": recall.consumer_advice or DEFAULT_ADVICE[0],
            "closed_at": recall.closed_at})
    return body


def _lot_totals(holders: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the holders shown had of each lot and did with it, summed per lot."""
    totals: dict[tuple[str, str, str], dict[str, Decimal]] = {}
    for holder in holders:
        for holding in holder["holdings"]:
            key = (holding["gtin"], holding["lot"], holding["unit"])
            sums = totals.setdefault(key, dict.fromkeys(("held", *ACTIVITIES), Decimal(0)))
            for name in sums:
                sums[name] += Decimal(holding[name])
    return [{"gtin": gtin, "lot": lot, "unit": unit,
             **{name: format_quantity(amount) for name, amount in sums.items()}}
            for (gtin, lot, unit), sums in sorted(totals.items())]
