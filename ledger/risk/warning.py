"""Early warning (质量预警): failure rates of inspections by category, product class, district
and month, and an alert when a rate rises beyond what chance explains.

**The rule.** Every inspection on the ledger (not superseded by a correction) counts once, in
the month (China time) of its event time, for the product's category and class and for the
district of the lot's producer. For each cell — a category in a district, a category, a class,
a district — and each month *m*, let *x* of *n* inspections have failed in *m*, and *X* of *N*
in the same cell over the twelve months before *m* (the trailing baseline). Under "nothing
changed" both samples share one failure rate, and given the *K = x + X* failures in all, the
number falling in month *m* is hypergeometric (*n* drawn from *n + N*, *K* marked). The alert
fires when the one-sided tail ``P(at least x) < ALPHA`` (Fisher's exact test, ``ALPHA`` =
0.001), with at least ``MIN_FAILURES`` (3) failures in the month and ``MIN_BASELINE`` (20)
inspections in the baseline, so that one failure in a quiet cell, or a cell with no history,
raises nothing. The test conditions on the total failures, so an unknown baseline rate needs
no estimate and the false-alarm probability of one cell-month is at most ``ALPHA`` (the test
is conservative, being discrete); ``bench/risk.py`` measures it on generated data without a
rise and the figure is in docs/BENCHMARKS.md.

**Alerts** are rows of :class:`~ledger.risk.models.RiskAlertRow`, one per cell and month:
:func:`scan` raises those the rule fires for and leaves existing ones as people left them
(acknowledged, closed with a note); a scan is deterministic, so running it again (the worker,
the dashboard, ``tracenet risk scan``) raises nothing twice. Each new alert queues one notice
in the outbox for every enterprise registered as a regulator.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ledger.errors import EntryError, NotFoundError
from ledger.log.storage import EnterpriseRow
from ledger.outbox import enqueue
from ledger.risk.models import ACKNOWLEDGED, CLOSED, OPEN, RiskAlertRow
from ledger.supervision.models import LotRow, ProductRow, RecordRow
from ledger.supervision.names import INSPECTION
from ledger.supervision.recall_levels import CHINA, parse_moment
from ledger.supervision.reference import load_reference

__all__ = [
    "ALPHA",
    "BASELINE_MONTHS",
    "DIMENSIONS",
    "MIN_BASELINE",
    "MIN_FAILURES",
    "Cell",
    "Counts",
    "Inspection",
    "Test",
    "acknowledge",
    "close",
    "count",
    "evaluate",
    "inspections",
    "keep_scanning",
    "list_alerts",
    "rates",
    "scan",
    "upper_tail",
]

ALPHA = 0.001
MIN_FAILURES = 3
MIN_BASELINE = 20
BASELINE_MONTHS = 12
#: the cells a rate is computed for, finest first
DIMENSIONS = ("category_district", "category", "class", "district")
#: the outbox event of a new alert
ALERT_EVENT = "risk.alert"
#: seconds between the worker's scans
SCAN_INTERVAL = 600.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inspection:
    """One inspection as the rates count it."""

    month: str  # YYYY-MM, China time
    category: str
    class_code: str
    district: str
    failed: bool


@dataclass(frozen=True)
class Cell:
    """A cell of one dimension: the values that define it (None where it spans them)."""

    dimension: str
    category: str | None = None
    class_code: str | None = None
    district: str | None = None

    @property
    def key(self) -> str:
        """The cell's key as stored with its alerts."""
        if self.dimension == "category_district":
            return f"{self.category}|{self.district}"
        return str({"category": self.category, "class": self.class_code,
                    "district": self.district}[self.dimension])


@dataclass
class Counts:
    """Inspections and failures of one cell in one month."""

    inspections: int = 0
    failures: int = 0

    @property
    def rate(self) -> float | None:
        """The failure rate, None without inspections."""
        return self.failures / self.inspections if self.inspections else None


@dataclass(frozen=True)
class Test:
    """The rule applied to one cell and month."""

    cell: Cell
    month: str
    month_counts: Counts
    baseline: Counts
    p_value: float

    @property
    def fires(self) -> bool:
        """Whether the rule raises an alert for it."""
        return (self.p_value < ALPHA and self.month_counts.failures >= MIN_FAILURES
                and self.baseline.inspections >= MIN_BASELINE)


