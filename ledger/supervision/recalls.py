"""Rules for recalls (缺陷产品召回): starting one, the holders' progress, closing it with the
four-part review (四不放过), and ``rule.recall.active``, which keeps a recalled lot where it is.

What to recall, and whom it reaches, is decided in :mod:`ledger.recall`, which expands the
scope downstream and puts the expansion (the lots, the holders and the ledger size it was
computed at) in the ``recall_initiated`` entry itself, so anyone can recompute it. Here the
entries are checked and applied to the recall projections.

Who may do what:

- a *voluntary* recall (主动召回) is started by the producer of every lot it names; an *ordered*
  one (责令召回) by an enterprise registered with the regulator role, naming the producer
  ordered to carry it out, who must have produced at least one lot in the scope;
- ``recall_progress`` comes from an enterprise the recall reached (a holder), about lots in
  its scope; quantities retrieved from consumers come back into the holder's stock, and
  quantities destroyed or reworked leave it;
- ``recall_closed`` carries the four reviews, each required. Closing an *ordered* recall needs
  a regulator's approval, and the design is the simplest that holds: the closing entry must be
  signed by a regulator (the producer's summary report is cited in ``report``); a voluntary
  recall is closed by its producer or by a regulator.

A lot under an open recall may not be shipped nor used as a production input
(``rule.recall.active``), with one exception, for records of what happened *before* the
recall started but reach the ledger after it: a shipment whose ``shipped_at``, or a
production whose ``produced_at``, is earlier than the recall's start is admitted, since the
goods moved whatever the ledger says, and the recall follows them: the receiver of the
shipment, or the producer with the lot it made, is pulled into the recall as a holder (and
the new lot into its scope, ``via`` ``made_from``). A shipment or production dated at or
after the start is refused. Back-dating a record cannot hide goods from a recall, it can only
add a holder to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, tuple_

from ledger.accounts.roles import REGULATOR
from ledger.errors import EntryError, FieldPath, LedgerError, render_field
from ledger.log.storage import EnterpriseRow
from ledger.supervision.context import RecordContext
from ledger.supervision.models import (
    LotRecallRow,
    LotRow,
    RecallHolderRow,
    RecallHoldingRow,
    RecallLotRow,
    RecallReportRow,
    RecallRow,
)
from ledger.supervision.quantity import UNITS, format_quantity, parse_amount
from ledger.supervision.recall_levels import LEVELS, parse_moment
from ledger.supervision.rules import RuleViolation

__all__ = [
    "ACTIVITIES",
    "CLOSED",
    "KINDS",
    "OPEN",
    "ORDERED",
    "REVIEW",
    "VOLUNTARY",
    "held_by_recall",
    "open_recalls",
    "pull_in",
    "recall_closed",
    "recall_initiated",
    "recall_progress",
]

VOLUNTARY, ORDERED = "voluntary", "ordered"
KINDS = (VOLUNTARY, ORDERED)
OPEN, CLOSED = "open", "closed"
#: what a holder reports doing with recalled goods: taken off sale, taken back from
#: consumers, destroyed, reworked (made safe, relabelled …)
ACTIVITIES = ("withdrawn", "retrieved", "destroyed", "reworked")
#: the four-part review (四不放过) a closure needs: field -> (zh, en) name of what it records
REVIEW: dict[str, tuple[str, str]] = {
    "cause": ("原因分析（原因未查清不放过）", "the cause (cause found)"),
    "responsibility": ("责任处理（责任人员未处理不放过）",
                       "the responsibility (responsibility assigned)"),
    "lessons": ("教育总结（有关人员未受到教育不放过）", "the lessons (lessons recorded)"),
    "corrective_actions": ("整改措施（整改措施未落实不放过）",
                           "the corrective actions (corrective actions in place)"),
}

LotKey = tuple[str, str]


# -- starting a recall -----------------------------------------------------------------------

def recall_initiated(a: RecordContext) -> None:
    """Start a recall of the lots in its scope, reaching the holders its expansion found."""
    kind = a.text("kind")
    if kind not in KINDS:
        raise EntryError(f"payload.kind must be one of {', '.join(KINDS)}, got {kind!r}",
                         field=a.field("kind"))
    level = a.payload.get("level")
    if not isinstance(level, int) or isinstance(level, bool) or level not in LEVELS:
        raise EntryError(f"payload.level must be one of {', '.join(map(str, LEVELS))}, got "
                         f"{level!r}", field=a.field("level"))
    reason, hazard = a.text("reason"), a.text("hazard")
    advice = a.payload.get("consumer_advice") or None
    named = _lot_keys(a, a.payload.get("lots"), ("lots",))
    scope = a.payload.get("scope")
    if not isinstance(scope, Mapping):
        raise EntryError("payload.scope must be an object", field=a.field("scope"))
    as_of = scope.get("as_of")
    if not isinstance(as_of, int) or isinstance(as_of, bool) or not 0 <= as_of <= a.entry.seq:
        raise EntryError(f"payload.scope.as_of must be a ledger size no larger than the "
                         f"entry's own seq {a.entry.seq}, got {as_of!r}",
                         field=a.field("scope", "as_of"))
    in_scope = list(dict.fromkeys(_lot_keys(a, scope.get("lots"), ("scope", "lots"))))
    for index, key in enumerate(named):
        if key not in in_scope:
            raise RuleViolation("recall.scope_incomplete", a.field("lots", index, "lot"),
                                gtin=key[0], lot=key[1])
    lots = _existing_lots(a, in_scope)
    if kind == ORDERED:
        if REGULATOR not in _roles(a, a.enterprise):
            raise RuleViolation("recall.not_regulator", a.field("kind"),
                                enterprise=a.enterprise)
        producer = a.text("producer")
        if not any(row.origin == producer for row in lots.values()):
            raise RuleViolation("recall.producer_unrelated", a.field("producer"),
                                producer=producer)
    else:
        producer = a.payload.get("producer") or a.enterprise
        if producer != a.enterprise:
            raise EntryError("payload.producer of a voluntary recall is the enterprise that "
                             "starts it", field=a.field("producer"))
        for index, (gtin, lot) in enumerate(named):
            origin = lots[(gtin, lot)].origin
            if origin != a.enterprise:
                raise RuleViolation("recall.not_producer", a.field("lots", index, "lot"),
                                    gtin=gtin, lot=lot, origin=origin)
    holders = _holders(a, scope.get("holders", []), set(in_scope))
    recall = RecallRow(
        seq=a.entry.seq, enterprise=a.enterprise, producer=producer, kind=kind, level=level,
        reason=reason, hazard=hazard, consumer_advice=advice,
        initiated_at=a.entry.statement.event_time, as_of=as_of, status=OPEN, closed_seq=None,
        closed_at=None, closed_by=None, cause=None, responsibility=None, lessons=None,
        corrective_actions=None, report=None)
    a.rows.add(recall)
    named_set = set(named)
    for gtin, lot in in_scope:
        a.rows.add(RecallLotRow(recall=recall.seq, gtin=gtin, lot=lot,
                                via="named" if (gtin, lot) in named_set else "downstream",
                                via_seq=recall.seq))
        _cover(a, gtin, lot, recall)
    for enterprise, holdings in holders.items():
        _reach(a, recall, enterprise)
        for (gtin, lot), (held, unit) in holdings.items():
            _hold(a, recall, enterprise, gtin, lot, held, unit)
    _reach(a, recall, producer)  # the producer carries it out, whether or not it holds any
    # The record names the producer, so the entry is readable by it as well as by regulators.
    first_gtin, first_lot = named[0]
    a.record(gtin=first_gtin, lot=first_lot, counterparty=producer)


def _lot_keys(a: RecordContext, value: object, at: FieldPath) -> list[LotKey]:
    """A non-empty list of ``{gtin, lot}`` objects, as (GTIN, lot) pairs."""
    if not isinstance(value, list) or not value:
        raise EntryError(f"{render_field(a.field(*at))} must be a non-empty list of lots",
                         field=a.field(*at))
    keys = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise EntryError(f"{render_field(a.field(*at, index))} must be an object",
                             field=a.field(*at, index))
        keys.append((a.text("gtin", item, (*at, index)), a.text("lot", item, (*at, index))))
    return keys


def _existing_lots(a: RecordContext, keys: Sequence[LotKey]) -> dict[LotKey, LotRow]:
    """The lots ``keys`` name, read in a few queries; rule lot.unknown for the first missing."""
    a.rows.flush()  # lots made earlier in this batch are found too
    found: dict[LotKey, LotRow] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        query = select(LotRow).where(tuple_(LotRow.gtin, LotRow.lot).in_(chunk))
        found.update({(row.gtin, row.lot): row for row in a.session.scalars(query)})
    for index, (gtin, lot) in enumerate(keys):
        if (gtin, lot) not in found:
            raise RuleViolation("lot.unknown", a.field("scope", "lots", index, "lot"),
                                gtin=gtin, lot=lot)
    return found


def _roles(a: RecordContext, enterprise: str) -> list[str]:
    registered = a.session.get(EnterpriseRow, enterprise)
    return registered.roles.split(",") if registered is not None else []


def _holders(a: RecordContext, value: object, in_scope: set[LotKey]
             ) -> dict[str, dict[LotKey, tuple[Decimal, str]]]:
    """The scope's holders as listed: enterprise -> lot -> (quantity held, base unit)."""
    at: FieldPath = ("scope", "holders")
    if not isinstance(value, list):
        raise EntryError("payload.scope.holders must be a list", field=a.field(*at))
    holders: dict[str, dict[LotKey, tuple[Decimal, str]]] = {}
    for index, holder in enumerate(value):
        where = (*at, index)
        if not isinstance(holder, Mapping):
            raise EntryError(f"{render_field(a.field(*where))} must be an object",
                             field=a.field(*where))
        enterprise = a.text("enterprise", holder, where)
        if enterprise in holders:
            raise EntryError(f"holder {enterprise} is listed twice",
                             field=a.field(*where, "enterprise"))
        holdings: dict[LotKey, tuple[Decimal, str]] = {}
        lots = holder.get("lots", [])
        if not isinstance(lots, list):
            raise EntryError(f"{render_field(a.field(*where, 'lots'))} must be a list",
                             field=a.field(*where, "lots"))
        for number, item in enumerate(lots):
            spot = (*where, "lots", number)
            if not isinstance(item, Mapping):
                raise EntryError(f"{render_field(a.field(*spot))} must be an object",
                                 field=a.field(*spot))
            key = (a.text("gtin", item, spot), a.text("lot", item, spot))
            if key not in in_scope:
                raise RuleViolation("recall.lot_not_in_scope", a.field(*spot, "lot"),
                                    gtin=key[0], lot=key[1], recall=a.entry.seq)
            amount, unit = _amount(a, item.get("held", "0"), item.get("unit"), spot, "held")
            before = holdings.get(key, (Decimal(0), unit))
            if before[1] != unit:
                raise RuleViolation("unit.mismatch", a.field(*spot, "unit"), lot=key[1],
                                    expected=before[1], got=unit)
            holdings[key] = (before[0] + amount, unit)
        holders[enterprise] = holdings
    return holders


