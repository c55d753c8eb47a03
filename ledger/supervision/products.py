"""Rules for products: registration under one of the 69 categories, and additive filings
checked against the GB 2760 limits for the product's food category."""

from __future__ import annotations

from decimal import Decimal

from ledger.errors import EntryError
from ledger.supervision.context import RecordContext
from ledger.supervision.models import AdditiveFilingRow, CounterRow, ProductRow, RecordRow
from ledger.supervision.quantity import parse_amount
from ledger.supervision.rules import RuleViolation
from ledger.supervision.unit_codes import MAX_PRODUCT

__all__ = ["MAX_PRODUCT_NUMBER", "additive_filing", "correct_additive_filing",
           "correct_product", "product_registered"]

#: product numbers are the supervision code's first six digits
MAX_PRODUCT_NUMBER = MAX_PRODUCT
_PRODUCT_COUNTER = "product"


def product_registered(a: RecordContext, replacing: ProductRow | None = None) -> None:
    """Register a product (GTIN) under a supervised category, citing its standard."""
    gtin = a.text("gtin") if replacing is None else a.unchanged("gtin", replacing.gtin)
    category = a.text("category")
    if category not in a.reference.categories:
        raise RuleViolation("category.unknown", a.field("category"), category=category)
    if replacing is None and a.rows.get(ProductRow, gtin) is not None:
        raise RuleViolation("product.duplicate", a.field("gtin"), gtin=gtin)
    standard = a.text("standard")
    a.cite_standard(standard, a.field("standard"))
    product = replacing or ProductRow(gtin=gtin, enterprise=a.enterprise,
                                      registered_seq=a.entry.seq,
                                      number=_next_product_number(a), units_issued=0)
    product.name, product.category = a.text("name"), category
    product.standard, product.spec = standard, str(a.payload.get("spec", ""))
    if replacing is None:
        a.rows.add(product)
    a.record(gtin=gtin)


def _next_product_number(a: RecordContext) -> int:
    """The next product number, in registration order (so a rebuild gives the same)."""
    counter = a.rows.get(CounterRow, _PRODUCT_COUNTER)
    if counter is None:
        counter = CounterRow(name=_PRODUCT_COUNTER, value=0)
        a.rows.add(counter)
    if counter.value >= MAX_PRODUCT_NUMBER:
        raise RuleViolation("product.numbers_exhausted", a.field("gtin"),
                            limit=MAX_PRODUCT_NUMBER)
    counter.value += 1
    return counter.value


def _checked_filing(a: RecordContext) -> tuple[str, str, str | None, Decimal, str]:
    """The filing's GTIN, additive, INS number, level and unit, checked against GB 2760."""
    gtin = a.text("gtin")
    product = a.own_product(gtin)
    category = a.reference.category(product.category)
    if not a.reference.is_food(category.code):
        raise RuleViolation("additive.not_food", a.field("gtin"), gtin=gtin)
    additive = a.text("additive")
    ins = a.payload.get("ins") or None
    unit = a.text("unit")
    try:
        level = parse_amount(a.payload.get("level"))
        violation = a.reference.check_additive(category.code, additive, ins, level, unit)
    except EntryError as exc:  # the reference data names its own argument; say which field
        where = {"quantity": "level", "food_category_code": "gtin"}
        name = str((exc.field or ("level",))[0])
        raise EntryError(exc.message, field=a.field(where.get(name, name))) from None
    if violation is not None:
        params = {"additive": additive, "category_name": category.name_zh, "level": level,
                  "unit": unit, "limit": violation.max_level}
        if violation.kind == "not_permitted":
            raise RuleViolation("additive.not_permitted", a.field("additive"), **params)
        raise RuleViolation("additive.over_limit", a.field("level"), **params)
    return gtin, additive, ins, level, unit


def additive_filing(a: RecordContext) -> None:
    """File an additive for a food product, within the limits for its category; a later
    filing of the same additive replaces the earlier."""
    gtin, additive, ins, level, unit = _checked_filing(a)
    _file(a, a.rows.get(AdditiveFilingRow, (a.enterprise, gtin, additive)), gtin, additive, ins,
          level, unit)


def _file(a: RecordContext, filing: AdditiveFilingRow | None, gtin: str, additive: str,
          ins: str | None, level: Decimal, unit: str) -> None:
    if filing is None:
        filing = AdditiveFilingRow(enterprise=a.enterprise, gtin=gtin, additive=additive)
        a.rows.add(filing)
    filing.ins, filing.level, filing.unit, filing.seq = ins, str(level), unit, a.entry.seq
    a.record(gtin=gtin, additive=additive)


def correct_product(corrected: RecordContext, target: RecordRow) -> None:
    """Replace a product's registration details; its GTIN stays."""
    product_registered(corrected, replacing=corrected.product(target.gtin or ""))


def correct_additive_filing(corrected: RecordContext, target: RecordRow) -> None:
    """Replace a filing (for the same product; the additive itself may be what was wrong).

    Only a filing still in charge changes the live one: when a later filing of the additive
    replaced it, the correction fixes the record and leaves the later filing in charge.
    """
    corrected.unchanged("gtin", target.gtin)
    gtin, additive, ins, level, unit = _checked_filing(corrected)
    live = corrected.rows.get(AdditiveFilingRow, (target.enterprise, target.gtin,
                                                  target.additive))
    if live is None or live.seq != target.seq:
        corrected.record(gtin=gtin, additive=additive)
        return
    if additive != live.additive:  # the filing named the wrong additive
        corrected.rows.delete(live)
        live = corrected.rows.get(AdditiveFilingRow, (corrected.enterprise, gtin, additive))
    _file(corrected, live, gtin, additive, ins, level, unit)
