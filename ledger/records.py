"""Supervision records: the rules each record must pass, and the projections it updates.

Every entry is *admitted* here after its signature is checked: the rules for its type read the
projections (products, lots, stock, shipments …) as they stand after every earlier entry,
including earlier items of the same batch, and either reject it with a :class:`RuleViolation`
or let it through with zero or more :class:`Notice` s. Then its effects are applied to the
projections. ``rebuild`` replays the whole ledger through the very same function, which is why
the projections can always be recomputed from the ledger alone.

Each rule has a stable code and a message in zh-CN and English (:data:`RULES`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import delete, inspect, select, tuple_
from sqlalchemy.orm import Session

from ledger.entry import Entry, Statement
from ledger.errors import LedgerError
from ledger.identity import ENTERPRISE_REGISTERED, KEY_REGISTERED, KEY_REVOKED
from ledger.models import (
    AdditiveFilingRow,
    EnterpriseRow,
    KeyRow,
    LotInputRow,
    LotRow,
    NoticeRow,
    ProductRow,
    RecordRow,
    StockRow,
    UnitRow,
)
from ledger.quantity import base_quantity, format_quantity
from ledger.reference import ReferenceData

_Row = TypeVar("_Row")

__all__ = ["PROJECTIONS", "RECORD_TYPES", "RULES", "Notice", "RowCache", "RuleViolation",
           "admit_record",
           "clear_projections", "unit_code"]

#: code -> (zh-CN message, English message); ``{name}`` fields are filled from the rule.
RULES: dict[str, tuple[str, str]] = {
    "product.duplicate": ("商品条码 {gtin} 已登记", "GTIN {gtin} is already registered"),
    "product.unknown": ("商品条码 {gtin} 未登记", "GTIN {gtin} is not registered"),
    "product.not_owner": ("商品 {gtin} 由 {owner} 登记，不属于本企业",
                          "product {gtin} is registered by {owner}, not by this enterprise"),
    "category.unknown": ("产品类别 {category} 不在 69 类目录中",
                         "category {category} is not one of the 69 supervised categories"),
    "additive.not_food": ("{gtin} 不是食品，无需添加剂备案",
                          "{gtin} is not a food product; additive filings are for food"),
    "additive.not_permitted": ("添加剂 {additive} 不允许用于 {category_name}",
                               "additive {additive} is not permitted in {category_name}"),
    "additive.over_limit": ("添加剂 {additive} 用量 {level} {unit} 超过最大使用量 {limit} {unit}",
                            "additive {additive} at {level} {unit} exceeds the maximum "
                            "{limit} {unit}"),
    "additive.not_filed": ("添加剂 {additive} 未备案，不得使用",
                           "additive {additive} is used without a filing for {gtin}"),
    "lot.duplicate": ("批次 {gtin}/{lot} 已存在", "lot {gtin}/{lot} already exists"),
    "lot.unknown": ("批次 {gtin}/{lot} 不存在", "lot {gtin}/{lot} is not on the ledger"),
    "unit.mismatch": ("批次 {lot} 以 {expected} 计量，不能用 {got}",
                      "lot {lot} is measured in {expected}, not {got}"),
    "material.rejected": ("原料批次 {gtin}/{lot} 进厂验收不合格，不得投产",
                          "input lot {gtin}/{lot} was rejected at intake and may not be used"),
    "material.failed_inspection": ("投入批次 {gtin}/{lot} 检验不合格，不得投产",
                                   "input lot {gtin}/{lot} failed inspection and may not be "
                                   "used"),
    "stock.insufficient": ("批次 {gtin}/{lot} 库存不足：现有 {have} {unit}，需要 {need} {unit}",
                           "not enough of lot {gtin}/{lot}: {have} {unit} held, {need} {unit} "
                           "needed"),
    "shipment.not_inspected": ("批次 {gtin}/{lot} 无合格检验记录，不合格产品不出厂",
                               "lot {gtin}/{lot} has no passing inspection and may not ship"),
    "shipment.failed_inspection": ("批次 {gtin}/{lot} 最近一次检验不合格，不合格产品不出厂",
                                   "lot {gtin}/{lot} failed its latest inspection and may not "
                                   "ship"),
    "inspection.verdict_mismatch": ("检验项目 {item} 不合格，结论不能为合格",
                                    "item {item} failed, so the verdict cannot be pass"),
    "receipt.no_shipment": ("没有 {counterparty} 发往本企业的批次 {gtin}/{lot} 发货记录",
                            "no shipment of lot {gtin}/{lot} from {counterparty} to this "
                            "enterprise"),
    "receipt.exceeds_shipment": ("收货 {need} {unit} 超过未收发货量 {have} {unit}",
                                 "receipt of {need} {unit} exceeds the {have} {unit} shipped "
                                 "and not yet received"),
    "unit.duplicate": ("单品码 {code} 已存在", "unit code {code} already exists"),
    "unit.unknown": ("单品码 {code} 不存在", "unit code {code} is not on the ledger"),
    "correction.unknown": ("被更正的记录 seq {target} 不存在", "no record at seq {target}"),
    "correction.not_own": ("只能更正本企业的记录", "an enterprise corrects only its own records"),
    "correction.unsupported": ("{type} 记录不能更正，请登记反向记录",
                               "{type} records cannot be corrected; record a compensating "
                               "entry instead"),
    "correction.superseded": ("记录 seq {target} 已被 seq {by} 更正",
                              "record {target} was already superseded by seq {by}"),
    "correction.already_received": ("发货 seq {target} 已有收货，不能更正，请登记反向记录",
                                    "shipment {target} was already (partly) received; record "
                                    "a compensating entry instead"),
    "standard.withdrawn": ("执行标准 {standard} 已废止{replacement_zh}",
                           "standard {standard} is withdrawn{replacement_en}"),
    "standard.being_replaced": ("执行标准 {standard} 将被 {replaced_by} 代替",
                                "standard {standard} is being replaced by {replaced_by}"),
    "standard.not_yet_effective": ("执行标准 {standard} 尚未实施（{effective_from} 起实施）",
                                   "standard {standard} is not in force until "
                                   "{effective_from}"),
}


def _messages(code: str, params: Mapping[str, Any]) -> tuple[str, str]:
    zh, en = RULES[code]
    return zh.format(**params), en.format(**params)


class RuleViolation(LedgerError):
    """A supervision rule rejects the entry; ``code`` names the rule."""

    def __init__(self, rule: str, field: str | None, /, **params: Any) -> None:
        self.message_zh, message = _messages(rule, params)
        super().__init__(message, field=field)
        self.code = f"rule.{rule}"


@dataclass(frozen=True)
class Notice:
    """A warning or notice a rule attaches to an entry it lets through."""

    code: str
    level: str
    field: str | None
    message_zh: str
    message_en: str

    @classmethod
    def of(cls, rule: str, level: str, field: str | None, /, **params: Any) -> Notice:
        """Build the notice of ``rule`` with its messages filled in."""
        return cls(f"rule.{rule}", level, field, *_messages(rule, params))


class RowCache:
    """The projection rows a batch reads and writes, looked up once and flushed once.

    A session does not find objects it has not flushed yet, and flushing after every entry
    is what made appends slow; this cache hands later entries of the batch the rows that
    earlier entries created, remembering misses too.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._rows: dict[tuple[type[Any], tuple[Any, ...]], Any] = {}

    def get(self, model: type[_Row], key: Any) -> _Row | None:
        """The row of ``model`` with primary key ``key`` (a value or a tuple), or None."""
        cache_key = (model, key if isinstance(key, tuple) else (key,))
        if cache_key not in self._rows:
            self._rows[cache_key] = self.session.get(model, key)
        row: _Row | None = self._rows[cache_key]
        return row

    def prefetch(self, statements: Sequence[Statement]) -> None:
        """Load, in one query per table, the rows these statements' rules will look up.

        Purely an optimisation: a row not prefetched is still found by ``get``.
        """
        wanted: dict[type[Any], set[tuple[Any, ...]]] = {}
        for statement in statements:
            for model, key in _rows_touched(statement):
                if (model, key) not in self._rows:
                    wanted.setdefault(model, set()).add(key)
        for model, keys in wanted.items():
            columns = inspect(model).primary_key
            for chunk in _chunks(sorted(keys), 500):
                if len(columns) == 1:
                    where = columns[0].in_([key[0] for key in chunk])
                else:
                    where = tuple_(*columns).in_(chunk)
                for row in self.session.scalars(select(model).where(where)):
                    self._rows[(model, tuple(inspect(model).primary_key_from_instance(row)))] \
                        = row
            for key in keys:
                self._rows.setdefault((model, key), None)

    def add(self, row: Any) -> None:
        """Add a new row; later ``get`` calls of this batch find it."""
        key = tuple(inspect(type(row)).primary_key_from_instance(row))
        self.session.add(row)
        self._rows[(type(row), key)] = row

    def flush(self) -> None:
        """Write what the batch added and changed so far."""
        self.session.flush()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _rows_touched(statement: Statement) -> Iterator[tuple[type[Any], tuple[Any, ...]]]:
    """The projection rows the rules for ``statement`` will read (for prefetching)."""
    payload, enterprise = statement.payload, statement.enterprise
    if statement.type == "aggregation":
        for code in [payload.get("parent"), *payload.get("children", [])]:
            yield UnitRow, (code,)
    gtin, lot = payload.get("gtin"), payload.get("lot")
    if not isinstance(gtin, str):
        return
    yield ProductRow, (gtin,)
    if isinstance(lot, str):
        yield LotRow, (gtin, lot)
        yield StockRow, (enterprise, gtin, lot)
    if statement.type == "serialization":
        for serial in payload.get("serials", []):
            yield UnitRow, (unit_code(gtin, str(serial)),)
    for source in payload.get("inputs", []) if statement.type == "production" else []:
        if isinstance(source, Mapping):
            yield LotRow, (source.get("gtin"), source.get("lot"))
            yield StockRow, (enterprise, source.get("gtin"), source.get("lot"))


