"""What a shopper may see of a code: :func:`lookup_code`.

A code names a product (a GTIN), a lot (GTIN + lot) or a unit (GTIN + lot + serial, or a
20-digit supervision code). The answer is public: product and category, the maker and its
licence status, the lot's dates, inspections (kind, date, lab, pass/fail), the recall status,
whether the lot is past its expiry date, and for a unit how often its code was queried. It
never holds suppliers, customers, quantities or prices.

Anti-counterfeit: a unit code counts its queries (:mod:`ledger.consumer.counting`). The first
query says so; later ones say how many and since when; above a threshold, or for a code that
was never issued or whose keyed digits are wrong, the answer carries a counterfeit warning.
A code never issued is answered by the same statements as an issued one (the lookups run
with the keys the code gives, and its queries are counted too), so neither the answer's shape
nor its time tells a prober more than the warning does.

The product's and lot's facts are the same for every unit and every query while the ledger
does not grow: they are read once per ledger state (keyed by its size and last leaf hash) and
kept in a small per-process cache, so a unit lookup runs three statements: the ledger head,
the unit, and the count.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ledger.consumer.counting import QueryCount, count_query, read_queries
from ledger.log.identity import ENTERPRISE_REGISTERED
from ledger.log.storage import EnterpriseRow, EntryRow, LedgerHead
from ledger.recall import lot_status
from ledger.supervision.context import unit_code
from ledger.supervision.models import LotRow, ProductRow, RecallRow, RecordRow, UnitRow
from ledger.supervision.names import CORRECTION, INSPECTION, PRODUCT_REGISTERED
from ledger.supervision.recall_levels import CHINA
from ledger.supervision.reference import FOOD_CLASS, load_reference
from scanners.supervision_code import SupervisionCode, authentic

__all__ = [
    "DEFAULT_WARNING_THRESHOLD",
    "PUBLIC_ENTRY_TYPES",
    "CodeQuery",
    "Inspection",
    "LicenceView",
    "LotView",
    "Lookup",
    "MakerView",
    "ParsedCodeLike",
    "ProductView",
    "QueryView",
    "RecallView",
    "ShownEntry",
    "lookup_code",
]

#: above this many queries of one unit code, the answer warns of a counterfeit (a genuine
#: package is scanned by its buyer a few times; a copied code by every buyer of every copy).
#: ``TRACENET_QUERY_WARNING_THRESHOLD`` configures it for the web app.
DEFAULT_WARNING_THRESHOLD = 10

#: entry types whose bytes a shopper may read (the evidence serves only the leaf hash of the
#: others: productions hold quantities and suppliers' lots, recall_initiated its holders,
#: serialization every serial of the lot)
PUBLIC_ENTRY_TYPES = frozenset({ENTERPRISE_REGISTERED, PRODUCT_REGISTERED, INSPECTION})

#: licence kinds that allow making a product of a class: the SC food production licence for
#: food; elsewhere any licence or certificate on record (CCC, the production licence XK…)
_FOOD_LICENCE = "SC"


class ParsedCodeLike(Protocol):
    """What :func:`lookup_code` reads of a ``scanners.codes.ParsedCode``."""

    @property
    def kind(self) -> str: ...

    @property
    def supervision(self) -> SupervisionCode | None: ...

    def get(self, ai: str) -> str | None: ...


@dataclass(frozen=True)
class CodeQuery:
    """What a code asks about: a product, a lot, or a unit (by serial or supervision code)."""

    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    supervision: SupervisionCode | None = None

    @classmethod
    def of(cls, parsed: ParsedCodeLike) -> CodeQuery:
        """The query a parsed code makes (AIs 01, 10 and 21, or the supervision code)."""
        if parsed.supervision is not None:
            return cls(supervision=parsed.supervision)
        return cls(gtin=parsed.get("01"), lot=parsed.get("10"), serial=parsed.get("21"))

    @property
    def is_unit(self) -> bool:
        """Whether the code names one unit (a serial, or a supervision code)."""
        return self.supervision is not None or (self.gtin is not None
                                                and self.serial is not None)

    @property
    def text(self) -> str:
        """The code as counted when it names no issued unit."""
        if self.supervision is not None:
            return self.supervision.text
        text = f"(01){self.gtin or ''}"
        if self.lot is not None:
            text += f"(10){self.lot}"
        return text + (f"(21){self.serial}" if self.serial is not None else "")


@dataclass(frozen=True)
class ShownEntry:
    """A ledger entry the answer rests on, and whether a shopper may read its bytes."""

    seq: int
    role: str  # maker / product / lot / inspection / recall / recall_closed / unit
    type: str
    public: bool


@dataclass(frozen=True)
class ProductView:
    """The product a GTIN names (``found`` False: not registered; every other field None)."""

    found: bool = False
    gtin: str | None = None
    name: str | None = None
    spec: str | None = None
    standard: str | None = None
    category: str | None = None
    category_zh: str | None = None
    category_en: str | None = None
    class_zh: str | None = None
    class_en: str | None = None
    seq: int | None = None


@dataclass(frozen=True)
class LicenceView:
    """One licence the maker registered (kind -> number)."""

    kind: str
    number: str


@dataclass(frozen=True)
class MakerView:
    """Who registered the product, and whether its licence for it is on the ledger.

    ``licence_status``: ``licensed`` (food: an SC food production licence; other classes: any
    licence or certificate), ``unlicensed`` (none on record), ``unknown`` (no maker found).
    """

    found: bool = False
    uscc: str | None = None
    name: str | None = None
    district: str | None = None
    licence_status: str = "unknown"
    licences: tuple[LicenceView, ...] = ()
    seq: int | None = None


@dataclass(frozen=True)
class LotView:
    """A lot's dates; ``expired`` when its expiry date is before today (China time)."""

    found: bool = False
    lot: str | None = None
    produced_at: str | None = None
    expiry: str | None = None
    expired: bool = False
    inspection: str | None = None  # the latest verdict: none / pass / fail
    seq: int | None = None


