"""The figures of the annual quality white paper (质量状况白皮书) and the quarterly district
reports, computed from the supervision projections and the entries they rest on.

Every figure is counted over a :class:`Period` (a calendar year or quarter, China time) and a
scope (every enterprise, or the enterprises of one district). Definitions, which the rendered
report repeats in its notes:

- **批次合格率 (lot qualification rate)**: of the lots inspected in the period (any kind of
  inspection dated in it: the maker's own, a third party's, a buyer's incoming check or a
  supervisory spot check), the share whose every inspection in the period passed. A lot
  inspected several times counts once, as failed if any of those inspections failed. A lot is
  the maker's: its category is its product's (``products.category``), its district the
  district of the enterprise that registered the product (or, for a lot of an unregistered
  product, the enterprise the lot originated with).
- **监督抽查合格率 (spot-check pass rate)**: passed ``spot_check`` inspections / all
  ``spot_check`` inspections in the period, each inspection counted (a spot check is one lot
  sampled).
- **产值合格率 (output-value qualification rate)**: over the lots produced in the period whose
  ``production`` record carries an ``output_value`` (CNY) and that were inspected (at any time
  up to the report), the value of the lots whose every inspection passed / the value of all
  of them. Lots with no recorded value are left out and counted apart, so a reader sees how
  much of the output the rate covers.
- **召回 (recalls)**: recalls started in the period whose producer is in scope, by level, kind
  and status, and the share of the lots produced in the period that no recall covers.
- **信用等级分布 (credit grade distribution)**: the current grade of each producing enterprise
  in scope (:func:`ledger.credit.current_grades`; never graded counts as B). Grades are a
  standing, not a period figure: the distribution is as of the report.
- **同比 (trend against the previous year)**: the same figures for the same period one year
  earlier, and the lot qualification rate month by month for both years.

The **质量竞争力指数 (quality competitiveness index, QCI)**, on a 0-100 scale, is a weighted
mean of five component scores, each in [0, 1]:

=====================================  ======  ==============================================
component                              weight  score
=====================================  ======  ==============================================
lot qualification rate                 0.30    the rate
spot-check pass rate                   0.25    the rate
output-value qualification rate        0.15    the rate
credit standing                        0.20    mean of A = 1, B = 0.8, C = 0.5, D = 0
recall-free production                 0.10    1 - share of the period's lots under a recall
=====================================  ======  ==============================================

``QCI = 100 * sum(w_i * s_i) / sum(w_i)`` over the components that have a score (a rate with
nothing to count has none, and its weight is left out rather than guessed), rounded to one
decimal. The weights follow the spirit of the national manufacturing quality
competitiveness index (制造业质量竞争力指数), in which conformity outcomes weigh most; they are
ours, stated here and in the report, so that the index is reproducible from the ledger.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.accounts.scope import district_enterprises
from ledger.credit import current_grades
from ledger.errors import LedgerError
from ledger.log.storage import CheckpointRow, EnterpriseRow, EntryRow
from ledger.supervision.models import (
    LotRow,
    ProductRow,
    RecallLotRow,
    RecallRow,
    RecordRow,
)
from ledger.supervision.names import CORRECTION, INSPECTION, PRODUCTION
from ledger.supervision.recall_levels import CHINA, parse_moment
from ledger.supervision.reference import load_reference

__all__ = [
    "GRADES",
    "GRADE_SCORES",
    "INDEX_WEIGHTS",
    "FailedSpotCheck",
    "GradeDistribution",
    "IndexComponent",
    "MonthlyRate",
    "OutputValue",
    "Period",
    "PeriodFigures",
    "QualityIndex",
    "Rate",
    "RecallFigures",
    "Report",
    "ReportError",
    "Scope",
    "build_report",
    "period_figures",
    "quality_index",
    "scope_of",
]

GRADES = ("A", "B", "C", "D")
#: what each credit grade scores in the index's credit component
GRADE_SCORES: Mapping[str, Decimal] = {"A": Decimal(1), "B": Decimal("0.8"),
                                       "C": Decimal("0.5"), "D": Decimal(0)}
#: component -> weight of the quality competitiveness index (see the module docstring)
INDEX_WEIGHTS: Mapping[str, Decimal] = {
    "lot_rate": Decimal("0.30"), "spot_check_rate": Decimal("0.25"),
    "output_value_rate": Decimal("0.15"), "credit": Decimal("0.20"),
    "recall_free": Decimal("0.10")}
_INDEX_NAMES: Mapping[str, tuple[str, str]] = {
    "lot_rate": ("批次合格率", "Lot qualification rate"),
    "spot_check_rate": ("监督抽查合格率", "Spot-check pass rate"),
    "output_value_rate": ("产值合格率", "Output-value qualification rate"),
    "credit": ("信用等级", "Credit standing"),
    "recall_free": ("无召回生产", "Recall-free production"),
}
#: the report's years: the ledger's records carry real dates, nothing before this or far on
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: lots read per query when their inspections are looked up
_CHUNK = 500
#: rows fetched at a time when every inspection or production is read
_ROWS = 5000
_NO_CATEGORY = ""


class ReportError(LedgerError):
    """A report asked for with a bad parameter (year, quarter or district)."""

    code = "invalid_report"


@dataclass(frozen=True)
class Period:
    """A calendar year, or one quarter of it, in China time: ``start`` <= day < ``end``."""

    year: int
    quarter: int | None = None

    def __post_init__(self) -> None:
        if not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise ReportError(f"expected a year from {FIRST_YEAR} to {LAST_YEAR}, got "
                              f"{self.year}", field="year")
        if self.quarter is not None and self.quarter not in (1, 2, 3, 4):
            raise ReportError(f"expected a quarter 1 to 4, got {self.quarter}",
                              field="quarter")

    @property
    def start(self) -> date:
        """The first day of the period."""
        return date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        """The day after the period."""
        if self.quarter is None or self.quarter == 4:
            return date(self.year + 1, 1, 1)
        return date(self.year, 3 * self.quarter + 1, 1)

    @property
    def label_zh(self) -> str:
        """``2026年`` or ``2026年第四季度``."""
        quarters = "一二三四"
        return (f"{self.year}年" if self.quarter is None
                else f"{self.year}年第{quarters[self.quarter - 1]}季度")

    @property
    def label_en(self) -> str:
        """``2026`` or ``2026 Q4``."""
        return str(self.year) if self.quarter is None else f"{self.year} Q{self.quarter}"

    def previous_year(self) -> Period:
        """The same period one year earlier."""
        return Period(self.year - 1, self.quarter)

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in the period (its China-time date)."""
        return self.holds(moment.astimezone(CHINA).date())

    def holds(self, day: date) -> bool:
        """Whether the China-time date ``day`` falls in the period."""
        return self.start <= day < self.end

    def bounds(self) -> tuple[str, str]:
        """Loose RFC 3339 string bounds for a first filter in SQL (a day either side covers
        any UTC offset); :meth:`contains` decides exactly."""
        return ((self.start - timedelta(days=1)).isoformat(),
                (self.end + timedelta(days=1)).isoformat())