class _Admission:
    """The state one entry is checked and applied against."""

    def __init__(self, rows: RowCache, entry: Entry, reference: ReferenceData) -> None:
        self.rows = rows
        self.session = rows.session
        self.entry = entry
        self.reference = reference
        self.enterprise = entry.statement.enterprise
        self.payload: Mapping[str, Any] = entry.statement.payload
        #: the record this entry makes: its own type, or for a correction the corrected type
        self.record_type = entry.statement.type
        self.notices: list[Notice] = []

    # -- reading ---------------------------------------------------------------------------

    def text(self, name: str, payload: Mapping[str, Any] | None = None,
             prefix: str = "payload") -> str:
        value = (self.payload if payload is None else payload).get(name)
        if not isinstance(value, str) or not value:
            raise LedgerError(f"{prefix}.{name} must be a non-empty string",
                              field=f"{prefix}.{name}")
        return value

    def product(self, gtin: str, field: str = "payload.gtin") -> ProductRow:
        product = self.rows.get(ProductRow, gtin)
        if product is None:
            raise RuleViolation("product.unknown", field, gtin=gtin)
        return product

    def own_product(self, gtin: str) -> ProductRow:
        product = self.product(gtin)
        if product.enterprise != self.enterprise:
            raise RuleViolation("product.not_owner", "payload.gtin", gtin=gtin,
                                owner=product.enterprise)
        return product

    def lot(self, gtin: str, lot: str, field: str = "payload.lot") -> LotRow:
        row = self.rows.get(LotRow, (gtin, lot))
        if row is None:
            raise RuleViolation("lot.unknown", field, gtin=gtin, lot=lot)
        return row

    def quantity(self, payload: Mapping[str, Any] | None = None,
                 prefix: str = "payload") -> tuple[Decimal, str]:
        source = self.payload if payload is None else payload
        return base_quantity(source.get("quantity"), source.get("unit"),
                             field=f"{prefix}.quantity")

    def event_day(self) -> date:
        moment = self.entry.statement.event_time.upper().replace("Z", "+00:00")
        return datetime.fromisoformat(moment).date()

    # -- rules shared by several types ------------------------------------------------------

    def cite_standard(self, number: str, field: str) -> None:
        warning = self.reference.standard_warning(number, self.event_day())
        if warning is None:
            return
        code = f"standard.{warning.kind}"
        replaced_by = warning.replaced_by or ""
        self.notices.append(Notice.of(
            code, warning.severity, field, standard=number, replaced_by=replaced_by,
            replacement_zh=f"，由 {replaced_by} 代替" if replaced_by else "",
            replacement_en=f", replaced by {replaced_by}" if replaced_by else "",
            effective_from=warning.effective_from or ""))

    def take_stock(self, gtin: str, lot: str, need: Decimal, unit: str, field: str) -> None:
        stock = self.rows.get(StockRow, (self.enterprise, gtin, lot))
        have = Decimal(stock.quantity) if stock is not None else Decimal(0)
        if stock is not None and stock.unit != unit:
            raise RuleViolation("unit.mismatch", field, lot=lot, expected=stock.unit, got=unit)
        if have < need:
            raise RuleViolation("stock.insufficient", field, gtin=gtin, lot=lot, unit=unit,
                                have=format_quantity(have), need=format_quantity(need))
        assert stock is not None  # noqa: S101 - have >= need > 0 means a row exists
        stock.quantity = format_quantity(have - need)

    def add_stock(self, enterprise: str, gtin: str, lot: str, amount: Decimal,
                  unit: str) -> None:
        stock = self.rows.get(StockRow, (enterprise, gtin, lot))
        if stock is None:
            self.rows.add(StockRow(enterprise=enterprise, gtin=gtin, lot=lot,
                                      quantity=format_quantity(amount), unit=unit))
        else:
            if stock.unit != unit:
                raise RuleViolation("unit.mismatch", "payload.unit", lot=lot,
                                    expected=stock.unit, got=unit)
            stock.quantity = format_quantity(Decimal(stock.quantity) + amount)

    def record(self, **columns: Any) -> RecordRow:
        row = RecordRow(seq=self.entry.seq, type=self.record_type,
                        enterprise=self.enterprise, event_time=self.entry.statement.event_time,
                        superseded_by=None, **columns)
        self.rows.add(row)
        return row


