"""What the console's listings select: lots, records and enterprises, within a viewer's scope.

Each function returns a SQLAlchemy ``Select`` whose labelled columns are the listing's
fields; the web layer's listing helper (``web/console/listing.py``) adds the search, filters,
order and page on top. The scope is applied here, so no listing can forget it: ``viewer`` as
in :mod:`ledger.supervision.queries` (one enterprise, a district bureau's set of them, or
None for everything), ``only`` the enterprises a caller may see (``ledger.accounts.scope``).
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any, cast

from sqlalchemy import Numeric, Select, or_, select, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, aliased

from ledger.log.storage import EnterpriseRow
from ledger.supervision.models import LotRow, ProductRow, RecordRow, StockRow
from ledger.supervision.queries import Viewer, viewer_matches

__all__ = ["enterprise_listing", "lot_listing", "record_listing", "stock_held"]


def lot_listing(viewer: Viewer) -> Select[Any]:
    """Lots with their product and maker (the enterprise whose production or intake made the
    lot, by name and district): those the viewer made or holds stock of."""
    maker = aliased(EnterpriseRow)
    query = cast("Select[Any]", select(LotRow.gtin.label("gtin"), LotRow.lot.label("lot"),
                    ProductRow.name.label("product_name"),
                    ProductRow.category.label("category"),
                    LotRow.origin.label("origin"), maker.name.label("maker"),
                    maker.district.label("maker_district"),
                    LotRow.origin_type.label("origin_type"),
                    LotRow.origin_seq.label("origin_seq"),
                    LotRow.quantity.label("quantity"),
                    sql_cast(LotRow.quantity, Numeric).label("quantity_value"),
                    LotRow.unit.label("unit"), LotRow.produced_at.label("produced_at"),
                    LotRow.expiry.label("expiry"), LotRow.inspection.label("inspection"),
                    LotRow.serialized.label("serialized"))
             .outerjoin(ProductRow, ProductRow.gtin == LotRow.gtin)
             .outerjoin(maker, maker.uscc == LotRow.origin))
    if viewer is not None:
        held = select(StockRow.gtin, StockRow.lot).where(
            viewer_matches(StockRow.enterprise, viewer))
        query = query.where(or_(viewer_matches(LotRow.origin, viewer),
                                tuple_(LotRow.gtin, LotRow.lot).in_(held)))
    return query


def stock_held(session: Session, lots: list[tuple[str, str]],
               viewer: Viewer) -> dict[tuple[str, str], dict[str, str]]:
    """For each of ``lots`` (GTIN, lot), the stock each enterprise the viewer covers holds."""
    held: dict[tuple[str, str], dict[str, str]] = {key: {} for key in lots}
    if not lots:
        return held
    query = select(StockRow).where(tuple_(StockRow.gtin, StockRow.lot).in_(lots))
    if viewer is not None:
        query = query.where(viewer_matches(StockRow.enterprise, viewer))
    for row in session.scalars(query):
        held[(row.gtin, row.lot)][row.enterprise] = row.quantity
    return held


def record_listing(viewer: Viewer) -> Select[Any]:
    """Supervision records (newest corrections included, superseded ones marked) with the
    names of the enterprise that recorded them and of the counterparty: the viewer's own and
    those naming it."""
    party = aliased(EnterpriseRow)
    other = aliased(EnterpriseRow)
    query = cast("Select[Any]", select(RecordRow.seq.label("seq"), RecordRow.type.label("type"),
                    RecordRow.enterprise.label("enterprise"), party.name.label("enterprise_name"),
                    party.district.label("district"),
                    RecordRow.counterparty.label("counterparty"),
                    other.name.label("counterparty_name"), RecordRow.gtin.label("gtin"),
                    ProductRow.name.label("product_name"), RecordRow.lot.label("lot"),
                    RecordRow.quantity.label("quantity"), RecordRow.unit.label("unit"),
                    RecordRow.document_no.label("document_no"),
                    RecordRow.verdict.label("verdict"),
                    RecordRow.event_time.label("event_time"),
                    RecordRow.superseded_by.label("superseded_by"))
             .outerjoin(party, party.uscc == RecordRow.enterprise)
             .outerjoin(other, other.uscc == RecordRow.counterparty)
             .outerjoin(ProductRow, ProductRow.gtin == RecordRow.gtin))
    if viewer is not None:
        query = query.where(or_(viewer_matches(RecordRow.enterprise, viewer),
                                viewer_matches(RecordRow.counterparty, viewer)))
    return query


def enterprise_listing(only: Set[str] | None) -> Select[Any]:
    """Registered enterprises (``only`` those, when given: a district bureau's)."""
    query = cast("Select[Any]", select(
        EnterpriseRow.uscc.label("uscc"), EnterpriseRow.name.label("name"),
        EnterpriseRow.district.label("district"), EnterpriseRow.roles.label("roles"),
        EnterpriseRow.registered_seq.label("registered_seq")))
    if only is not None:
        query = query.where(viewer_matches(EnterpriseRow.uscc, only))
    return query