def _amount(a: RecordContext, value: object, unit: object, at: FieldPath,
            name: str) -> tuple[Decimal, str]:
    """A quantity that may be zero (what a holder held or did), in its base unit."""
    if not isinstance(unit, str) or unit not in UNITS:
        raise EntryError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}",
                         field=a.field(*at, "unit"))
    try:
        amount = parse_amount(value)
    except EntryError as exc:
        raise EntryError(exc.message, field=a.field(*at, name)) from None
    base, factor = UNITS[unit]
    return amount * factor, base


def _cover(a: RecordContext, gtin: str, lot: str, recall: RecallRow) -> None:
    """Count ``recall`` among the lot's open recalls."""
    status = a.rows.get(LotRecallRow, (gtin, lot))
    if status is None:
        status = LotRecallRow(gtin=gtin, lot=lot, open_count=0, open_recall=None,
                              open_level=None, last_recall=recall.seq)
        a.rows.add(status)
    status.open_count += 1
    if status.open_level is None or recall.level < status.open_level:
        status.open_recall, status.open_level = recall.seq, recall.level
    status.last_recall = max(status.last_recall, recall.seq)


def _reach(a: RecordContext, recall: RecallRow, enterprise: str) -> RecallHolderRow:
    """The enterprise's holder row in ``recall``, issued its notice by this entry if new."""
    holder = a.rows.get(RecallHolderRow, (recall.seq, enterprise))
    if holder is None:
        holder = RecallHolderRow(recall=recall.seq, enterprise=enterprise, via_seq=a.entry.seq,
                                 notice="issued", reports=0, first_report_at=None,
                                 last_report_seq=None, complete=False, completed_seq=None,
                                 completed_at=None)
        a.rows.add(holder)
    return holder