@dataclass(frozen=True)
class Scope:
    """Whose figures: every enterprise (``district`` None) or those of one district.

    A district matches an enterprise whose registered district starts with it, as a district
    bureau's scope does (:mod:`ledger.accounts.scope`), so ``福州市`` takes in ``福州市鼓楼区``
    and the other districts of the city."""

    district: str | None
    enterprises: frozenset[str] | None  # None: every enterprise

    def covers(self, enterprise: str | None) -> bool:
        """Whether ``enterprise`` is in scope."""
        return self.enterprises is None or (enterprise is not None
                                            and enterprise in self.enterprises)


@dataclass(frozen=True)
class Rate:
    """How many of something passed out of how many, for one key (a category, a district)."""

    key: str
    label_zh: str
    label_en: str
    total: int
    passed: int

    @property
    def failed(self) -> int:
        """How many did not pass."""
        return self.total - self.passed

    @property
    def rate(self) -> float | None:
        """passed / total, or None when there is nothing to count."""
        return self.passed / self.total if self.total else None


@dataclass(frozen=True)
class MonthlyRate:
    """The lot qualification rate of one month (1-12)."""

    month: int
    total: int
    passed: int

    @property
    def rate(self) -> float | None:
        """passed / total, or None for a month with no inspected lot."""
        return self.passed / self.total if self.total else None