# --- one admission function per record type ------------------------------------------------


def _enterprise_registered(a: _Admission) -> None:
    payload = a.payload
    a.rows.add(EnterpriseRow(uscc=payload["uscc"], name=str(payload.get("name", "")),
                                roles=",".join(payload.get("roles", [])),
                                district=str(payload.get("district", "")),
                                registered_seq=a.entry.seq))


def _key_registered(a: _Admission) -> None:
    payload = a.payload
    a.rows.add(KeyRow(key_id=payload["key_id"], enterprise=payload["enterprise"],
                         public_key=base64.b64decode(payload["public_key"]),
                         registered_seq=a.entry.seq, revoked_seq=None))


def _key_revoked(a: _Admission) -> None:
    key = a.rows.get(KeyRow, a.payload["key_id"])
    if key is not None:
        key.revoked_seq = a.entry.seq


def _product_registered(a: _Admission, replacing: ProductRow | None = None) -> None:
    gtin = a.text("gtin")
    category = a.text("category")
    if category not in a.reference.categories:
        raise RuleViolation("category.unknown", "payload.category", category=category)
    if replacing is None and a.rows.get(ProductRow, gtin) is not None:
        raise RuleViolation("product.duplicate", "payload.gtin", gtin=gtin)
    standard = a.text("standard")
    a.cite_standard(standard, "payload.standard")
    product = replacing or ProductRow(gtin=gtin, enterprise=a.enterprise,
                                      registered_seq=a.entry.seq)
    product.name, product.category = a.text("name"), category
    product.standard, product.spec = standard, str(a.payload.get("spec", ""))
    if replacing is None:
        a.rows.add(product)
        a.record(gtin=gtin)