@dataclass(frozen=True)
class Inspection:
    """One live inspection of the lot (a corrected one shows as corrected)."""

    seq: int
    kind: str  # self / third_party / spot_check / incoming
    inspected_at: str | None
    lab: str | None
    standard: str | None
    report_no: str | None
    verdict: str  # pass / fail
    items: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class RecallView:
    """The lot's recall status (from :func:`ledger.recall.lot_status`): ``open``, ``closed``
    or ``none``."""

    status: str = "none"
    id: int | None = None
    level: int | None = None
    level_name_zh: str | None = None
    level_name_en: str | None = None
    initiated_at: str | None = None
    reason: str | None = None
    consumer_advice: str | None = None
    closed_at: str | None = None


@dataclass(frozen=True)
class QueryView:
    """A unit code's queries: ``counted`` False when this lookup counted none (a lot or product
    code, or a lookup made with ``count=False``, which still reads the count so far)."""

    counted: bool = False
    count: int = 0
    first_at: str | None = None
    first: bool = False


@dataclass(frozen=True)
class Lookup:
    """The public answer to a code (see the module's docstring).

    ``level`` is what the code named: ``product``, ``lot`` or ``unit``. ``found`` says whether
    that item is on the ledger (a unit: issued). ``authenticity``: ``genuine`` (an issued
    unit's code, queried no more than the threshold), ``too_many_queries``, ``not_issued``,
    ``not_authentic`` (a supervision code whose keyed digits are wrong), or ``unchecked``
    (a lot or product code, which names no single package). ``warnings`` are stable codes
    (``counterfeit.*``, ``lot.expired``, ``lot.recalled``, ``lot.failed_inspection``,
    ``maker.unlicensed``); ``entries`` the ledger entries the answer shows.
    """

    level: str
    code: str
    gtin: str | None
    lot: str | None
    serial: str | None
    found: bool
    authenticity: str
    product: ProductView
    maker: MakerView
    lot_info: LotView
    inspections: tuple[Inspection, ...]
    recall: RecallView
    queries: QueryView
    threshold: int
    warnings: tuple[str, ...]
    entries: tuple[ShownEntry, ...] = field(default=())

    @property
    def counterfeit(self) -> bool:
        """Whether the answer warns that the package may be counterfeit."""
        return any(w.startswith("counterfeit.") for w in self.warnings)

    @property
    def seqs(self) -> tuple[int, ...]:
        """The seqs of the entries shown, ascending."""
        return tuple(sorted({entry.seq for entry in self.entries}))

    def as_json(self) -> dict[str, Any]:
        """The answer as JSON: the same keys whatever was found (nulls where nothing was)."""
        # field by field rather than dataclasses.asdict, whose deep copy costs more than the
        # rest of a lookup
        body = _shallow(self)
        body["product"] = _shallow(self.product)
        body["maker"] = {**_shallow(self.maker),
                         "licences": [_shallow(lic) for lic in self.maker.licences]}
        body["lot_info"] = _shallow(self.lot_info)
        body["recall"] = _shallow(self.recall)
        body["queries"] = _shallow(self.queries)
        body["counterfeit"] = self.counterfeit
        body["seqs"] = list(self.seqs)
        body["entries"] = [_shallow(entry) for entry in self.entries]
        body["inspections"] = [{**_shallow(i), "items": [dict(item) for item in i.items]}
                               for i in self.inspections]
        body["warnings"] = list(self.warnings)
        return body


