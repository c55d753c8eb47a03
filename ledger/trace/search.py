"""Finding the lots an incident is about (事故处置): from what a regulator knows first — a lot
code, a product (its GTIN or part of its name), an enterprise (its USCC or part of its name) —
to the lots on the ledger, the likeliest first.

A reader of the supervision projections, like the trace itself. Unit codes are read by the
caller (``web/`` parses what people type or scan with :mod:`scanners.codes`) and looked up
with :func:`unit_lots`, which answers with the lot of a serial unit or the lots packed in an
aggregate (a case, a pallet).

The order is the one a bureau works in: lots that failed an inspection first, then lots under
an open recall, then the most recently made; ties by GTIN and lot, so a page is stable.
``visible`` narrows every answer to lots a district bureau may see (made by, or held by, one
of those enterprises); ``None`` is everything (the city bureau).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, case, false, func, or_, select, tuple_
from sqlalchemy.orm import Session

from ledger.log.storage import EnterpriseRow
from ledger.supervision.models import LotRecallRow, LotRow, ProductRow, StockRow, UnitRow
from ledger.trace.result import LotKey

__all__ = ["LOT", "MATCHES", "PRODUCT", "ENTERPRISE", "UNIT", "FoundLots", "LotMatch",
           "find_lots", "lots_by_keys", "unit_lots"]

#: what a lot was found by
LOT, PRODUCT, ENTERPRISE, UNIT = "lot", "product", "enterprise", "unit"
MATCHES = (LOT, PRODUCT, ENTERPRISE, UNIT)


@dataclass(frozen=True)
class LotMatch:
    """A lot found, with what a regulator decides on: what it is, who made it, when, its
    latest inspection verdict and whether a recall covers it (``open`` / ``closed`` /
    ``none``)."""

    gtin: str
    lot: str
    product: str | None  # None for material not registered as a product
    category: str | None
    origin: str  # the producer, or for material taken in, its supplier
    origin_name: str | None  # None when the origin is off the ledger
    origin_type: str  # production / material_intake
    quantity: str
    unit: str
    produced_at: str | None
    inspection: str  # none / pass / fail
    recall: str  # none / open / closed
    matched: str  # one of MATCHES


@dataclass(frozen=True)
class FoundLots:
    """A page of lots found: ``total`` is how many matched in all, ``lots`` the first
    ``limit`` of them in order."""

    lots: tuple[LotMatch, ...]
    total: int

    @property
    def truncated(self) -> bool:
        """Whether more lots matched than are listed."""
        return self.total > len(self.lots)


def _visible(query: Select[LotRow], visible: Collection[str] | None
             ) -> Select[LotRow]:
    if visible is None:
        return query
    held = select(StockRow.gtin, StockRow.lot).where(StockRow.enterprise.in_(sorted(visible)))
    return query.where(or_(LotRow.origin.in_(sorted(visible)),
                           tuple_(LotRow.gtin, LotRow.lot).in_(held)))


def _page(session: Session, query: Select[LotRow], matched: dict[LotKey, str],
          limit: int) -> FoundLots:
    recall = (select(LotRecallRow.open_count).where(LotRecallRow.gtin == LotRow.gtin,
                                                    LotRecallRow.lot == LotRow.lot)
              .scalar_subquery())
    # The count rides along as a window over the same pass: one scan for the page and total.
    ordered = query.add_columns(func.count().over()).order_by(
        case((LotRow.inspection == "fail", 0), else_=1),
        case((func.coalesce(recall, 0) > 0, 0), else_=1),
        LotRow.produced_at.desc().nulls_last(), LotRow.gtin, LotRow.lot).limit(limit)
    found = session.execute(ordered).all()
    rows = [row for row, _total in found]
    total = found[0][1] if found else 0
    return FoundLots(tuple(_describe(session, rows, matched)), total)


def _describe(session: Session, rows: list[LotRow], matched: dict[LotKey, str]
              ) -> list[LotMatch]:
    if not rows:
        return []
    products = {row.gtin: row for row in session.scalars(
        select(ProductRow).where(ProductRow.gtin.in_({row.gtin for row in rows})))}
    names: dict[str, str] = {uscc: name for uscc, name in session.execute(
        select(EnterpriseRow.uscc, EnterpriseRow.name).where(
            EnterpriseRow.uscc.in_({row.origin for row in rows})))}
    recalls = {(status.gtin, status.lot): status for status in session.scalars(
        select(LotRecallRow).where(tuple_(LotRecallRow.gtin, LotRecallRow.lot).in_(
            [(row.gtin, row.lot) for row in rows])))}
    found = []
    for row in rows:
        product = products.get(row.gtin)
        status = recalls.get((row.gtin, row.lot))
        found.append(LotMatch(
            gtin=row.gtin, lot=row.lot, product=product.name if product else None,
            category=product.category if product else None, origin=row.origin,
            origin_name=names.get(row.origin), origin_type=row.origin_type,
            quantity=row.quantity, unit=row.unit, produced_at=row.produced_at,
            inspection=row.inspection,
            recall="none" if status is None else "open" if status.open_count else "closed",
            matched=matched.get(LotKey(row.gtin, row.lot), LOT)))
    return found


def find_lots(session: Session, text: str, *, visible: Collection[str] | None = None,
              limit: int = 50) -> FoundLots:
    """The lots ``text`` names, the likeliest first.

    ``text`` is matched, case-insensitively, against lot codes (the whole code or its start),
    GTINs, product names (any part), USCCs and enterprise names (any part): a lot is found
    when it has the code, or is of such a product, or was made (or taken in) or held by such
    an enterprise. Each lot says which it was found by, the first of lot, product, enterprise.
    """
    # No control character is in any name or code, and PostgreSQL refuses a NUL outright.
    text = "".join(char for char in text if char.isprintable()).strip()
    if not text:
        return FoundLots((), 0)
    folded = text.lower()  # as SQL lower() folds it (SQLite: ASCII only, as lot codes are)
    by_lot = or_(func.lower(LotRow.lot) == folded,
                 func.lower(LotRow.lot).startswith(folded, autoescape=True))
    products = select(ProductRow.gtin).where(or_(
        ProductRow.gtin == text.zfill(14) if text.isdigit() and len(text) <= 14 else false(),
        func.lower(ProductRow.name).contains(folded, autoescape=True)))
    enterprises = select(EnterpriseRow.uscc).where(or_(
        func.upper(EnterpriseRow.uscc) == text.upper(),
        func.lower(EnterpriseRow.name).contains(folded, autoescape=True)))
    by_product = LotRow.gtin.in_(products)
    # made (or taken in) by such an enterprise, or held by it: a shop makes nothing
    by_enterprise = or_(LotRow.origin.in_(enterprises), tuple_(LotRow.gtin, LotRow.lot).in_(
        select(StockRow.gtin, StockRow.lot).where(StockRow.enterprise.in_(enterprises))))
    query = _visible(select(LotRow).where(or_(by_lot, by_product, by_enterprise)), visible)
    page = _page(session, query, {}, limit)
    # What each listed lot was found by, for the page to say (cheap: one page of lots).
    keys = [LotKey(lot.gtin, lot.lot) for lot in page.lots]
    if not keys:
        return page
    pairs = tuple_(LotRow.gtin, LotRow.lot).in_(keys)
    found: dict[LotKey, str] = {}
    for matched, condition in ((ENTERPRISE, by_enterprise), (PRODUCT, by_product),
                               (LOT, by_lot)):  # the last written wins: lot, then product
        for gtin, lot in session.execute(select(LotRow.gtin, LotRow.lot).where(pairs,
                                                                              condition)):
            found[LotKey(gtin, lot)] = matched
    return FoundLots(tuple(_with(lot, found) for lot in page.lots), page.total)


def _with(lot: LotMatch, found: dict[LotKey, str]) -> LotMatch:
    matched = found.get(LotKey(lot.gtin, lot.lot), lot.matched)
    return lot if matched == lot.matched else LotMatch(**{**lot.__dict__, "matched": matched})


def lots_by_keys(session: Session, keys: Collection[LotKey], *, matched: str = LOT,
                 visible: Collection[str] | None = None, limit: int = 50) -> FoundLots:
    """The lots ``keys`` (those on the ledger and visible), in the search's order."""
    if not keys:
        return FoundLots((), 0)
    query = _visible(select(LotRow).where(tuple_(LotRow.gtin, LotRow.lot).in_(sorted(keys))),
                     visible)
    return _page(session, query, dict.fromkeys(keys, matched), limit)


def unit_lots(session: Session, code: str) -> set[LotKey] | None:
    """The lot of the serial unit ``code`` (a GS1 element string ``(01)…(21)…`` as the ledger
    stores it, or a 20-digit supervision code), or the lots of the serial units packed at any
    level inside the aggregate ``code`` (``(00)`` SSCC …); None when no unit has the code."""
    row = session.get(UnitRow, code)
    if row is None and len(code) == 20 and code.isdigit():
        row = session.scalars(select(UnitRow).where(UnitRow.supervision_code == code)
                              ).one_or_none()
    if row is None:
        return None
    if row.gtin is not None and row.lot is not None:
        return {LotKey(row.gtin, row.lot)}
    lots: set[LotKey] = set()
    seen, level = {row.code}, {row.code}
    while level:
        children = list(session.execute(select(UnitRow.code, UnitRow.gtin, UnitRow.lot).where(
            UnitRow.parent.in_(sorted(level)))))
        lots |= {LotKey(gtin, lot) for _code, gtin, lot in children
                 if gtin is not None and lot is not None}
        level = {child for child, _gtin, _lot in children} - seen
        seen |= level
    return lots