def _material_intake(a: _Admission) -> None:
    gtin, lot = a.text("gtin"), a.text("lot")
    amount, unit = a.quantity()
    accepted = bool(a.payload.get("accepted", True))
    supplier = a.text("supplier")
    if a.rows.get(LotRow, (gtin, lot)) is None:
        a.rows.add(LotRow(gtin=gtin, lot=lot, origin=supplier, origin_type="material_intake",
                             origin_seq=a.entry.seq, quantity=format_quantity(amount), unit=unit,
                             produced_at=None, expiry=None, inspection="none",
                             inspection_seq=None, intake_rejected=not accepted))
    elif not accepted:
        a.lot(gtin, lot).intake_rejected = True
    if accepted:
        a.add_stock(a.enterprise, gtin, lot, amount, unit)
    a.record(gtin=gtin, lot=lot, counterparty=supplier, quantity=format_quantity(amount),
             unit=unit, status="accepted" if accepted else "rejected",
             document_no=a.payload.get("certificate"))


def _additive_filing(a: _Admission, replacing: AdditiveFilingRow | None = None) -> None:
    gtin = a.text("gtin")
    product = a.own_product(gtin)
    category = a.reference.category(product.category)
    if not a.reference.is_food(category.code):
        raise RuleViolation("additive.not_food", "payload.gtin", gtin=gtin)
    additive = a.text("additive")
    ins = a.payload.get("ins") or None
    level = Decimal(str(a.payload.get("level")))
    unit = a.text("unit")
    violation = a.reference.check_additive(category.code, additive, ins, level, unit)
    if violation is not None:
        params = {"additive": additive, "category_name": category.name_zh, "level": level,
                  "unit": unit, "limit": violation.max_level}
        if violation.kind == "not_permitted":
            raise RuleViolation("additive.not_permitted", "payload.additive", **params)
        raise RuleViolation("additive.over_limit", "payload.level", **params)
    filing = replacing or a.rows.get(AdditiveFilingRow, (a.enterprise, gtin, additive))
    if filing is None:
        filing = AdditiveFilingRow(enterprise=a.enterprise, gtin=gtin, additive=additive)
        a.rows.add(filing)
    filing.ins, filing.level, filing.unit, filing.seq = ins, str(level), unit, a.entry.seq
    if replacing is None:
        a.record(gtin=gtin, status=additive)