@dataclass(frozen=True)
class FailedSpotCheck:
    """A spot check that failed: what was sampled, from whom, and which items failed."""

    seq: int
    inspected_at: str
    enterprise: str
    enterprise_name: str
    district: str
    gtin: str
    product: str
    lot: str
    lab: str
    report_no: str
    failed_items: tuple[str, ...]


@dataclass(frozen=True)
class OutputValue:
    """产值合格率's counts: the value (CNY) of inspected lots, of those that passed, and how
    many produced lots had no value recorded."""

    lots: int
    value: Decimal
    passed_value: Decimal
    lots_without_value: int
    lots_not_inspected: int

    @property
    def rate(self) -> float | None:
        """passed value / value, or None when no inspected lot had a value."""
        return float(self.passed_value / self.value) if self.value else None


@dataclass(frozen=True)
class RecallItem:
    """One recall started in the period."""

    seq: int
    level: int
    kind: str
    status: str
    producer: str
    producer_name: str
    reason: str
    initiated_at: str
    lots: int


@dataclass(frozen=True)
class RecallFigures:
    """Recalls started in the period, and the share of the period's lots they cover."""

    items: tuple[RecallItem, ...]
    lots_produced: int
    lots_recalled: int

    @property
    def by_level(self) -> dict[int, int]:
        """Level (1 most serious) -> count, every level present."""
        counts = dict.fromkeys((1, 2, 3), 0)
        for item in self.items:
            counts[item.level] = counts.get(item.level, 0) + 1
        return counts

    @property
    def open(self) -> int:
        """Recalls still open."""
        return sum(1 for item in self.items if item.status == "open")

    @property
    def recall_free(self) -> float | None:
        """Share of the period's produced lots no recall covers (None: no lot produced)."""
        if not self.lots_produced:
            return None
        return 1 - self.lots_recalled / self.lots_produced


@dataclass(frozen=True)
class GradeDistribution:
    """How many producing enterprises in scope stand at each credit grade."""

    counts: Mapping[str, int]
    #: that the grades came from ``ledger.credit`` (the report notes it when they did not)
    graded: bool

    @property
    def total(self) -> int:
        """Enterprises counted."""
        return sum(self.counts.values())

    @property
    def score(self) -> float | None:
        """The index's credit component: the mean grade score, None with no enterprise."""
        if not self.total:
            return None
        points = sum(GRADE_SCORES[grade] * count for grade, count in self.counts.items())
        return float(points / self.total)


@dataclass(frozen=True)
class PeriodFigures:
    """Every figure of one period in one scope."""

    period: Period
    lots: Rate
    by_category: tuple[Rate, ...]
    by_district: tuple[Rate, ...]
    by_kind: tuple[Rate, ...]
    spot_checks: Rate
    failed_spot_checks: tuple[FailedSpotCheck, ...]
    output_value: OutputValue
    recalls: RecallFigures
    monthly: tuple[MonthlyRate, ...]


@dataclass(frozen=True)
class IndexComponent:
    """One component of the quality competitiveness index."""

    key: str
    name_zh: str
    name_en: str
    weight: Decimal
    score: float | None


@dataclass(frozen=True)
class QualityIndex:
    """The quality competitiveness index and what it is made of."""

    value: float | None
    components: tuple[IndexComponent, ...]


@dataclass(frozen=True)
class Report:
    """A white paper (``district`` None, a year) or a district report (a quarter or year)."""

    period: Period
    scope: Scope
    current: PeriodFigures
    previous: PeriodFigures
    grades: GradeDistribution
    index: QualityIndex
    previous_index: QualityIndex
    #: the ledger size the figures were read at, and when
    ledger_size: int
    generated_at: datetime
    enterprises: int = 0
    districts: tuple[str, ...] = field(default=())
    #: the newest signed checkpoint when the figures were read (C2SP signed note), if any:
    #: a reader can check that the entries the figures rest on are the ledger's
    checkpoint: str | None = None


