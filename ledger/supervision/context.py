"""What one entry is checked and applied against: the batch's row cache and the record at hand.

The rule modules (``products``, ``lots``, ``movements``, ``units``, ``corrections``) each
take a :class:`RecordContext` and read the projections through it, as they stand after every
earlier entry, including earlier items of the same batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import and_, inspect, or_, select
from sqlalchemy.orm import Session

from ledger.db import insert_rows
from ledger.errors import EntryError, FieldPath, LedgerError, render_field
from ledger.log.entry import Entry, Statement
from ledger.supervision.models import (
    EpcisCapturedRow,
    LotEdgeRow,
    LotRecallRow,
    LotRow,
    ProductRow,
    RecordRow,
    StockRow,
    UnitRow,
)
from ledger.supervision.names import AGGREGATION, PRODUCTION, SERIALIZATION
from ledger.supervision.quantity import Quantity, format_quantity
from ledger.supervision.reference import ReferenceData
from ledger.supervision.rules import Notice, RuleViolation

__all__ = ["PAYLOAD", "RecordContext", "RowCache", "unit_code"]

_Row = TypeVar("_Row")

#: in the row cache: a row added with ``add_new`` and not yet written
_UNWRITTEN = object()

#: the path of the payload in an entry, where every field a rule names lies
PAYLOAD: FieldPath = ("payload",)


def unit_code(gtin: str, serial: str) -> str:
    """The GS1 element string of a serialised unit: ``(01)GTIN(21)serial``."""
    return f"(01){gtin}(21){serial}"


class RowCache:
    """The projection rows a batch reads and writes, looked up once and flushed once.

    A session does not find objects it has not flushed yet, and flushing after every entry
    is what made appends slow; this cache hands later entries of the batch the rows that
    earlier entries created, remembering misses too.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._rows: dict[tuple[type[Any], tuple[Any, ...]], Any] = {}
        self._unwritten: dict[type[Any], list[dict[str, Any]]] = {}

    def get(self, model: type[_Row], key: Any) -> _Row | None:
        """The row of ``model`` with primary key ``key`` (a value or a tuple), or None."""
        cache_key = (model, key if isinstance(key, tuple) else (key,))
        if cache_key not in self._rows:
            self._rows[cache_key] = self.session.get(model, key)
        if self._rows[cache_key] is _UNWRITTEN:  # an object is wanted: write, then load it
            self._write_new()
            self._rows[cache_key] = self.session.get(model, key)
        row: _Row | None = self._rows[cache_key]
        return row

    def exists(self, model: type[Any], key: Any) -> bool:
        """Whether a row of ``model`` with primary key ``key`` exists (or was added)."""
        cache_key = (model, key if isinstance(key, tuple) else (key,))
        if cache_key not in self._rows:
            self._rows[cache_key] = self.session.get(model, key)
        return self._rows[cache_key] is not None

    def add_new(self, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
        """Add many new rows of ``model`` (as column values), written in one statement.

        An ORM object costs ~0.1 ms to make and flush, which a serialization of 100,000
        units would spend 15 s on; these rows become objects only if a later ``get`` of this
        batch asks for one of them. They are inserted as given, through the driver
        (:func:`ledger.db.insert_rows`): no column default is applied.
        """
        columns = _primary_key(model)
        self._unwritten.setdefault(model, []).extend(rows)
        for row in rows:
            self._rows[(model, tuple(row[column] for column in columns))] = _UNWRITTEN

    def _write_new(self) -> None:
        connection = self.session.connection()
        for model, rows in self._unwritten.items():
            # One executemany per set of columns the rows name: a column a row leaves out is
            # NULL (the models written this way have no column defaults), and costs nothing
            # per row where a bound None cost ~2-5 µs per record.
            by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            for row in rows:
                by_columns.setdefault(tuple(row), []).append(tuple(row.values()))
            for columns, values in by_columns.items():
                insert_rows(connection, model.__table__.name,
                            [model.__table__.c[key].name for key in columns], values)
        self._unwritten.clear()

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
                else:  # not a row-value IN, which SQLite answers by scanning the whole table
                    where = or_(*(and_(*(column == value for column, value
                                         in zip(columns, key, strict=True))) for key in chunk))
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

    def delete(self, row: Any) -> None:
        """Delete a row; later ``get`` calls of this batch find none."""
        key = tuple(inspect(type(row)).primary_key_from_instance(row))
        if row in self.session.new:  # added by this batch and never written
            self.session.expunge(row)
        else:
            self.session.delete(row)
        self._rows[(type(row), key)] = None

    def flush(self) -> None:
        """Write what the batch added and changed so far."""
        self.session.flush()
        self._write_new()

    def clear(self) -> None:
        """Forget the cached rows (after a flush), so a long replay keeps memory flat."""
        self._rows.clear()


_PRIMARY_KEYS: dict[type[Any], tuple[str, ...]] = {}


def _primary_key(model: type[Any]) -> tuple[str, ...]:
    """The names of ``model``'s primary-key columns, in key order (looked up once)."""
    names = _PRIMARY_KEYS.get(model)
    if names is None:
        names = _PRIMARY_KEYS[model] = tuple(column.key for column in inspect(model).primary_key)
    return names


#: the columns a record row may name (those it leaves out are NULL)
_RECORD_COLUMNS = frozenset(column.key for column in inspect(RecordRow).columns)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _rows_touched(statement: Statement) -> Iterator[tuple[type[Any], tuple[Any, ...]]]:
    """The projection rows the rules for ``statement`` will read (for prefetching)."""
    payload, enterprise = statement.payload, statement.enterprise
    reference = payload.get("epcis")
    if (isinstance(reference, Mapping) and reference.get("part") == 0
            and isinstance(reference.get("hash_id"), str)):
        yield EpcisCapturedRow, (reference.get("hash_id"),)
    if statement.type == AGGREGATION:
        for code in [payload.get("parent"), *payload.get("children", [])]:
            yield UnitRow, (code,)
    gtin, lot = payload.get("gtin"), payload.get("lot")
    if not isinstance(gtin, str):
        return
    yield ProductRow, (gtin,)
    if isinstance(lot, str):
        yield LotRow, (gtin, lot)
        yield LotRecallRow, (gtin, lot)
        yield StockRow, (enterprise, gtin, lot)
    if statement.type == SERIALIZATION:
        for serial in payload.get("serials", []):
            yield UnitRow, (unit_code(gtin, str(serial)),)
    for source in payload.get("inputs", []) if statement.type == PRODUCTION else []:
        if isinstance(source, Mapping):
            yield LotRow, (source.get("gtin"), source.get("lot"))
            yield LotRecallRow, (source.get("gtin"), source.get("lot"))
            yield StockRow, (enterprise, source.get("gtin"), source.get("lot"))


class RecordContext:
    """The entry being admitted, the record it makes, and the reads and writes rules share."""

    def __init__(self, rows: RowCache, entry: Entry, reference: ReferenceData,
                 payload: Mapping[str, Any] | None = None,
                 record_type: str | None = None) -> None:
        self.rows = rows
        self.session = rows.session
        self.entry = entry
        self.reference = reference
        self.enterprise = entry.statement.enterprise
        self.payload: Mapping[str, Any] = (entry.statement.payload if payload is None
                                           else payload)
        #: the record this entry makes: its own type, or for a correction the corrected type
        self.record_type = record_type or entry.statement.type
        self.notices: list[Notice] = []

    def corrected_as(self, record_type: str, replacement: Mapping[str, Any]) -> RecordContext:
        """A context for a correction's replacement payload, made as a ``record_type``."""
        return RecordContext(self.rows, self.entry, self.reference, replacement, record_type)

    # -- reading ---------------------------------------------------------------------------

    def field(self, *parts: str | int) -> FieldPath:
        """The path of a payload field, for errors and notices.

        A correction's replacement payload is reported as the payload, as the record it
        replaces would be.
        """
        return (*PAYLOAD, *parts)

    def text(self, name: str, within: Mapping[str, Any] | None = None,
             at: FieldPath = ()) -> str:
        """A required non-empty string of the payload (or of ``within``, found at ``at``)."""
        value = (self.payload if within is None else within).get(name)
        if not isinstance(value, str) or not value:
            path = self.field(*at, name)
            raise LedgerError(f"{render_field(path)} must be a non-empty string", field=path)
        return value

    def unchanged(self, name: str, was: str | None) -> str:
        """The payload's ``name``, which a correction must leave as the record had it."""
        value = self.text(name)
        if value != was:
            raise RuleViolation("correction.key_changed", self.field(name), name=name, was=was)
        return value

    def quantity(self, within: Mapping[str, Any] | None = None,
                 at: FieldPath = ()) -> tuple[Decimal, str]:
        """The payload's quantity (or that of ``within``) in its base unit."""
        source = self.payload if within is None else within
        try:
            quantity = Quantity.parse(source.get("quantity"), source.get("unit"))
        except EntryError as exc:
            raise EntryError(exc.message, field=self.field(*at, *(exc.field or ()))) from None
        base = quantity.in_base_unit()
        return base.amount, base.unit

    def product(self, gtin: str, field: FieldPath | None = None) -> ProductRow:
        """The registered product ``gtin``; rule product.unknown when there is none."""
        product = self.rows.get(ProductRow, gtin)
        if product is None:
            raise RuleViolation("product.unknown", field or self.field("gtin"), gtin=gtin)
        return product

    def own_product(self, gtin: str) -> ProductRow:
        """The product ``gtin``, which this enterprise must have registered."""
        product = self.product(gtin)
        if product.enterprise != self.enterprise:
            raise RuleViolation("product.not_owner", self.field("gtin"), gtin=gtin,
                                owner=product.enterprise)
        return product

    def lot(self, gtin: str, lot: str, field: FieldPath | None = None) -> LotRow:
        """The lot ``gtin``/``lot``; rule lot.unknown when it is not on the ledger."""
        row = self.rows.get(LotRow, (gtin, lot))
        if row is None:
            raise RuleViolation("lot.unknown", field or self.field("lot"), gtin=gtin, lot=lot)
        return row

    def event_day(self) -> date:
        """The day the entry says it happened (in its own offset)."""
        moment = self.entry.statement.event_time.upper().replace("Z", "+00:00")
        return datetime.fromisoformat(moment).date()

    # -- rules shared by several types ------------------------------------------------------

    def cite_standard(self, number: str, field: FieldPath) -> None:
        """Attach the standard warning for ``number`` (withdrawn, being replaced …), if any."""
        warning = self.reference.standard_warning(number, self.event_day())
        if warning is None:
            return
        replaced_by = warning.replaced_by or ""
        self.notices.append(Notice.of(
            f"standard.{warning.kind}", warning.severity, field, standard=number,
            replaced_by=replaced_by,
            replacement_zh=f"，由 {replaced_by} 代替" if replaced_by else "",
            replacement_en=f", replaced by {replaced_by}" if replaced_by else "",
            effective_from=warning.effective_from or ""))

    def take_stock(self, gtin: str, lot: str, need: Decimal, unit: str,
                   field: FieldPath) -> None:
        """Take ``need`` of the lot from this enterprise's stock; rule stock.insufficient."""
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
        """Add ``amount`` of the lot to ``enterprise``'s stock."""
        stock = self.rows.get(StockRow, (enterprise, gtin, lot))
        if stock is None:
            self.rows.add(StockRow(enterprise=enterprise, gtin=gtin, lot=lot,
                                   quantity=format_quantity(amount), unit=unit))
        else:
            if stock.unit != unit:
                raise RuleViolation("unit.mismatch", self.field("unit"), lot=lot,
                                    expected=stock.unit, got=unit)
            stock.quantity = format_quantity(Decimal(stock.quantity) + amount)

    def lot_edge(self, source: tuple[str, str, str], target: tuple[str, str, str],
                 amount: Decimal, unit: str, position: int = 0) -> None:
        """Add an edge of the lot graph (what trace walks) from ``source`` to ``target``, each
        a lot at a holder: ``(enterprise, gtin, lot)``. Its kind is the record's type."""
        self.rows.add_new(LotEdgeRow, [{
            "seq": self.entry.seq, "position": position, "kind": self.record_type,
            "from_holder": source[0], "from_gtin": source[1], "from_lot": source[2],
            "to_holder": target[0], "to_gtin": target[1], "to_lot": target[2],
            "quantity": format_quantity(amount), "unit": unit, "superseded_by": None}])

    def record(self, **columns: Any) -> None:
        """Add the record row this entry makes (what listings, trace and grading read).

        It is written with the batch's other new rows (``RowCache.add_new``), not as an ORM
        object, which cost more than the rest of a shipment's rules; a rule that must change
        it later asks ``rows.get(RecordRow, seq)`` for it, as for any other record.
        """
        unknown = columns.keys() - _RECORD_COLUMNS
        if unknown:
            raise TypeError(f"RecordRow has no column {', '.join(sorted(unknown))}")
        self.rows.add_new(RecordRow, [{
            **columns, "seq": self.entry.seq, "type": self.record_type,
            "enterprise": self.enterprise, "event_time": self.entry.statement.event_time}])
