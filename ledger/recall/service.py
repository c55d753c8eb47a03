"""Starting a recall, reporting progress and closing it: statements built here and appended
through the one door, :func:`ledger.supervision.submit.submit`.

Each function works on the caller's session and never commits: the caller (an API view, a
CLI command) owns the unit of work, so a recall's entry and the notices it queues in the
outbox land together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts.custodial import KeyVault
from ledger.log import Ledger
from ledger.log.entry import Statement
from ledger.outbox import enqueue
from ledger.recall.scope import LotKey, expand_scope
from ledger.supervision.models import (
    LotRow,
    RecallHolderRow,
    RecallHoldingRow,
    RecallRow,
)
from ledger.supervision.names import RECALL_CLOSED, RECALL_INITIATED, RECALL_PROGRESS
from ledger.supervision.recall_levels import CHINA, LEVELS, deadlines, parse_moment
from ledger.supervision.recalls import ACTIVITIES, ORDERED, REVIEW
from ledger.supervision.submit import Appended, submit

__all__ = ["NOTICE_EVENT", "StartedRecall", "close_recall", "notice_key",
           "queue_late_notices", "queue_notices", "record_progress", "start_recall"]

#: the outbox event type of a holder's recall notice
NOTICE_EVENT = "recall.initiated"


@dataclass(frozen=True)
class StartedRecall:
    """A recall just started: its entry (whose seq is the recall's id) and the notices queued
    (outbox message ids by holder)."""

    appended: Appended
    notices: dict[str, int]

    @property
    def seq(self) -> int:
        """The recall's id: the seq of its ``recall_initiated`` entry."""
        return self.appended.entry.seq


def _now_in_china(ledger: Ledger) -> str:
    return ledger.clock().astimezone(CHINA).isoformat(timespec="seconds")


def start_recall(session: Session, ledger: Ledger, vault: KeyVault, *, enterprise: str,
                 kind: str, level: int, reason: str, hazard: str, lots: Sequence[LotKey],
                 expand: bool = True, producer: str | None = None,
                 consumer_advice: str | None = None,
                 event_time: str | None = None) -> StartedRecall:
    """Start a recall of ``lots`` as ``enterprise`` (signed with its custodial key).

    With ``expand`` the scope is every lot made from them downstream and every enterprise
    holding or having received goods of those lots, computed now and stored in the entry with
    the ledger size. An ordered recall's ``producer`` defaults to the producer of the first
    named lot. Every holder (and the producer) gets a notice in the outbox, in this
    transaction. Raises RuleViolation when the rules refuse it (nothing is appended).
    """
    scope = expand_scope(session, lots, expand=expand)
    if kind == ORDERED and producer is None:
        first = session.get(LotRow, tuple(lots[0]))
        producer = first.origin if first is not None else None
    payload: dict[str, Any] = {
        "kind": kind, "level": level, "producer": producer, "reason": reason,
        "hazard": hazard, "consumer_advice": consumer_advice,
        "lots": [{"gtin": gtin, "lot": lot} for gtin, lot in dict.fromkeys(lots)],
        "scope": scope.payload()}
    statement = Statement(RECALL_INITIATED, enterprise, "", event_time or _now_in_china(ledger),
                          payload)
    (appended,) = submit(session, ledger, vault, [statement])
    return StartedRecall(appended, queue_notices(session, ledger.clock(), appended.entry.seq))


def notice_key(recall: int, holder: str) -> str:
    """The outbox key of ``holder``'s notice of ``recall`` (one notice per holder)."""
    return f"recall/{recall}/{holder}"


def queue_notices(session: Session, now: datetime, recall: int,
                  via: Sequence[int] | None = None) -> dict[str, int]:
    """Queue the notice of every holder of ``recall`` (only those that ``via`` entries made
    holders, when given) in the outbox; a holder already notified is not notified twice.
    Returns the outbox message ids by holder."""
    row = session.get(RecallRow, recall)
    if row is None:
        return {}
    query = select(RecallHolderRow).where(RecallHolderRow.recall == recall)
    if via is not None:
        query = query.where(RecallHolderRow.via_seq.in_(via))
    holders = list(session.scalars(query.order_by(RecallHolderRow.enterprise)))
    holdings: dict[str, list[dict[str, str]]] = {}
    for holding in session.scalars(select(RecallHoldingRow).where(
            RecallHoldingRow.recall == recall)):
        holdings.setdefault(holding.enterprise, []).append(
            {"gtin": holding.gtin, "lot": holding.lot, "held": holding.held,
             "unit": holding.unit})
    grade = LEVELS[row.level]
    due = deadlines(row.level, parse_moment(row.initiated_at))
    return {holder.enterprise: enqueue(
        session, enterprise=holder.enterprise, event_type=NOTICE_EVENT, now=now,
        key=notice_key(recall, holder.enterprise),
        payload={"recall": recall, "kind": row.kind, "level": row.level,
                 "level_name_zh": grade.name_zh, "level_name_en": grade.name_en,
                 "producer": row.producer, "reason": row.reason, "hazard": row.hazard,
                 "consumer_advice": row.consumer_advice, "initiated_at": row.initiated_at,
                 "start_by": due.start_by.isoformat(),
                 "complete_by": due.complete_by.isoformat(),
                 "your_lots": holdings.get(holder.enterprise, []),
                 "progress_url": f"/api/v1/recalls/{recall}/progress"})
        for holder in holders}


def queue_late_notices(session: Session, now: datetime, seqs: Sequence[int]) -> int:
    """Queue the notices of the holders that the entries ``seqs`` made: a shipment or a
    production recorded after a recall started but dated before it pulls its receiver or
    producer into the recall (a recall started through the plain events API reaches all its
    holders this way too). Call it after ``submit``, in the same transaction; returns how
    many notices were queued."""
    if not seqs:
        return 0
    recalls = session.scalars(select(RecallHolderRow.recall).distinct().where(
        RecallHolderRow.via_seq.in_(list(seqs)))).all()
    return sum(len(queue_notices(session, now, recall, via=seqs)) for recall in recalls)


def record_progress(session: Session, ledger: Ledger, vault: KeyVault, *, enterprise: str,
                    recall: int, lots: Sequence[Mapping[str, Any]] = (),
                    evidence: Sequence[str] = (), complete: bool = False,
                    note: str | None = None, event_time: str | None = None) -> Appended:
    """Report, as holder ``enterprise``, what it did with the recalled lots: each of ``lots``
    is ``{gtin, lot, unit, withdrawn, retrieved, destroyed, reworked}`` (amounts as text,
    missing ones "0"), ``evidence`` references the proof, ``complete`` says its part is done.
    """
    items = [{"gtin": item["gtin"], "lot": item["lot"], "unit": item["unit"],
              **{name: str(item.get(name) or "0") for name in ACTIVITIES}} for item in lots]
    payload = {"recall": recall, "lots": items, "evidence": list(evidence),
               "complete": complete, "note": note}
    statement = Statement(RECALL_PROGRESS, enterprise, "", event_time or _now_in_china(ledger),
                          payload)
    (appended,) = submit(session, ledger, vault, [statement])
    return appended


def close_recall(session: Session, ledger: Ledger, vault: KeyVault, *, enterprise: str,
                 recall: int, review: Mapping[str, str], report: str | None = None,
                 event_time: str | None = None) -> Appended:
    """Close ``recall`` as ``enterprise`` with the four-part review (四不放过): ``review``
    holds ``cause``, ``responsibility``, ``lessons`` and ``corrective_actions``. An ordered
    recall is closed only by a regulator, whose entry approves the closure."""
    payload: dict[str, Any] = {"recall": recall, **{name: review.get(name) for name in REVIEW},
                               "report": report}
    statement = Statement(RECALL_CLOSED, enterprise, "", event_time or _now_in_china(ledger),
                          payload)
    (appended,) = submit(session, ledger, vault, [statement])
    return appended