def _production(a: _Admission) -> None:
    gtin, lot = a.text("gtin"), a.text("lot")
    product = a.own_product(gtin)
    if a.rows.get(LotRow, (gtin, lot)) is not None:
        raise RuleViolation("lot.duplicate", "payload.lot", gtin=gtin, lot=lot)
    amount, unit = a.quantity()
    category = a.reference.category(product.category)
    if category.needs_additive_filing:
        for index, additive in enumerate(a.payload.get("additives_used", [])):
            filed = a.rows.get(AdditiveFilingRow, (a.enterprise, gtin, additive))
            if filed is None:
                raise RuleViolation("additive.not_filed", f"payload.additives_used[{index}]",
                                    additive=additive, gtin=gtin)
    for index, source in enumerate(a.payload.get("inputs", [])):
        prefix = f"payload.inputs[{index}]"
        in_gtin, in_lot = a.text("gtin", source, prefix), a.text("lot", source, prefix)
        used = a.lot(in_gtin, in_lot, f"{prefix}.lot")
        if used.intake_rejected:
            raise RuleViolation("material.rejected", f"{prefix}.lot", gtin=in_gtin, lot=in_lot)
        if used.inspection == "fail":
            raise RuleViolation("material.failed_inspection", f"{prefix}.lot", gtin=in_gtin,
                                lot=in_lot)
        need, in_unit = a.quantity(source, prefix)
        a.take_stock(in_gtin, in_lot, need, in_unit, f"{prefix}.quantity")
        a.rows.add(LotInputRow(seq=a.entry.seq, position=index, output_gtin=gtin,
                                  output_lot=lot, input_gtin=in_gtin, input_lot=in_lot,
                                  quantity=format_quantity(need), unit=in_unit))
    a.rows.add(LotRow(gtin=gtin, lot=lot, origin=a.enterprise, origin_type="production",
                         origin_seq=a.entry.seq, quantity=format_quantity(amount), unit=unit,
                         produced_at=a.payload.get("produced_at"),
                         expiry=a.payload.get("expiry"), inspection="none",
                         inspection_seq=None, intake_rejected=False))
    a.add_stock(a.enterprise, gtin, lot, amount, unit)
    a.record(gtin=gtin, lot=lot, quantity=format_quantity(amount), unit=unit)