def _hold(a: RecordContext, recall: RecallRow, enterprise: str, gtin: str, lot: str,
          amount: Decimal, unit: str, field: FieldPath | None = None) -> RecallHoldingRow:
    """Add ``amount`` to what the holder had of the lot when the recall reached it."""
    holding = a.rows.get(RecallHoldingRow, (recall.seq, enterprise, gtin, lot))
    if holding is None:
        holding = RecallHoldingRow(recall=recall.seq, enterprise=enterprise, gtin=gtin, lot=lot,
                                   held="0", unit=unit, withdrawn="0", retrieved="0",
                                   destroyed="0", reworked="0")
        a.rows.add(holding)
    if holding.unit != unit:
        raise RuleViolation("unit.mismatch", field or a.field("unit"), lot=lot,
                            expected=holding.unit, got=unit)
    holding.held = format_quantity(Decimal(holding.held) + amount)
    return holding


# -- progress --------------------------------------------------------------------------------

def recall_progress(a: RecordContext) -> None:
    """A holder reports what it did with the recalled goods, and whether its part is done."""
    recall = _open_recall(a)
    holder = a.rows.get(RecallHolderRow, (recall.seq, a.enterprise))
    if holder is None:
        raise RuleViolation("recall.not_holder", a.field("recall"), recall=recall.seq,
                            enterprise=a.enterprise)
    evidence = a.payload.get("evidence", [])
    if not isinstance(evidence, list) or not all(isinstance(e, str) and e for e in evidence):
        raise EntryError("payload.evidence must be a list of non-empty references",
                         field=a.field("evidence"))
    items = a.payload.get("lots", [])
    if not isinstance(items, list):
        raise EntryError("payload.lots must be a list", field=a.field("lots"))
    complete = a.payload.get("complete", False)
    if not isinstance(complete, bool):
        raise EntryError("payload.complete must be true or false", field=a.field("complete"))
    did_something = False
    for index, item in enumerate(items):
        at: FieldPath = ("lots", index)
        if not isinstance(item, Mapping):
            raise EntryError(f"{render_field(a.field(*at))} must be an object",
                             field=a.field(*at))
        gtin, lot = a.text("gtin", item, at), a.text("lot", item, at)
        if a.rows.get(RecallLotRow, (recall.seq, gtin, lot)) is None:
            raise RuleViolation("recall.lot_not_in_scope", a.field(*at, "lot"), gtin=gtin,
                                lot=lot, recall=recall.seq)
        done = {name: _amount(a, item.get(name, "0"), item.get("unit"), at, name)[0]
                for name in ACTIVITIES}
        unit = UNITS[item["unit"]][0]
        holding = _hold(a, recall, a.enterprise, gtin, lot, Decimal(0), unit,
                        a.field(*at, "unit"))
        if done["retrieved"]:  # back from consumers, into the holder's hands
            a.add_stock(a.enterprise, gtin, lot, done["retrieved"], unit)
        gone = done["destroyed"] + done["reworked"]
        if gone:  # destroyed or reworked goods are no longer this lot's stock
            a.take_stock(gtin, lot, gone, unit, a.field(*at, "destroyed"))
        for name, amount in done.items():
            setattr(holding, name, format_quantity(Decimal(getattr(holding, name)) + amount))
        did_something = did_something or any(done.values())
    if did_something and not evidence:
        raise RuleViolation("recall.evidence_missing", a.field("evidence"))
    moment = a.entry.statement.event_time
    holder.reports += 1
    holder.first_report_at = holder.first_report_at or moment
    holder.last_report_seq = a.entry.seq
    if holder.notice == "issued":
        holder.notice = "acknowledged"
    if complete and not holder.complete:  # done stays done; later reports only add to it
        holder.complete, holder.completed_seq, holder.completed_at = True, a.entry.seq, moment
        holder.notice = "complete"
    note = a.payload.get("note") or None
    a.rows.add(RecallReportRow(seq=a.entry.seq, recall=recall.seq, enterprise=a.enterprise,
                               reported_at=moment, complete=complete,
                               evidence=json.dumps(evidence, ensure_ascii=False),
                               note=note if isinstance(note, str) else None))
    a.record(counterparty=recall.producer)