def scope_of(session: Session, district: str | None) -> Scope:
    """The scope of a report: everyone, or the enterprises registered in ``district`` (or
    under it). ReportError if no enterprise is registered there."""
    if district is None:
        return Scope(None, None)
    district = district.strip()
    if not district or len(district) > 100:
        raise ReportError("expected a district name (at most 100 characters)",
                          field="district")
    members = frozenset(district_enterprises(session, district))
    if not members:
        raise ReportError(f"no enterprise is registered in district {district!r}",
                          field="district")
    return Scope(district, members)


def build_report(session: Session, period: Period, scope: Scope, *,
                 now: datetime) -> Report:
    """The report of ``period`` in ``scope``: its figures, the previous year's, the grade
    distribution and the quality competitiveness index of both years."""
    size = session.scalar(select(func.count()).select_from(EntryRow)) or 0
    makers = _Makers.read(session)
    current = period_figures(session, period, scope, makers=makers)
    previous = period_figures(session, period.previous_year(), scope, makers=makers)
    grades = grade_distribution(session, scope)
    districts = sorted({makers.district(uscc) for uscc in makers.producers
                        if scope.covers(uscc)} - {""})
    return Report(period=period, scope=scope, current=current, previous=previous,
                  grades=grades, index=quality_index(current, grades),
                  previous_index=quality_index(previous, grades),
                  ledger_size=int(size), generated_at=now,
                  enterprises=sum(1 for uscc in makers.producers if scope.covers(uscc)),
                  districts=tuple(districts),
                  checkpoint=session.scalar(select(CheckpointRow.note)
                                            .order_by(CheckpointRow.size.desc()).limit(1)))


def quality_index(figures: PeriodFigures, grades: GradeDistribution) -> QualityIndex:
    """The quality competitiveness index of ``figures`` (see the module docstring)."""
    scores: dict[str, float | None] = {
        "lot_rate": figures.lots.rate, "spot_check_rate": figures.spot_checks.rate,
        "output_value_rate": figures.output_value.rate,
        # A period with nothing inspected has no standing to speak of either.
        "credit": grades.score if figures.lots.total else None,
        "recall_free": figures.recalls.recall_free}
    components = tuple(IndexComponent(key, *_INDEX_NAMES[key], INDEX_WEIGHTS[key], scores[key])
                       for key in INDEX_WEIGHTS)
    weighed = [(c.weight, Decimal(str(c.score))) for c in components if c.score is not None]
    if not weighed or not figures.lots.total:
        return QualityIndex(None, components)
    total = sum((w for w, _ in weighed), Decimal(0))
    value = Decimal(100) * sum((w * s for w, s in weighed), Decimal(0)) / total
    return QualityIndex(float(value.quantize(Decimal("0.1"))), components)


def grade_distribution(session: Session, scope: Scope) -> GradeDistribution:
    """The current credit grade of every producing enterprise in scope."""
    grades, graded = _current_grades(session)
    counts = dict.fromkeys(GRADES, 0)
    for uscc, roles in session.execute(select(EnterpriseRow.uscc, EnterpriseRow.roles)):
        if "producer" not in _roles(roles) or not scope.covers(uscc):
            continue
        grade = grades.get(uscc, "B")
        counts[grade if grade in counts else "B"] += 1
    return GradeDistribution(counts, graded)


def _current_grades(session: Session) -> tuple[dict[str, str], bool]:
    """Enterprise -> grade letter from :func:`ledger.credit.current_grades` (B for one never
    graded), and that the grades came from it."""
    return {uscc: standing.grade for uscc, standing in current_grades(session).items()}, True


def _roles(text: str) -> list[str]:
    """The enterprise's roles (stored comma-separated by the identity projection)."""
    return [word.strip() for word in text.split(",")]


