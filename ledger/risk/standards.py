"""Standards warnings (标准预警): what the ledger cites that is withdrawn or about to be
replaced, with the replacement and the enterprises concerned.

A product's executing standard (执行标准), an inspection's standard and a filing's (when it
names one) are read against the standards registry (``ledger.supervision.reference``) *as of
the day asked*, not as of the day they were recorded: a standard withdrawn since is flagged
now, though the entry was admitted without a warning then. Kinds, from the registry:
``withdrawn`` (a warning: cite the replacement), ``being_replaced`` (a notice: a successor is
published and takes effect on a known date) and ``not_yet_effective`` (a notice).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.log.entry import Entry
from ledger.log.storage import EnterpriseRow, EntryRow
from ledger.supervision.models import LotRow, ProductRow, RecordRow
from ledger.supervision.names import ADDITIVE_FILING, INSPECTION
from ledger.supervision.reference import load_reference, normalise_standard_number

__all__ = ["RECENT_RECORDS", "standards_warnings"]

#: inspections and filings read, newest first: what is still in use, not all of history
RECENT_RECORDS = 20_000
_ORDER = {"withdrawn": 0, "being_replaced": 1, "not_yet_effective": 2}


def standards_warnings(session: Session, *, on: date,
                       within: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One item per cited standard that deserves a warning on ``on``: the standard, the kind
    and message, its replacement (number, title, effective date) and every enterprise
    concerned (of ``within`` when given) with the products, inspections and filings that cite
    it. Withdrawn first, then being replaced, then not yet effective."""
    reference = load_reference()
    allowed = set(within) if within is not None else None
    citing: dict[str, dict[str, dict[str, Any]]] = {}

    def concern(number: str, enterprise: str) -> dict[str, Any] | None:
        if allowed is not None and enterprise not in allowed:
            return None
        return citing.setdefault(normalise_standard_number(number), {}).setdefault(
            enterprise, {"uscc": enterprise, "products": [], "inspections": [],
                         "filings": []})

    for product in session.scalars(select(ProductRow).order_by(ProductRow.gtin)):
        found = concern(product.standard, product.enterprise)
        if found is not None:
            found["products"].append({"gtin": product.gtin, "name": product.name})
    query = (select(RecordRow.seq, RecordRow.type, RecordRow.enterprise, RecordRow.gtin,
                    RecordRow.lot, EntryRow.body)
             .join(EntryRow, EntryRow.seq == RecordRow.seq)
             .where(RecordRow.type.in_([INSPECTION, ADDITIVE_FILING]),
                    RecordRow.superseded_by.is_(None))
             .order_by(RecordRow.seq.desc()).limit(RECENT_RECORDS))
    origins: dict[tuple[str, str], str] = {}
    for seq, type_, signer, gtin, lot, body in session.execute(query):
        standard = Entry.from_canonical(body).statement.payload.get("standard")
        if not isinstance(standard, str) or not standard.strip():
            continue
        if reference.standard_warning(standard, on) is None:
            continue
        # an inspection concerns the lot's producer (a regulator's spot check included)
        if type_ == INSPECTION and gtin and lot:
            if (gtin, lot) not in origins:
                made = session.get(LotRow, (gtin, lot))
                origins[(gtin, lot)] = made.origin if made is not None else signer
            enterprise = origins[(gtin, lot)]
        else:
            enterprise = signer
        found = concern(standard, enterprise)
        if found is not None:
            found["inspections" if type_ == INSPECTION else "filings"].append(
                {"seq": seq, "gtin": gtin, "lot": lot})
    names = {row.uscc: row for row in session.scalars(select(EnterpriseRow))}
    items: list[dict[str, Any]] = []
    for number, enterprises in citing.items():
        warning = reference.standard_warning(number, on)
        if warning is None:
            continue
        registered = reference.standard(number)
        replacement = reference.standard(warning.replaced_by) if warning.replaced_by else None
        concerned = []
        for uscc, found in sorted(enterprises.items()):
            row = names.get(uscc)
            concerned.append({**found, "name": row.name if row else uscc,
                              "district": row.district if row else None})
        items.append({
            "standard": number, "kind": warning.kind, "severity": warning.severity,
            "message": warning.message,
            "title_zh": registered.title_zh if registered else None,
            "title_en": registered.title_en if registered else None,
            "replaced_by": warning.replaced_by,
            "replacement_title_zh": replacement.title_zh if replacement else None,
            "replacement_title_en": replacement.title_en if replacement else None,
            "effective_from": warning.effective_from.isoformat()
            if warning.effective_from else None,
            "enterprises": concerned})
    items.sort(key=lambda item: (_ORDER[str(item["kind"])], str(item["standard"])))
    return items