def _shallow(instance: Any) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in instance.__dataclass_fields__}


def _level(query: CodeQuery) -> str:
    if query.is_unit:
        return "unit"
    return "lot" if query.lot is not None else "product"


@dataclass(frozen=True)
class _Unit:
    """An issued unit: its code, lot, and the entry that issued it (seq and type)."""

    code: str
    gtin: str | None
    lot: str | None
    seq: int
    type: str


# A lookup runs three statements (the ledger head, the unit, the count); built once here, since
# building a statement costs more than SQLite takes to run it.
_UNIT = select(UnitRow.code, UnitRow.gtin, UnitRow.lot, UnitRow.seq, EntryRow.type).outerjoin(
    EntryRow, EntryRow.seq == UnitRow.seq)
_UNIT_BY_CODE = _UNIT.where(UnitRow.code == bindparam("code")).limit(1)
_UNIT_BY_SUPERVISION_CODE = _UNIT.where(UnitRow.supervision_code == bindparam("code")).limit(1)
_HEAD = select(LedgerHead.size, LedgerHead.last_leaf_hash).where(LedgerHead.id == 1)


def _unit_where(session: Session, statement: Any, code: str) -> _Unit | None:
    # On the connection: no ORM identity map to fill for a row read once.
    row = session.connection().execute(statement, {"code": code}).first()
    return None if row is None else _Unit(row[0], row[1], row[2], int(row[3]), row[4] or "")


def _find_unit(session: Session, query: CodeQuery, code_secret: bytes
               ) -> tuple[_Unit | None, str]:
    """The issued unit a unit code names, and why not when it names none."""
    if query.supervision is not None:
        # The HMAC is checked first, but the unit is looked up either way: the same work.
        genuine = authentic(code_secret, query.supervision)
        unit = _unit_where(session, _UNIT_BY_SUPERVISION_CODE, query.supervision.text)
        if not genuine:
            return None, "not_authentic"
        return unit, "genuine" if unit is not None else "not_issued"
    unit = _unit_where(session, _UNIT_BY_CODE, unit_code(query.gtin or "", query.serial or ""))
    if unit is None or (query.lot is not None and unit.lot != query.lot):
        # A serial printed with another lot than its own is a copied code.
        return None, "not_issued"
    return unit, "genuine"


def _product(session: Session, gtin: str) -> tuple[ProductView, str]:
    """The product's public view, and the enterprise that registered it ("" if none)."""
    row = session.get(ProductRow, gtin)
    if row is None:
        return ProductView(), ""
    category = load_reference().categories.get(row.category)
    return ProductView(
        found=True, gtin=row.gtin, name=row.name, spec=row.spec, standard=row.standard,
        category=row.category,
        category_zh=category.name_zh if category else None,
        category_en=category.name_en if category else None,
        class_zh=category.class_zh if category else None,
        class_en=category.class_en if category else None, seq=row.registered_seq), row.enterprise


def _maker(session: Session, uscc: str, category: str | None) -> MakerView:
    row = session.get(EnterpriseRow, uscc)
    body = session.scalar(select(EntryRow.body).where(
        EntryRow.seq == (row.registered_seq if row is not None else -1)))
    if row is None or body is None:
        return MakerView()
    payload = json.loads(body)["payload"]
    licences = tuple(LicenceView(str(kind), str(number))
                     for kind, number in sorted(dict(payload.get("licences") or {}).items()))
    classes = load_reference().categories
    food = category is not None and category in classes and (
        classes[category].class_code == FOOD_CLASS)
    if food:
        licensed = any(lic.kind == _FOOD_LICENCE for lic in licences)
    else:
        licensed = bool(licences)
    return MakerView(found=True, uscc=row.uscc, name=row.name, district=row.district,
                     licence_status="licensed" if licensed else "unlicensed",
                     licences=licences, seq=row.registered_seq)