@dataclass
class _Makers:
    """Who made what: product -> (maker, category); enterprise -> (name, district)."""

    products: dict[str, tuple[str, str, str]]  # gtin -> (maker, category, name)
    enterprises: dict[str, tuple[str, str]]  # uscc -> (name, district)
    producers: list[str]
    #: every live inspection and production (read once, then counted per period)
    inspections: list[_Inspection] = field(default_factory=list)
    productions: list[_Production] = field(default_factory=list)
    #: inspected lot -> the enterprise it originated with
    origins: dict[tuple[str, str], str] = field(default_factory=dict)
    #: lot -> whether every live inspection of it (at any time) passed
    verdicts: dict[tuple[str, str], bool] = field(default_factory=dict)

    @classmethod
    def read(cls, session: Session) -> _Makers:
        products = {gtin: (maker, category, name) for gtin, maker, category, name in
                    session.execute(select(ProductRow.gtin, ProductRow.enterprise,
                                           ProductRow.category, ProductRow.name))}
        enterprises: dict[str, tuple[str, str]] = {}
        producers = []
        for uscc, name, district, roles in session.execute(select(
                EnterpriseRow.uscc, EnterpriseRow.name, EnterpriseRow.district,
                EnterpriseRow.roles)):
            enterprises[uscc] = (name, district)
            if "producer" in _roles(roles):
                producers.append(uscc)
        inspections = _inspections(session)
        verdicts: dict[tuple[str, str], bool] = {}
        for item in inspections:
            key = (item.gtin, item.lot)
            verdicts[key] = verdicts.get(key, True) and item.passed
        return cls(products, enterprises, producers, inspections, _productions(session),
                   _origins(session, {item.gtin for item in inspections}), verdicts)

    def maker(self, gtin: str, origin: str | None) -> str | None:
        """The lot's maker: its product's registrant, else the enterprise it came from."""
        product = self.products.get(gtin)
        return product[0] if product is not None else origin

    def category(self, gtin: str) -> str:
        product = self.products.get(gtin)
        return product[1] if product is not None else _NO_CATEGORY

    def product_name(self, gtin: str) -> str:
        product = self.products.get(gtin)
        return product[2] if product is not None else gtin

    def name(self, uscc: str | None) -> str:
        return self.enterprises.get(uscc or "", (uscc or "", ""))[0]

    def district(self, uscc: str | None) -> str:
        return self.enterprises.get(uscc or "", ("", ""))[1]


@dataclass(frozen=True)
class _Inspection:
    seq: int
    gtin: str
    lot: str
    kind: str
    passed: bool
    moment: datetime
    #: the China-time date of ``moment``, which periods are cut by
    day: date


def _field(body: bytes, name: bytes) -> str | None:
    """A top-level string field of an entry's payload, read off its canonical bytes without
    parsing them: in RFC 8785 JSON a quote inside a string is always escaped, so
    ``"name":"`` can only be a member name, and the payload's members are the only ones of
    these names (the entry's own are ``enterprise``, ``event_time``, ``key_id`` …, and an
    inspection item's ``name``, ``value``, ``limit``, ``unit``, ``pass``)."""
    start = body.find(b'"' + name + b'":"')
    if start < 0:
        return None
    start += len(name) + 4
    end = body.find(b'"', start)
    return body[start:end].decode() if end > start else None