def _inspection(a: _Admission, replacing: RecordRow | None = None) -> None:
    gtin, lot = a.text("gtin"), a.text("lot")
    row = a.lot(gtin, lot)
    verdict = a.text("verdict")
    for index, item in enumerate(a.payload.get("items", [])):
        if verdict == "pass" and item.get("pass") is False:
            raise RuleViolation("inspection.verdict_mismatch", f"payload.items[{index}].pass",
                                item=item.get("name", index))
    if a.payload.get("standard"):
        a.cite_standard(a.text("standard"), "payload.standard")
    # The lot's status is its latest inspection, so a later pass clears an earlier failure
    # and a failure found after the fact (the melamine case) marks the lot at once.
    if replacing is None or row.inspection_seq == replacing.seq:
        row.inspection, row.inspection_seq = verdict, a.entry.seq
    if replacing is None:
        a.record(gtin=gtin, lot=lot, status=verdict, document_no=a.payload.get("report_no"),
                 counterparty=a.payload.get("lab_uscc"))


def _shipment(a: _Admission) -> None:
    gtin, lot = a.text("gtin"), a.text("lot")
    amount, unit = a.quantity()
    row = a.lot(gtin, lot)
    product = a.rows.get(ProductRow, gtin)
    if product is not None and a.reference.category(
            product.category).needs_lot_inspection_before_shipment:
        if row.inspection == "none":
            raise RuleViolation("shipment.not_inspected", "payload.lot", gtin=gtin, lot=lot)
        if row.inspection == "fail":
            raise RuleViolation("shipment.failed_inspection", "payload.lot", gtin=gtin, lot=lot)
    a.take_stock(gtin, lot, amount, unit, "payload.quantity")
    a.record(gtin=gtin, lot=lot, counterparty=a.text("counterparty"),
             quantity=format_quantity(amount), unit=unit,
             document_no=a.payload.get("document_no"), status="open", received="0")