def _expired(expiry: str | None, today: date) -> bool:
    if not expiry:
        return False
    try:
        return date.fromisoformat(expiry[:10]) < today
    except ValueError:
        return False


def _lot(session: Session, gtin: str, lot: str) -> LotView:
    row = session.get(LotRow, (gtin, lot))
    if row is None:
        return LotView()
    return LotView(found=True, lot=row.lot, produced_at=row.produced_at, expiry=row.expiry,
                   inspection=row.inspection, seq=row.origin_seq)


def _inspections(session: Session, gtin: str, lot: str) -> list[tuple[Inspection, str]]:
    """The lot's live inspections, oldest first, each with the type of its entry."""
    rows = session.execute(
        select(RecordRow.seq, RecordRow.verdict, EntryRow.type, EntryRow.body)
        .join(EntryRow, EntryRow.seq == RecordRow.seq)
        .where(RecordRow.type == INSPECTION, RecordRow.gtin == gtin, RecordRow.lot == lot,
               RecordRow.superseded_by.is_(None))
        .order_by(RecordRow.seq)).all()
    found = []
    for seq, verdict, type_, body in rows:
        payload = json.loads(body)["payload"]
        if type_ == CORRECTION:
            payload = payload.get("replacement") or {}
        items = tuple({"name": item.get("name"), "value": item.get("value"),
                       "limit": item.get("limit"), "unit": item.get("unit"),
                       "pass": item.get("pass")} for item in payload.get("items") or ())
        found.append((Inspection(
            seq=seq, kind=str(payload.get("kind") or "self"),
            inspected_at=payload.get("inspected_at"), lab=payload.get("lab"),
            standard=payload.get("standard"), report_no=payload.get("report_no"),
            verdict=str(verdict or payload.get("verdict")), items=items), type_))
    return found


def _recall(session: Session, gtin: str, lot: str, lot_found: bool) -> RecallView:
    if not lot_found:
        return RecallView()
    status = lot_status(session, gtin, lot)["recall"]
    return RecallView(**{name: status.get(name) for name in RecallView.__dataclass_fields__})


def _recall_closed_seq(session: Session, recall: int | None) -> int | None:
    if recall is None:
        return None
    row = session.get(RecallRow, recall)
    return row.closed_seq if row is not None else None


def _entry_types(session: Session, seqs: Sequence[int]) -> dict[int, str]:
    if not seqs:
        return {}
    return dict(session.execute(select(EntryRow.seq, EntryRow.type)
                                .where(EntryRow.seq.in_(list(seqs)))).all())


@dataclass(frozen=True)
class _ItemFacts:
    """What a product or lot shows, the same for every unit of it and every query of it while
    the ledger does not grow (the expiry flag, which depends on the day, is computed apart)."""

    product: ProductView
    maker: MakerView
    lot: LotView
    inspections: tuple[Inspection, ...]
    recall: RecallView
    #: (seq, role, type, public) of the entries behind these facts
    entries: tuple[ShownEntry, ...]


#: facts by (database, ledger size, last leaf hash, GTIN, lot). Projections are a function of
#: the ledger, so facts read at one ledger state hold until the next append, which changes the
#: key: a recall or an inspection shows on the very next query. Bounded, oldest out first.
_FACTS: OrderedDict[tuple[str, int, bytes, str, str], _ItemFacts] = OrderedDict()
_FACTS_LIMIT = 4096
_FACTS_LOCK = threading.Lock()


def _read_facts(session: Session, gtin: str, lot: str) -> _ItemFacts:
    """Read a product's (and lot's) facts; every read runs even when an earlier one found
    nothing (with keys that find nothing), so a code never issued costs what an issued one does.
    """
    product, maker_uscc = _product(session, gtin)
    maker = _maker(session, maker_uscc, product.category)
    lot_view = _lot(session, gtin, lot)
    inspections = _inspections(session, gtin, lot)
    recall = _recall(session, gtin, lot, lot_view.found)
    shown: list[tuple[int, str]] = []
    if maker.seq is not None:
        shown.append((maker.seq, "maker"))
    if product.seq is not None:
        shown.append((product.seq, "product"))
    if lot_view.seq is not None:
        shown.append((lot_view.seq, "lot"))
    shown += [(inspection.seq, "inspection") for inspection, _type in inspections]
    if recall.id is not None:
        shown.append((recall.id, "recall"))
        closed = _recall_closed_seq(session, recall.id)
        if closed is not None:
            shown.append((closed, "recall_closed"))
    types = _entry_types(session, [seq for seq, _role in shown])
    inspection_types = {inspection.seq: type_ for inspection, type_ in inspections}
    entries = tuple(ShownEntry(
        seq=seq, role=role, type=types.get(seq, ""),
        # an inspection's correction carries only the replaced inspection: as public
        public=types.get(seq) in PUBLIC_ENTRY_TYPES or (
            role == "inspection" and inspection_types.get(seq) == CORRECTION))
        for seq, role in shown)
    return _ItemFacts(product, maker, lot_view,
                      tuple(inspection for inspection, _type in inspections), recall, entries)