def _open_recall(a: RecordContext) -> RecallRow:
    seq = a.payload.get("recall")
    recall = (a.rows.get(RecallRow, seq)
              if isinstance(seq, int) and not isinstance(seq, bool) else None)
    if recall is None:
        raise RuleViolation("recall.unknown", a.field("recall"), recall=seq)
    if recall.status != OPEN:
        raise RuleViolation("recall.closed", a.field("recall"), recall=recall.seq)
    return recall


# -- closing ---------------------------------------------------------------------------------

def recall_closed(a: RecordContext) -> None:
    """Close a recall with its four-part review; an ordered one only by a regulator."""
    recall = _open_recall(a)
    regulator = REGULATOR in _roles(a, a.enterprise)
    if recall.kind == ORDERED and not regulator:
        raise RuleViolation("recall.approval_required", a.field("recall"),
                            enterprise=a.enterprise)
    if recall.kind == VOLUNTARY and a.enterprise != recall.producer and not regulator:
        raise RuleViolation("recall.not_yours", a.field("recall"), recall=recall.seq)
    review = {}
    for name, (item_zh, item_en) in REVIEW.items():
        value = a.payload.get(name)
        if not isinstance(value, str) or not value.strip():
            raise RuleViolation("recall.review_missing", a.field(name), item_zh=item_zh,
                                item_en=item_en)
        review[name] = value
    report = a.payload.get("report")
    recall.status = CLOSED
    recall.closed_seq, recall.closed_at = a.entry.seq, a.entry.statement.event_time
    recall.closed_by = a.enterprise
    recall.cause, recall.responsibility = review["cause"], review["responsibility"]
    recall.lessons, recall.corrective_actions = review["lessons"], review["corrective_actions"]
    recall.report = report if isinstance(report, str) and report else None
    a.rows.flush()
    for gtin, lot in a.session.execute(select(RecallLotRow.gtin, RecallLotRow.lot)
                                       .where(RecallLotRow.recall == recall.seq)).all():
        _uncover(a, gtin, lot, recall)
    a.record(counterparty=recall.producer)