def _month(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m")


def _months_before(month: str, count: int) -> list[str]:
    year, number = int(month[:4]), int(month[5:7])
    found = []
    for _ in range(count):
        number -= 1
        if number == 0:
            year, number = year - 1, 12
        found.append(f"{year:04d}-{number:02d}")
    return found


def inspections(session: Session, *, districts: Iterable[str] | None = None
                ) -> Iterator[Inspection]:
    """Every live inspection of a registered product, as the rates count it (in
    ``districts`` only, when given)."""
    reference = load_reference()
    allowed = set(districts) if districts is not None else None
    district_of = {row.uscc: row.district for row in session.scalars(select(EnterpriseRow))}
    query = (select(RecordRow.event_time, RecordRow.verdict, ProductRow.category, LotRow.origin)
             .join(ProductRow, ProductRow.gtin == RecordRow.gtin)
             .join(LotRow, (LotRow.gtin == RecordRow.gtin) & (LotRow.lot == RecordRow.lot))
             .where(RecordRow.type == INSPECTION, RecordRow.superseded_by.is_(None)))
    for event_time, verdict, category, origin in session.execute(query).yield_per(5000):
        district = district_of.get(origin, "")
        if allowed is not None and district not in allowed:
            continue
        try:
            month = _month(parse_moment(event_time))
        except ValueError:
            continue
        known = reference.categories.get(category)
        yield Inspection(month, category, known.class_code if known else "", district,
                         verdict == "fail")


def _cells(item: Inspection) -> tuple[Cell, ...]:
    return (Cell("category_district", category=item.category, district=item.district),
            Cell("category", category=item.category), Cell("class", class_code=item.class_code),
            Cell("district", district=item.district))


def count(items: Iterable[Inspection]) -> dict[Cell, dict[str, Counts]]:
    """Inspections and failures per cell (every dimension) and month."""
    table: dict[Cell, dict[str, Counts]] = {}
    for item in items:
        for cell in _cells(item):
            counts = table.setdefault(cell, {}).setdefault(item.month, Counts())
            counts.inspections += 1
            counts.failures += item.failed
    return table


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def upper_tail(x: int, n: int, failures: int, total: int) -> float:
    """``P(X >= x)`` for X hypergeometric: ``n`` drawn from ``total``, ``failures`` marked."""
    low, high = max(x, 0, n + failures - total), min(n, failures)
    if low > high:
        return 0.0 if x > high else 1.0
    denominator = _log_comb(total, n)
    terms = [_log_comb(failures, k) + _log_comb(total - failures, n - k) - denominator
             for k in range(low, high + 1)]
    peak = max(terms)
    return min(1.0, math.exp(peak) * sum(math.exp(term - peak) for term in terms))


def evaluate(table: dict[Cell, dict[str, Counts]],
             months: Sequence[str] | None = None) -> list[Test]:
    """The rule applied to every cell for each of ``months`` (default: every month with
    inspections in the cell)."""
    tests = []
    for cell, by_month in table.items():
        for month in months if months is not None else sorted(by_month):
            current = by_month.get(month)
            if current is None or not current.inspections:
                continue
            baseline = Counts()
            for before in _months_before(month, BASELINE_MONTHS):
                counted = by_month.get(before)
                if counted is not None:
                    baseline.inspections += counted.inspections
                    baseline.failures += counted.failures
            p_value = upper_tail(current.failures, current.inspections,
                                 current.failures + baseline.failures,
                                 current.inspections + baseline.inspections)
            tests.append(Test(cell, month, current, baseline, p_value))
    return tests


def rates(session: Session, *, districts: Iterable[str] | None = None,
          months: int = 12, now: datetime) -> dict[str, object]:
    """What the dashboard draws: the monthly failure rate over the last ``months`` months,
    and the rates of those months by category, class and district (most inspected first)."""
    reference = load_reference()
    current = _month(now)
    window = sorted([current, *_months_before(current, months - 1)])
    series = {month: Counts() for month in window}
    by: dict[str, dict[str, Counts]] = {"category": {}, "class": {}, "district": {}}
    for item in inspections(session, districts=districts):
        if item.month not in series:
            continue
        for counts in (series[item.month],
                       by["category"].setdefault(item.category, Counts()),
                       by["class"].setdefault(item.class_code, Counts()),
                       by["district"].setdefault(item.district, Counts())):
            counts.inspections += 1
            counts.failures += item.failed

    def label(dimension: str, key: str) -> dict[str, str]:
        if dimension == "category" and key in reference.categories:
            category = reference.categories[key]
            return {"zh": f"{key} {category.name_zh}", "en": f"{key} {category.name_en}"}
        if dimension == "class":
            for category in reference.categories.values():
                if category.class_code == key:
                    return {"zh": category.class_zh, "en": category.class_en}
        return {"zh": key or "—", "en": key or "—"}

    def rows(dimension: str) -> list[dict[str, object]]:
        ordered = sorted(by[dimension].items(), key=lambda kv: (-kv[1].inspections, kv[0]))
        return [{"key": key, "label": label(dimension, key), "inspections": c.inspections,
                 "failures": c.failures, "rate": c.rate} for key, c in ordered]

    return {"months": [{"month": month, "inspections": c.inspections, "failures": c.failures,
                        "rate": c.rate} for month, c in series.items()],
            "category": rows("category"), "class": rows("class"), "district": rows("district"),
            "rule": {"alpha": ALPHA, "min_failures": MIN_FAILURES,
                     "min_baseline": MIN_BASELINE, "baseline_months": BASELINE_MONTHS}}


def scan(session: Session, *, now: datetime, months: Sequence[str] | None = None,
         notify: bool = True) -> list[RiskAlertRow]:
    """Raise the alerts the rule fires for (in ``months``, default every month) that were not
    raised before; return the new ones. The caller commits."""
    table = count(inspections(session))
    fired = [test for test in evaluate(table, months) if test.fires]
    existing = {(row.dimension, row.key, row.month) for row in session.scalars(
        select(RiskAlertRow))}
    raised = []
    stamp = now.astimezone(CHINA).isoformat(timespec="seconds")
    for test in fired:
        cell = test.cell
        if (cell.dimension, cell.key, test.month) in existing:
            continue
        row = RiskAlertRow(
            dimension=cell.dimension, key=cell.key, month=test.month, category=cell.category,
            class_code=cell.class_code, district=cell.district,
            inspections=test.month_counts.inspections, failures=test.month_counts.failures,
            baseline_inspections=test.baseline.inspections,
            baseline_failures=test.baseline.failures, p_value=test.p_value, status=OPEN,
            raised_at=stamp)
        session.add(row)
        raised.append(row)
    session.flush()
    if notify and raised:
        _notify(session, raised, now)
    return raised


def _notify(session: Session, raised: Sequence[RiskAlertRow], now: datetime) -> None:
    """One outbox notice per new alert for every enterprise registered as a regulator (the
    bureaus are few; each console shows an account the alerts of its own scope)."""
    regulators = [row.uscc for row in session.scalars(select(EnterpriseRow).order_by(
        EnterpriseRow.uscc)) if "regulator" in row.roles.split(",")]
    for alert in raised:
        for regulator in regulators:
            enqueue(session, enterprise=regulator, event_type=ALERT_EVENT,
                    key=f"risk-alert/{alert.id}/{regulator}", now=now, payload={
                        "alert": alert.id, "dimension": alert.dimension, "key": alert.key,
                        "month": alert.month, "inspections": alert.inspections,
                        "failures": alert.failures,
                        "baseline_inspections": alert.baseline_inspections,
                        "baseline_failures": alert.baseline_failures,
                        "p_value": alert.p_value})


def keep_scanning(sessions: Callable[[], Session], clock: Callable[[], datetime], *,
                  stop: threading.Event, interval: float = SCAN_INTERVAL) -> int:
    """Scan the current and the previous month every ``interval`` seconds until ``stop`` is
    set (``tracenet worker`` runs it), so alerts come without anyone pressing a button;
    return how many were raised. A database error is logged and tried again."""
    raised = 0
    while not stop.is_set():
        now = clock()
        month = _month(now)
        try:
            with sessions() as session:
                raised += len(scan(session, now=now, months=[*_months_before(month, 1),
                                                                month]))
                session.commit()
        except SQLAlchemyError as exc:
            logger.warning("risk scan: database error, trying again in %g s: %s", interval,
                           str(exc).splitlines()[0])
        stop.wait(interval)
    return raised


def list_alerts(session: Session, *, status: str | None = None,
                districts: Iterable[str] | None = None, limit: int = 200
                ) -> list[RiskAlertRow]:
    """Alerts newest month first (``status`` only; only those of ``districts`` when given —
    a cell that spans districts belongs to no one district and is left out then)."""
    query = select(RiskAlertRow).order_by(RiskAlertRow.month.desc(), RiskAlertRow.p_value,
                                          RiskAlertRow.id)
    if status:
        query = query.where(RiskAlertRow.status == status)
    if districts is not None:
        query = query.where(RiskAlertRow.district.in_(sorted(set(districts))))
    return list(session.scalars(query.limit(limit)))


def _alert(session: Session, alert: int) -> RiskAlertRow:
    row = session.get(RiskAlertRow, alert)
    if row is None:
        raise NotFoundError(f"no alert {alert}", field=("alert",))
    return row


def _note(note: str) -> str:
    text = note.strip()
    if not text:
        raise EntryError("a note is required: say what was found or done", field=("note",))
    if len(text) > 4000:
        raise EntryError("a note is at most 4000 characters", field=("note",))
    return text


def acknowledge(session: Session, alert: int, *, by: str, note: str, now: datetime
                ) -> RiskAlertRow:
    """Acknowledge an open alert with a note (someone is looking into it)."""
    text = _note(note)
    row = _alert(session, alert)
    if row.status != OPEN:
        raise EntryError(f"alert {alert} is {row.status}, not open", field=("status",))
    row.status, row.acknowledged_by = ACKNOWLEDGED, by
    row.acknowledged_at = now.astimezone(CHINA).isoformat(timespec="seconds")
    row.acknowledge_note = text
    return row


def close(session: Session, alert: int, *, by: str, note: str, now: datetime) -> RiskAlertRow:
    """Close an open or acknowledged alert with a note (what was found, what was done)."""
    text = _note(note)
    row = _alert(session, alert)
    if row.status == CLOSED:
        raise EntryError(f"alert {alert} is already closed", field=("status",))
    row.status, row.closed_by = CLOSED, by
    row.closed_at = now.astimezone(CHINA).isoformat(timespec="seconds")
    row.close_note = text
    return row