def _facts(session: Session, gtin: str, lot: str) -> _ItemFacts:
    """The facts of ``gtin`` / ``lot`` at the ledger's current state (cached per state)."""
    head = session.connection().execute(_HEAD).one()
    key = (str(session.get_bind().engine.url), int(head.size), bytes(head.last_leaf_hash),
           gtin, lot)
    with _FACTS_LOCK:
        cached = _FACTS.get(key)
    if cached is not None:
        return cached
    facts = _read_facts(session, gtin, lot)
    with _FACTS_LOCK:
        _FACTS[key] = facts
        while len(_FACTS) > _FACTS_LIMIT:
            _FACTS.popitem(last=False)
    return facts


def lookup_code(session: Session, parsed: ParsedCodeLike, *, code_secret: bytes,
                count: bool = True, threshold: int = DEFAULT_WARNING_THRESHOLD,
                now: datetime | None = None) -> Lookup:
    """What a shopper may see of ``parsed`` (see the module's docstring).

    With ``count`` a unit code's query is counted on ``session`` (the caller commits; on
    SQLite the count holds the writer lock until then, so commit at once). ``code_secret``
    checks a supervision code's keyed digits; ``threshold`` is the number of queries above
    which a unit code is suspect; ``now`` defaults to the current time.
    """
    now = now or datetime.now(UTC)
    today = now.astimezone(CHINA).date()
    query = CodeQuery.of(parsed)
    level = _level(query)
    unit: _Unit | None = None
    authenticity = "unchecked"
    if level == "unit":
        unit, authenticity = _find_unit(session, query, code_secret)
    gtin = unit.gtin if unit is not None else query.gtin
    lot = unit.lot if unit is not None else query.lot
    serial = query.serial
    if unit is not None and serial is None and unit.code.startswith(f"(01){unit.gtin}(21)"):
        serial = unit.code.removeprefix(f"(01){unit.gtin}(21)")
    facts = _facts(session, gtin or "", lot or "")
    product, maker, recall = facts.product, facts.maker, facts.recall
    lot_view = replace(facts.lot, expired=facts.lot.found and _expired(facts.lot.expiry, today))
    entries = facts.entries
    if unit is not None:
        entries += (ShownEntry(unit.seq, "unit", unit.type, False),)
    queries = QueryView()
    if level == "unit" and count:
        counted: QueryCount = count_query(session, unit.code if unit else query.text, now)
        queries = QueryView(counted=True, count=counted.count, first_at=counted.first_at,
                            first=counted.first)
    elif level == "unit":
        # not counted (a language switch, say), but the count so far still stands: a copied
        # code must not read as genuine because it was asked again in another language
        seen = read_queries(session, unit.code if unit else query.text)
        if seen is not None:
            queries = QueryView(counted=False, count=seen.count, first_at=seen.first_at)
    if authenticity == "genuine" and queries.count > threshold:
        authenticity = "too_many_queries"

    warnings: list[str] = []
    if authenticity in ("not_issued", "not_authentic", "too_many_queries"):
        warnings.append(f"counterfeit.{authenticity}")
    if recall.status == "open":
        warnings.append("lot.recalled")
    if lot_view.inspection == "fail":
        warnings.append("lot.failed_inspection")
    if lot_view.expired:
        warnings.append("lot.expired")
    if maker.licence_status == "unlicensed":
        warnings.append("maker.unlicensed")

    found = {"unit": unit is not None, "lot": lot_view.found,
             "product": product.found}[level]
    return Lookup(
        level=level, code=unit.code if unit is not None else query.text, gtin=gtin,
        lot=lot, serial=serial, found=found, authenticity=authenticity, product=product,
        maker=maker, lot_info=lot_view, inspections=facts.inspections, recall=recall,
        queries=queries, threshold=threshold, warnings=tuple(warnings), entries=entries)