def _uncover(a: RecordContext, gtin: str, lot: str, recall: RecallRow) -> None:
    """Take the closed ``recall`` off the lot's open recalls."""
    status = a.rows.get(LotRecallRow, (gtin, lot))
    assert status is not None  # noqa: S101 - every lot in a scope was covered
    status.open_count -= 1
    if status.open_recall != recall.seq:
        return
    status.open_recall = status.open_level = None
    if status.open_count > 0:  # the next most serious of the lot's other open recalls
        other = a.session.execute(
            select(RecallRow.seq, RecallRow.level)
            .join(RecallLotRow, RecallLotRow.recall == RecallRow.seq)
            .where(RecallLotRow.gtin == gtin, RecallLotRow.lot == lot,
                   RecallRow.status == OPEN, RecallRow.seq != recall.seq)
            .order_by(RecallRow.level, RecallRow.seq).limit(1)).first()
        if other is not None:
            status.open_recall, status.open_level = other.seq, other.level


# -- rule.recall.active ----------------------------------------------------------------------

def held_by_recall(a: RecordContext, gtin: str, lot: str, field: FieldPath,
                   happened_field: str) -> list[int]:
    """Check that the lot may leave its holder (shipped, or used in a production).

    Rule recall.active when an open recall of the lot had started by the time the record
    says it happened (``payload[happened_field]``, else the entry's event time). Returns the
    open recalls it predates, which the record must pull in (:func:`pull_in`): usually none.
    """
    recalls = _open_recalls(a, gtin, lot)
    if not recalls:
        return []
    happened = _moment(a.payload.get(happened_field) or a.entry.statement.event_time,
                       a.field(happened_field))
    for recall in recalls:
        if _moment(recall.initiated_at, None) <= happened:
            grade = LEVELS[recall.level]
            raise RuleViolation("recall.active", field, gtin=gtin, lot=lot,
                                recall=recall.seq, level_zh=grade.name_zh,
                                level_en=grade.name_en)
    return [recall.seq for recall in recalls]