def _payloads(session: Session, seqs: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The payload each record's entry carries (a correction's replacement for a record a
    correction made)."""
    found: dict[int, dict[str, Any]] = {}
    wanted = list(seqs)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        for seq, type_, body in session.execute(select(EntryRow.seq, EntryRow.type,
                                                       EntryRow.body)
                                                .where(EntryRow.seq.in_(chunk))):
            payload = json.loads(body)["payload"]
            if type_ == CORRECTION:
                payload = payload.get("replacement", {})
            found[seq] = payload
    return found


def _moment(text: Any) -> datetime | None:
    try:
        return parse_moment(str(text))
    except ValueError:
        return None


def _inspections(session: Session) -> list[_Inspection]:
    """Every live inspection record, dated by its ``inspected_at`` (not the statement's event
    time, which a client may set otherwise)."""
    found = []
    query = (select(RecordRow.seq, RecordRow.gtin, RecordRow.lot, RecordRow.verdict,
                    EntryRow.body)
             .join(EntryRow, EntryRow.seq == RecordRow.seq)
             .where(RecordRow.type == INSPECTION, RecordRow.superseded_by.is_(None))
             .order_by(RecordRow.seq).execution_options(yield_per=_ROWS))
    for seq, gtin, lot, verdict, body in session.execute(query):
        # a correction's replacement carries the fields the record now says
        moment = _moment(_field(body, b"inspected_at"))
        if moment is None or gtin is None or lot is None:
            continue
        found.append(_Inspection(seq, gtin, lot, _field(body, b"kind") or "", verdict == "pass",
                                 moment, moment.astimezone(CHINA).date()))
    return found


@dataclass(frozen=True)
class _Production:
    gtin: str
    lot: str
    enterprise: str
    day: date
    value: Decimal | None


def _productions(session: Session) -> list[_Production]:
    """Every live production record, dated by its ``produced_at``, with its output value."""
    found = []
    query = (select(RecordRow.enterprise, RecordRow.gtin, RecordRow.lot, EntryRow.body)
             .join(EntryRow, EntryRow.seq == RecordRow.seq)
             .where(RecordRow.type == PRODUCTION, RecordRow.superseded_by.is_(None))
             .order_by(RecordRow.seq).execution_options(yield_per=_ROWS))
    for enterprise, gtin, lot, body in session.execute(query):
        moment = _moment(_field(body, b"produced_at"))
        if moment is None or gtin is None or lot is None:
            continue
        found.append(_Production(gtin, lot, enterprise, moment.astimezone(CHINA).date(),
                                 _amount(_field(body, b"output_value"))))
    return found


def _origins(session: Session, gtins: Collection[str]) -> dict[tuple[str, str], str]:
    """The enterprise each lot of ``gtins`` originated with."""
    wanted = sorted(gtins)
    origins: dict[tuple[str, str], str] = {}
    for start in range(0, len(wanted), _CHUNK):
        origins.update({(gtin, lot): origin for gtin, lot, origin in session.execute(
            select(LotRow.gtin, LotRow.lot, LotRow.origin)
            .where(LotRow.gtin.in_(wanted[start:start + _CHUNK])))})
    return origins


_KINDS: Mapping[str, tuple[str, str]] = {
    "self": ("企业自检", "Self-inspection"),
    "third_party": ("第三方检验", "Third-party testing"),
    "incoming": ("进货查验", "Incoming inspection"),
    "spot_check": ("监督抽查", "Supervisory spot check"),
}


def period_figures(session: Session, period: Period, scope: Scope, *,
                   makers: _Makers | None = None) -> PeriodFigures:
    """Every figure of ``period`` in ``scope`` (see the module docstring for definitions)."""
    makers = makers or _Makers.read(session)
    inspections = [item for item in makers.inspections if period.holds(item.day)]

    def maker_of(gtin: str, lot: str) -> str | None:
        return makers.maker(gtin, makers.origins.get((gtin, lot)))

    in_scope = [item for item in inspections if scope.covers(maker_of(item.gtin, item.lot))]
    # lot -> passed every inspection in the period; and the month of its first one
    lots: dict[tuple[str, str], bool] = {}
    months: dict[tuple[str, str], int] = {}
    for item in in_scope:
        key = (item.gtin, item.lot)
        lots[key] = lots.get(key, True) and item.passed
        months.setdefault(key, item.day.month)

    def tally(keyed: Mapping[tuple[str, str], str]) -> dict[str, list[int]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for key, passed in lots.items():
            counts[keyed[key]][0] += 1
            counts[keyed[key]][1] += int(passed)
        return counts

    reference = load_reference()
    by_category = []
    for code, (total, passed) in sorted(tally({key: makers.category(key[0])
                                              for key in lots}).items()):
        if code == _NO_CATEGORY:
            label = ("未登记产品", "Unregistered products")
        else:
            category = reference.category(code)
            label = (category.name_zh, category.name_en)
        by_category.append(Rate(code, *label, total, passed))
    by_district = [Rate(district, district or "未登记", district or "unregistered", total, passed)
                   for district, (total, passed) in sorted(tally(
                       {key: makers.district(maker_of(*key)) for key in lots}).items())]
    kinds: dict[str, list[int]] = {kind: [0, 0] for kind in _KINDS}
    for item in in_scope:
        counts = kinds.setdefault(item.kind, [0, 0])
        counts[0] += 1
        counts[1] += int(item.passed)
    by_kind = [Rate(kind, *_KINDS.get(kind, (kind, kind)), total, passed)
               for kind, (total, passed) in kinds.items()]
    spot = [item for item in in_scope if item.kind == "spot_check"]
    failed_spots = []
    failures = [item for item in spot if not item.passed]
    details = _payloads(session, (item.seq for item in failures))  # the few read whole
    for item in failures:
        maker = maker_of(item.gtin, item.lot) or ""
        payload = details.get(item.seq, {})
        failed_items = tuple(str(part.get("name", "")) for part in payload.get("items", [])
                             if isinstance(part, dict) and part.get("pass") is False)
        failed_spots.append(FailedSpotCheck(
            item.seq, item.moment.astimezone(CHINA).isoformat(), maker, makers.name(maker),
            makers.district(maker), item.gtin, makers.product_name(item.gtin), item.lot,
            str(payload.get("lab", "")), str(payload.get("report_no", "")), failed_items))
    monthly = []
    for month in range(1, 13):
        keys = [key for key, first in months.items() if first == month]
        monthly.append(MonthlyRate(month, len(keys), sum(1 for key in keys if lots[key])))
    if period.quarter is not None:
        monthly = monthly[3 * period.quarter - 3:3 * period.quarter]
    total_lots = len(lots)
    produced = _produced(makers, period, scope)
    return PeriodFigures(
        period=period,
        lots=Rate("all", "全部", "All", total_lots, sum(1 for ok in lots.values() if ok)),
        by_category=tuple(by_category), by_district=tuple(by_district),
        by_kind=tuple(by_kind),
        spot_checks=Rate("spot_check", *_KINDS["spot_check"], len(spot),
                         sum(1 for item in spot if item.passed)),
        failed_spot_checks=tuple(failed_spots),
        output_value=_output_value(makers, produced),
        recalls=_recalls(session, period, scope, makers, produced),
        monthly=tuple(monthly))


def _produced(facts: _Makers, period: Period, scope: Scope) -> list[_Production]:
    """The lots produced in the period in scope."""
    return [item for item in facts.productions if period.holds(item.day)
            and scope.covers(facts.maker(item.gtin, item.enterprise))]


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _output_value(facts: _Makers, produced: list[_Production]) -> OutputValue:
    valued = {(item.gtin, item.lot): item.value for item in produced if item.value is not None}
    value = passed = Decimal(0)
    inspected = 0
    for key, amount in valued.items():
        if key not in facts.verdicts:
            continue
        inspected += 1
        value += amount
        if facts.verdicts[key]:
            passed += amount
    return OutputValue(lots=inspected, value=value, passed_value=passed,
                       lots_without_value=len(produced) - len(valued),
                       lots_not_inspected=len(valued) - inspected)


def _recalls(session: Session, period: Period, scope: Scope, makers: _Makers,
             lots: list[_Production]) -> RecallFigures:
    since, until = period.bounds()
    items = []
    for row in session.scalars(select(RecallRow).where(RecallRow.initiated_at >= since,
                                                       RecallRow.initiated_at < until)
                               .order_by(RecallRow.seq)):
        moment = _moment(row.initiated_at)
        if moment is None or not period.contains(moment) or not scope.covers(row.producer):
            continue
        count = session.scalar(select(func.count()).select_from(RecallLotRow)
                               .where(RecallLotRow.recall == row.seq)) or 0
        items.append(RecallItem(row.seq, row.level, row.kind, row.status, row.producer,
                                makers.name(row.producer), row.reason,
                                moment.astimezone(CHINA).isoformat(), int(count)))
    produced = {(item.gtin, item.lot) for item in lots}
    recalled: set[tuple[str, str]] = set()
    gtins = sorted({gtin for gtin, _ in produced})
    for start in range(0, len(gtins), _CHUNK):
        recalled.update((str(gtin), str(lot)) for gtin, lot in session.execute(
            select(RecallLotRow.gtin, RecallLotRow.lot)
            .where(RecallLotRow.gtin.in_(gtins[start:start + _CHUNK]))))
    return RecallFigures(tuple(items), len(produced), len(produced & recalled))