def _receipt(a: _Admission) -> None:
    gtin, lot = a.text("gtin"), a.text("lot")
    amount, unit = a.quantity()
    shipper = a.text("counterparty")
    query = select(RecordRow).where(
        RecordRow.type == "shipment", RecordRow.enterprise == shipper,
        RecordRow.counterparty == a.enterprise, RecordRow.gtin == gtin, RecordRow.lot == lot,
        RecordRow.status == "open", RecordRow.superseded_by.is_(None)).order_by(RecordRow.seq)
    if a.payload.get("document_no"):
        query = query.where(RecordRow.document_no == a.payload["document_no"])
    a.rows.flush()  # earlier shipments of this batch must be visible to the query
    open_shipments = list(a.session.scalars(query))
    if not open_shipments:
        raise RuleViolation("receipt.no_shipment", "payload.counterparty", gtin=gtin, lot=lot,
                            counterparty=shipper)
    outstanding = sum((Decimal(s.quantity or 0) - Decimal(s.received or 0)
                       for s in open_shipments), Decimal(0))
    if amount > outstanding:
        raise RuleViolation("receipt.exceeds_shipment", "payload.quantity", unit=unit,
                            need=format_quantity(amount), have=format_quantity(outstanding))
    remaining = amount
    for shipment in open_shipments:  # settle the oldest shipments first
        settle = min(remaining, Decimal(shipment.quantity or 0) - Decimal(shipment.received or 0))
        shipment.received = format_quantity(Decimal(shipment.received or 0) + settle)
        if Decimal(shipment.received) >= Decimal(shipment.quantity or 0):
            shipment.status = "received"
        remaining -= settle
        if remaining <= 0:
            break
    a.add_stock(a.enterprise, gtin, lot, amount, unit)
    a.record(gtin=gtin, lot=lot, counterparty=shipper, quantity=format_quantity(amount),
             unit=unit, document_no=a.payload.get("document_no"), status="received")


def unit_code(gtin: str, serial: str) -> str:
    """The GS1 element string of a serialised unit: ``(01)GTIN(21)serial``."""
    return f"(01){gtin}(21){serial}"


def _serialization(a: _Admission) -> None:
    gtin, lot = a.text("gtin"), a.text("lot")
    a.lot(gtin, lot)
    for index, serial in enumerate(a.payload.get("serials", [])):
        code = unit_code(gtin, str(serial))
        if a.rows.get(UnitRow, code) is not None:
            raise RuleViolation("unit.duplicate", f"payload.serials[{index}]", code=code)
        a.rows.add(UnitRow(code=code, gtin=gtin, lot=lot, parent=None, seq=a.entry.seq))
    a.record(gtin=gtin, lot=lot, quantity=str(len(a.payload.get("serials", []))), unit="pcs")


def _aggregation(a: _Admission) -> None:
    parent = a.text("parent")
    children = [a.rows.get(UnitRow, str(code)) for code in a.payload.get("children", [])]
    for index, child in enumerate(children):
        if child is None:
            raise RuleViolation("unit.unknown", f"payload.children[{index}]",
                                code=a.payload["children"][index])
    if a.rows.get(UnitRow, parent) is None:
        a.rows.add(UnitRow(code=parent, gtin=None, lot=None, parent=None, seq=a.entry.seq))
    for child in children:
        assert child is not None  # noqa: S101 - checked above
        child.parent = parent
    a.record(document_no=parent, quantity=str(len(children)), unit="pcs")


def _correct_product(corrected: _Admission, target: RecordRow) -> None:
    _product_registered(corrected, replacing=corrected.product(target.gtin or ""))


def _correct_filing(corrected: _Admission, target: RecordRow) -> None:
    _additive_filing(corrected, replacing=corrected.rows.get(
        AdditiveFilingRow, (target.enterprise, target.gtin, target.status)))


def _correct_inspection(corrected: _Admission, target: RecordRow) -> None:
    _inspection(corrected, replacing=target)


def _correct_shipment(corrected: _Admission, target: RecordRow) -> None:
    # Once goods were received against it, the shipment is settled history: the receiver's
    # records depend on it, so only a compensating entry may change things from there.
    if Decimal(target.received or 0) > 0:
        raise RuleViolation("correction.already_received", "payload.seq", target=target.seq)
    corrected.add_stock(target.enterprise, target.gtin or "", target.lot or "",
                        Decimal(target.quantity or 0), target.unit or "")
    _shipment(corrected)


def _correct_intake(corrected: _Admission, target: RecordRow) -> None:
    gtin, lot = target.gtin or "", target.lot or ""
    if target.status == "accepted":  # what was taken in must still be there to take back
        corrected.take_stock(gtin, lot, Decimal(target.quantity or 0), target.unit or "",
                             "payload.seq")
    row = corrected.lot(gtin, lot)
    if row.origin_seq == target.seq:
        row.intake_rejected = False
    _material_intake(corrected)