def open_recalls(a: RecordContext, gtin: str, lot: str) -> list[int]:
    """The open recalls that cover the lot (nearly always none)."""
    return [recall.seq for recall in _open_recalls(a, gtin, lot)]


def _open_recalls(a: RecordContext, gtin: str, lot: str) -> Sequence[RecallRow]:
    status = a.rows.get(LotRecallRow, (gtin, lot))
    if status is None or status.open_count == 0:
        return []
    a.rows.flush()  # recalls started earlier in this batch are found too
    return a.session.scalars(
        select(RecallRow).join(RecallLotRow, RecallLotRow.recall == RecallRow.seq)
        .where(RecallLotRow.gtin == gtin, RecallLotRow.lot == lot, RecallRow.status == OPEN)
        .order_by(RecallRow.level, RecallRow.seq)).all()


def pull_in(a: RecordContext, recalls: Iterable[int], holder: str, gtin: str, lot: str,
            amount: Decimal, unit: str) -> None:
    """Bring a late record's goods into the open ``recalls`` it predates: ``holder`` with
    ``amount`` of the lot becomes one of their holders, and the lot, if new to a scope (a
    production's output), joins it ``made_from`` this entry."""
    for seq in dict.fromkeys(recalls):
        recall = a.rows.get(RecallRow, seq)
        assert recall is not None  # noqa: S101 - held_by_recall found it open
        if a.rows.get(RecallLotRow, (seq, gtin, lot)) is None:
            a.rows.add(RecallLotRow(recall=seq, gtin=gtin, lot=lot, via="made_from",
                                    via_seq=a.entry.seq))
            _cover(a, gtin, lot, recall)
        _reach(a, recall, holder)
        _hold(a, recall, holder, gtin, lot, amount, unit)


def _moment(text: Any, field: FieldPath | None) -> datetime:
    try:
        return parse_moment(str(text))
    except ValueError:
        raise LedgerError(f"{render_field(field) or 'event_time'} must be an RFC 3339 time, "
                          f"got {text!r}", field=field) from None
