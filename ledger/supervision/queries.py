"""Read services over the projections: listings with filters and keyset pagination.

``viewer`` is the enterprise a caller may see the records of, or a set of them (a district
bureau sees what each enterprise of its district sees, ``ledger.accounts.scope``); ``None``
means everything (the city bureau or an administrator). Who gets which viewer is the web
layer's decision, through ``ledger.accounts.scope.viewer_for``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from ledger.log import rfc3339
from ledger.log.entry import Entry
from ledger.log.identity import IDENTITY_TYPES
from ledger.log.storage import EnterpriseRow, EntryRow
from ledger.supervision.context import unit_code
from ledger.supervision.models import (
    LotRow,
    NoticeRow,
    ProductRow,
    RecordRow,
    StockRow,
    UnitRow,
)
from ledger.supervision.names import PRODUCT_REGISTERED, SHIPMENT

__all__ = [
    "PUBLIC_TYPES",
    "Page",
    "Unit",
    "Viewer",
    "entry_visible",
    "find_unit",
    "find_unit_by_code",
    "count_lot_units",
    "lot_units",
    "list_enterprises",
    "list_entries",
    "list_lots",
    "list_products",
    "notices_of",
    "product_by_number",
    "unreceived_shipments",
    "viewer_matches",
    "viewer_sees",
]

_Row = TypeVar("_Row")

#: whose records a caller may read: one enterprise, a set of them (a district bureau), or
#: None for everything; ``ledger.accounts.scope.viewer_for`` gives an account's
Viewer = str | Set[str] | None

#: entry types anyone may read: who is on the network, with which keys, making which products
PUBLIC_TYPES = frozenset(IDENTITY_TYPES | {PRODUCT_REGISTERED})


@dataclass(frozen=True)
class Page:
    """One page of a listing; ``after`` is the key to continue from (None on the last page)."""

    items: list[dict[str, Any]]
    after: tuple[Any, ...] | None


def _page(rows: Sequence[Any], limit: int, key: Any, item: Any) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([item(row) for row in rows], tuple(key(rows[-1])) if more and rows else None)


def _page_by(session: Session, query: Select[_Row], key: InstrumentedAttribute[Any],
             limit: int, after: tuple[Any, ...] | None,
             item: Callable[[Any], dict[str, Any]]) -> Page:
    """One page of the rows ``query`` selects, ordered by the unique ``key``, after ``after``."""
    if after:
        query = query.where(key > after[0])
    rows = session.scalars(query.order_by(key).limit(limit + 1)).all()
    return _page(rows, limit, lambda row: (getattr(row, key.key),), item)


def viewer_matches(column: Any, viewer: str | Set[str]) -> ColumnElement[bool]:
    """SQL: ``column`` names the viewer (one enterprise) or one of its enterprises."""
    if isinstance(viewer, str):
        return column == viewer  # type: ignore[no-any-return]
    return column.in_(sorted(viewer))  # type: ignore[no-any-return]


def viewer_sees(viewer: Viewer, enterprise: str | None) -> bool:
    """Whether ``viewer`` covers ``enterprise`` (None, the viewer of everything, covers all)."""
    if viewer is None:
        return True
    if enterprise is None:
        return False
    return enterprise == viewer if isinstance(viewer, str) else enterprise in viewer


def _visible_records(viewer: str | Set[str]) -> ColumnElement[bool]:
    return or_(viewer_matches(RecordRow.enterprise, viewer),
               viewer_matches(RecordRow.counterparty, viewer))


def entry_visible(session: Session, entry: Entry, viewer: Viewer) -> bool:
    """Whether ``viewer`` may read ``entry``: public types, its own, or naming it."""
    if viewer is None or entry.statement.type in PUBLIC_TYPES:
        return True
    if viewer_sees(viewer, entry.statement.enterprise):
        return True
    record = session.get(RecordRow, entry.seq)
    return record is not None and viewer_sees(viewer, record.counterparty)


def list_entries(session: Session, *, viewer: Viewer, limit: int,
                 after: tuple[Any, ...] | None = None, type_: str | None = None,
                 enterprise: str | None = None) -> Page:
    """Entries in seq order, filtered by type and asserting enterprise."""
    query = select(EntryRow.seq, EntryRow.body)
    if viewer is not None:
        query = query.outerjoin(RecordRow, RecordRow.seq == EntryRow.seq).where(or_(
            EntryRow.type.in_(PUBLIC_TYPES), viewer_matches(EntryRow.enterprise, viewer),
            viewer_matches(RecordRow.counterparty, viewer)))
    if type_:
        query = query.where(EntryRow.type == type_)
    if enterprise:
        query = query.where(EntryRow.enterprise == enterprise)
    if after:
        query = query.where(EntryRow.seq > after[0])
    rows = session.execute(query.order_by(EntryRow.seq).limit(limit + 1)).all()
    return _page(rows, limit, lambda row: (row.seq,),
                 lambda row: Entry.from_canonical(row.body).as_json())


def list_enterprises(session: Session, *, limit: int, after: tuple[Any, ...] | None = None,
                     district: str | None = None, role: str | None = None,
                     only: Set[str] | None = None) -> Page:
    """Registered enterprises (public), by USCC; ``only`` those (a district bureau's)."""
    query = select(EnterpriseRow)
    if only is not None:
        query = query.where(viewer_matches(EnterpriseRow.uscc, only))
    if district:
        query = query.where(EnterpriseRow.district.contains(district))
    if role:
        query = query.where(EnterpriseRow.roles.contains(role))
    return _page_by(session, query, EnterpriseRow.uscc, limit, after, lambda row: {
        "uscc": row.uscc, "name": row.name, "roles": row.roles.split(","),
        "district": row.district, "registered_seq": row.registered_seq})


def list_products(session: Session, *, limit: int, after: tuple[Any, ...] | None = None,
                  enterprise: str | None = None, category: str | None = None) -> Page:
    """Registered products (public), by GTIN."""
    query = select(ProductRow)
    if enterprise:
        query = query.where(ProductRow.enterprise == enterprise)
    if category:
        query = query.where(ProductRow.category == category)
    return _page_by(session, query, ProductRow.gtin, limit, after, lambda row: {
        "gtin": row.gtin, "name": row.name, "enterprise": row.enterprise,
        "category": row.category, "standard": row.standard, "spec": row.spec,
        "registered_seq": row.registered_seq})


def list_lots(session: Session, *, viewer: Viewer, limit: int,
              after: tuple[Any, ...] | None = None, gtin: str | None = None,
              inspection: str | None = None, holder: str | None = None,
              newest_first: bool = False) -> Page:
    """Lots with their product's name, inspection status and the stock held of them.

    A producer sees the lots it originated or holds stock of; ``holder`` narrows to one
    enterprise's stock. Pages go by (GTIN, lot), or by the seq that created the lot, newest
    first.
    """
    query = select(LotRow, ProductRow.name).outerjoin(
        ProductRow, ProductRow.gtin == LotRow.gtin)
    holders = select(StockRow.gtin, StockRow.lot)
    if viewer is not None:
        mine = tuple_(LotRow.gtin, LotRow.lot).in_(
            holders.where(viewer_matches(StockRow.enterprise, viewer)))
        query = query.where(or_(viewer_matches(LotRow.origin, viewer), mine))
    if holder:
        query = query.where(tuple_(LotRow.gtin, LotRow.lot).in_(
            holders.where(StockRow.enterprise == holder)))
    if gtin:
        query = query.where(LotRow.gtin == gtin)
    if inspection:
        query = query.where(LotRow.inspection == inspection)
    if newest_first:
        # origin_seq is unique: one entry creates at most one lot
        order: Any = (LotRow.origin_seq.desc(),)
        key: Callable[[Any], tuple[Any, ...]] = lambda row: (row[0].origin_seq,)  # noqa: E731
        if after:
            query = query.where(LotRow.origin_seq < after[0])
    else:
        order, key = (LotRow.gtin, LotRow.lot), lambda row: (row[0].gtin, row[0].lot)
        if after:
            query = query.where(tuple_(LotRow.gtin, LotRow.lot) > tuple_(*after))
    lots = session.execute(query.order_by(*order).limit(limit + 1)).all()
    page = _page(lots, limit, key, lambda row: {
        "gtin": row[0].gtin, "lot": row[0].lot, "product_name": row[1],
        "origin": row[0].origin, "origin_type": row[0].origin_type,
        "origin_seq": row[0].origin_seq, "quantity": row[0].quantity, "unit": row[0].unit,
        "produced_at": row[0].produced_at, "expiry": row[0].expiry,
        "inspection": row[0].inspection, "inspection_seq": row[0].inspection_seq,
        "intake_rejected": row[0].intake_rejected, "stock": {}})
    if page.items:
        keys = [(item["gtin"], item["lot"]) for item in page.items]
        stock = select(StockRow).where(tuple_(StockRow.gtin, StockRow.lot).in_(keys))
        if viewer is not None:
            stock = stock.where(viewer_matches(StockRow.enterprise, viewer))
        by_lot = {(item["gtin"], item["lot"]): item for item in page.items}
        for row in session.scalars(stock):
            by_lot[(row.gtin, row.lot)]["stock"][row.enterprise] = row.quantity
    return page


def unreceived_shipments(session: Session, *, viewer: Viewer, older_than: timedelta,
                         now: datetime, limit: int,
                         after: tuple[Any, ...] | None = None) -> Page:
    """Shipments still not (fully) received ``older_than`` after they were sent."""
    # recorded_at is UTC in one fixed format, so it compares as text; event times carry
    # whatever offset the shipper used.
    cutoff = rfc3339(now - older_than)
    query = select(RecordRow).join(EntryRow, EntryRow.seq == RecordRow.seq).where(and_(
        RecordRow.type == SHIPMENT, RecordRow.fully_received.is_(False),
        RecordRow.superseded_by.is_(None), EntryRow.recorded_at <= cutoff))
    if viewer is not None:
        query = query.where(_visible_records(viewer))
    return _page_by(session, query, RecordRow.seq, limit, after, lambda row: {
        "seq": row.seq, "shipper": row.enterprise, "receiver": row.counterparty,
        "gtin": row.gtin, "lot": row.lot, "quantity": row.quantity, "unit": row.unit,
        "received": row.received, "document_no": row.document_no,
        "shipped_at": row.event_time})


def notices_of(session: Session, seq: int) -> list[dict[str, Any]]:
    """The warnings and notices stored against an entry."""
    rows = session.scalars(select(NoticeRow).where(NoticeRow.seq == seq)
                           .order_by(NoticeRow.code))
    return [{"code": r.code, "level": r.level, "field": r.field, "message_zh": r.message_zh,
             "message_en": r.message_en} for r in rows]


@dataclass(frozen=True)
class Unit:
    """A serialised unit: its GS1 code ``(01)GTIN(21)serial``, lot, supervision code (None
    when it was serialised without one), the serialisation entry's seq, and the parent
    (case, pallet) it is packed in, if any."""

    code: str
    gtin: str
    lot: str
    serial: str
    supervision_code: str | None
    seq: int
    parent: str | None


def _unit(row: UnitRow) -> Unit | None:
    if row.gtin is None or row.lot is None:  # a logistic unit (case, pallet), not a serial one
        return None
    return Unit(code=row.code, gtin=row.gtin, lot=row.lot,
                serial=row.code[len(unit_code(row.gtin, "")):],
                supervision_code=row.supervision_code, seq=row.seq, parent=row.parent)


def find_unit(session: Session, *, gtin: str, serial: str) -> Unit | None:
    """The serial unit ``serial`` of GTIN ``gtin`` (14 digits), or None if never issued."""
    row = session.get(UnitRow, unit_code(gtin, serial))
    return None if row is None else _unit(row)


def find_unit_by_code(session: Session, supervision_code: str) -> Unit | None:
    """The unit whose 20-digit supervision code is ``supervision_code``, or None."""
    row = session.scalars(select(UnitRow).where(
        UnitRow.supervision_code == supervision_code)).one_or_none()
    return None if row is None else _unit(row)


def lot_units(session: Session, gtin: str, lot: str, *, limit: int | None = None,
              offset: int = 0) -> list[Unit]:
    """The serial units of a lot in the order they were issued (by serialisation entry, then
    supervision code, then code): ``limit`` of them from the ``offset``-th."""
    query = select(UnitRow).where(UnitRow.gtin == gtin, UnitRow.lot == lot).order_by(
        # NULLS FIRST spelled out: SQLite and PostgreSQL sort NULL at opposite ends
        UnitRow.seq, UnitRow.supervision_code.nulls_first(), UnitRow.code).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [unit for row in session.scalars(query) if (unit := _unit(row)) is not None]


def count_lot_units(session: Session, gtin: str, lot: str) -> int:
    """How many serial units the lot has."""
    return session.scalar(select(func.count()).select_from(UnitRow).where(
        UnitRow.gtin == gtin, UnitRow.lot == lot)) or 0


def product_by_number(session: Session, number: int) -> ProductRow | None:
    """The product whose number in the ledger (a supervision code's first six digits) is
    ``number``, or None."""
    return session.scalars(select(ProductRow).where(ProductRow.number == number)).one_or_none()