#: how a correction of each record type replaces the record's effects
_CORRECTIONS: dict[str, Callable[[_Admission, RecordRow], None]] = {
    "product_registered": _correct_product,
    "additive_filing": _correct_filing,
    "inspection": _correct_inspection,
    "shipment": _correct_shipment,
    "material_intake": _correct_intake,
}


def _correction(a: _Admission) -> None:
    target_seq = a.payload.get("seq")
    target = a.rows.get(RecordRow, target_seq) if isinstance(target_seq, int) else None
    if target is None:
        raise RuleViolation("correction.unknown", "payload.seq", target=target_seq)
    if target.enterprise != a.enterprise:
        raise RuleViolation("correction.not_own", "payload.seq")
    if target.superseded_by is not None:
        raise RuleViolation("correction.superseded", "payload.seq", target=target.seq,
                            by=target.superseded_by)
    correct = _CORRECTIONS.get(target.type)
    if correct is None:
        raise RuleViolation("correction.unsupported", "payload.seq", type=target.type)
    replacement = a.payload.get("replacement")
    if not isinstance(replacement, Mapping):
        raise LedgerError("payload.replacement must be an object", field="payload.replacement")
    corrected = _Admission(a.rows, a.entry, a.reference)
    corrected.payload, corrected.record_type = replacement, target.type
    correct(corrected, target)
    a.notices.extend(corrected.notices)
    target.superseded_by = a.entry.seq
    if a.rows.get(RecordRow, a.entry.seq) is None:  # the replacement made no record row itself
        a.record(gtin=target.gtin, lot=target.lot, status=str(target.seq))


_ADMIT: dict[str, Callable[[_Admission], None]] = {
    ENTERPRISE_REGISTERED: _enterprise_registered,
    KEY_REGISTERED: _key_registered,
    KEY_REVOKED: _key_revoked,
    "product_registered": _product_registered,
    "material_intake": _material_intake,
    "additive_filing": _additive_filing,
    "production": _production,
    "inspection": _inspection,
    "shipment": _shipment,
    "receipt": _receipt,
    "serialization": _serialization,
    "aggregation": _aggregation,
    "correction": _correction,
}

RECORD_TYPES = frozenset(_ADMIT) - {ENTERPRISE_REGISTERED, KEY_REGISTERED, KEY_REVOKED}

#: every projection table, in an order safe to clear and refill
PROJECTIONS = (EnterpriseRow, KeyRow, ProductRow, LotRow, StockRow, LotInputRow, RecordRow,
               AdditiveFilingRow, UnitRow, NoticeRow)


def admit_record(rows: RowCache, entry: Entry, reference: ReferenceData) -> list[Notice]:
    """Check the rules for ``entry`` against the projections, then apply it to them.

    ``rows`` is the batch's row cache; the caller flushes it (or commits) after the batch.
    Raises RuleViolation when a rule rejects the entry (the caller then rolls the batch
    back); returns the notices, which are also stored against the entry's seq.
    """
    admit = _ADMIT.get(entry.statement.type)
    if admit is None:
        raise LedgerError(f"unknown entry type {entry.statement.type!r}", field="type")
    admission = _Admission(rows, entry, reference)
    # Rows are built over several statements; a flush half-way would write half a row.
    with rows.session.no_autoflush:
        admit(admission)
    for notice in admission.notices:
        rows.add(NoticeRow(seq=entry.seq, code=notice.code, level=notice.level,
                           field=notice.field, message_zh=notice.message_zh,
                           message_en=notice.message_en))
    return admission.notices


def clear_projections(session: Session) -> None:
    """Empty every projection table, before a rebuild replays the ledger into them."""
    for table in reversed(PROJECTIONS):
        session.execute(delete(table))

