"""The FSMA 204 electronic sortable spreadsheet: one row per critical tracking event.

21 CFR Part 1 Subpart S (the FDA's Food Traceability Rule, "FSMA 204") names seven critical
tracking events (CTEs) and the key data elements (KDEs) kept for each (§ 1.1325-1.1350), and
§ 1.1455(c)(3)(ii) lets the FDA ask for them within 24 hours as an electronic sortable
spreadsheet. :data:`COLUMNS` are its columns, one per KDE the rule names, in order: the lot and
what it is first, then the event, where it happened, where the lot code came from, the trading
partners, the reference document and a transformation's inputs. They were written from the
rule's KDE lists: the FDA's own template file could not be read when this was written (README
"FSMA 204 export" says so), so a column name that differs from it is renamed here, in one place.

Tracenet's records map to CTEs as follows (:data:`CTE_OF_RECORD`); README "FSMA 204 export"
says the same for readers:

- ``production`` with input lots -> Transformation (the new lot's code, its inputs' codes);
  without inputs -> Initial Packing (the record that first gives the goods a lot code);
- ``shipment`` -> Shipping; ``receipt`` -> Receiving; an accepted ``material_intake`` ->
  Receiving (from a supplier, on the ledger or off it). A rejected intake took nothing in.
- Harvesting, Cooling and First Land-Based Receiving have no counterpart: Tracenet records
  no harvest, cooling or landing events. Inspections, serialisation, aggregation, additive
  filings, recalls and product registrations are not CTEs. A superseded record (corrected)
  is left out; its correction's replacement record is the event.

The traceability lot code (TLC) is the GS1 element string ``(01)GTIN(10)LOT``; its source is
the enterprise the lot originated with (the producer, or the supplier it was taken in from).
Locations are enterprises (name and district; identifier their USCC, 统一社会信用代码).

Rows are streamed: the records come in one ordered query (joined to products, lots and
enterprises), read in partitions, with one more query per partition for transformation
inputs, so nothing grows with the range but the rows of one lot code, which are ordered by
event instant there (a lot's records may carry different UTC offsets).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, cast

from sqlalchemy import Row, Select, and_, or_, select
from sqlalchemy.orm import Session, aliased

from ledger.errors import LedgerError
from ledger.log.storage import EnterpriseRow
from ledger.supervision.models import LotInputRow, LotRow, ProductRow, RecordRow
from ledger.supervision.names import MATERIAL_INTAKE, PRODUCTION, RECEIPT, SHIPMENT
from ledger.supervision.queries import Viewer, viewer_matches

__all__ = [
    "COLUMNS",
    "CTE_OF_RECORD",
    "CTES",
    "ExportError",
    "ExportRequest",
    "csv_chunks",
    "export_rows",
    "parse_request",
    "tlc",
    "write_csv",
    "write_xlsx",
]

#: the spreadsheet's header row, in order (the KDEs of §§ 1.1325-1.1350)
COLUMNS: tuple[str, ...] = (
    "Traceability Lot Code (TLC)",
    "Product Description",
    "Quantity",
    "Unit of Measure",
    "Critical Tracking Event (CTE)",
    "Event Date",
    "Event Time",
    "Location Description",
    "Location Identifier",
    "TLC Source Location Description",
    "TLC Source Reference",
    "Immediate Previous Source Location",
    "Immediate Subsequent Recipient Location",
    "Reference Document Type",
    "Reference Document Number",
    "Input Traceability Lot Codes",
)

HARVESTING = "Harvesting"
COOLING = "Cooling"
INITIAL_PACKING = "Initial Packing"
FIRST_LAND_BASED_RECEIVING = "First Land-Based Receiving"
SHIPPING = "Shipping"
RECEIVING = "Receiving"
TRANSFORMATION = "Transformation"
#: the seven critical tracking events of 21 CFR 1.1325-1.1350
CTES = (HARVESTING, COOLING, INITIAL_PACKING, FIRST_LAND_BASED_RECEIVING, SHIPPING, RECEIVING,
        TRANSFORMATION)

#: record type -> its CTE (a production without inputs is an Initial Packing)
CTE_OF_RECORD = {PRODUCTION: TRANSFORMATION, SHIPMENT: SHIPPING, RECEIPT: RECEIVING,
                 MATERIAL_INTAKE: RECEIVING}

#: what a record's ``document_no`` is, by record type
_DOCUMENT_TYPE = {SHIPMENT: "Delivery note", RECEIPT: "Delivery note",
                  MATERIAL_INTAKE: "Supplier certificate"}
#: the reference of a record without a document number: its entry in the ledger
_LEDGER_ENTRY = "Tracenet ledger entry"

#: records read per partition (and per query for transformation inputs)
_PARTITION = 1000
#: the widest range one export may cover: a request of longer is a mistake, not a need
MAX_DAYS = 3660


class ExportError(LedgerError):
    """An export asked for with a bad parameter (a date, a range, a lot or a format)."""

    code = "invalid_export"


@dataclass(frozen=True)
class ExportRequest:
    """Which events to export: those dated ``start`` to ``end`` (inclusive, the event's date
    as recorded), of one lot (``gtin`` and/or ``lot``) when given."""

    start: date
    end: date
    gtin: str | None = None
    lot: str | None = None


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(text: str | None, name: str) -> date:
    if text is None or not text.strip():
        raise ExportError(f"{name} is required: a date YYYY-MM-DD", field=name)
    try:
        # fromisoformat alone would also take 20261001 and week dates (2026-W40-1)
        if _DATE.fullmatch(text.strip()) is None:
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ExportError(f"{name} must be a date YYYY-MM-DD, got {text!r}",
                          field=name) from None


def parse_request(*, start: str | None, end: str | None, lot: str | None = None,
                  gtin: str | None = None) -> ExportRequest:
    """Check an export's parameters as given (text) and return the request, or raise
    :class:`ExportError` naming the field (``from``, ``to``, ``lot``, ``gtin``). A blank lot
    or GTIN is no filter (a form's empty field)."""
    lot, gtin = lot or None, gtin or None
    first, last = _date(start, "from"), _date(end, "to")
    if last < first:
        raise ExportError(f"to ({last}) is before from ({first})", field="to")
    if (last - first).days > MAX_DAYS:
        raise ExportError(f"the range may span at most {MAX_DAYS} days", field="to")
    if lot is not None and not 1 <= len(lot) <= 20:
        raise ExportError("lot must be 1 to 20 characters", field="lot")
    if gtin is not None and not (len(gtin) == 14 and gtin.isascii() and gtin.isdigit()):
        raise ExportError(f"gtin must be 14 digits, got {gtin!r}", field="gtin")
    return ExportRequest(first, last, gtin, lot)


def tlc(gtin: str, lot: str) -> str:
    """The traceability lot code of a lot: its GS1 element string ``(01)GTIN(10)LOT``."""
    return f"(01){gtin}(10){lot}"


def _query(request: ExportRequest, viewer: Viewer, dialect: str) -> Select[Any]:
    party = aliased(EnterpriseRow)
    counterparty = aliased(EnterpriseRow)
    origin = aliased(EnterpriseRow)
    # Event times are RFC 3339 text with the recorder's offset, so the event's own date is its
    # first ten characters, and "dated in [start, end]" is a range on the text (index-friendly).
    after_end = date.fromordinal(request.end.toordinal() + 1).isoformat()
    query = cast("Select[Any]", (
        # columns, not RecordRow entities: no identity map or instance per row of a big range
        select(RecordRow.seq, RecordRow.type, RecordRow.enterprise, RecordRow.counterparty,
               RecordRow.gtin, RecordRow.lot, RecordRow.quantity, RecordRow.unit,
               RecordRow.document_no, RecordRow.event_time,
               ProductRow.name, ProductRow.spec, LotRow.origin,
               party.name, party.district, counterparty.name, counterparty.district,
               origin.name, origin.district)
        .outerjoin(ProductRow, ProductRow.gtin == RecordRow.gtin)
        .outerjoin(LotRow, and_(LotRow.gtin == RecordRow.gtin, LotRow.lot == RecordRow.lot))
        .outerjoin(party, party.uscc == RecordRow.enterprise)
        .outerjoin(counterparty, counterparty.uscc == RecordRow.counterparty)
        .outerjoin(origin, origin.uscc == LotRow.origin)
        .where(RecordRow.type.in_(tuple(CTE_OF_RECORD)),
               RecordRow.superseded_by.is_(None),
               or_(RecordRow.type != MATERIAL_INTAKE, RecordRow.accepted.is_(True)),
               RecordRow.event_time >= request.start.isoformat(),
               RecordRow.event_time < after_end)
        .order_by(*_by_code(dialect), RecordRow.seq)))
    if request.gtin is not None:
        query = query.where(RecordRow.gtin == request.gtin)
    if request.lot is not None:
        query = query.where(RecordRow.lot == request.lot)
    if viewer is not None:  # an enterprise: the events it is party to, as the API's listings
        query = query.where(or_(viewer_matches(RecordRow.enterprise, viewer),
                                viewer_matches(RecordRow.counterparty, viewer)))
    return query


def _by_code(dialect: str) -> tuple[Any, ...]:
    """Lot codes in code-point order, as Python sorts them: SQLite's default collation is
    that, PostgreSQL's follows the database's locale unless told "C"."""
    if dialect == "postgresql":
        return RecordRow.gtin.collate("C"), RecordRow.lot.collate("C")
    return RecordRow.gtin, RecordRow.lot


def _place(name: str | None, district: str | None, uscc: str | None) -> str:
    """A location description: the enterprise's name and district, or its bare identifier
    when it is off the ledger (a supplier never registered)."""
    if name is None:
        return f"USCC {uscc} (not registered on the ledger)" if uscc else ""
    return f"{name}, {district}" if district else name


def _inputs(session: Session, seqs: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not seqs:
        return found
    rows = session.execute(select(LotInputRow.seq, LotInputRow.input_gtin, LotInputRow.input_lot)
                           .where(LotInputRow.seq.in_(seqs))
                           .order_by(LotInputRow.seq, LotInputRow.position))
    for seq, gtin, lot in rows:
        found.setdefault(seq, []).append(tlc(gtin, lot))
    return found


def _instant(event_time: str) -> tuple[float, str]:
    try:
        return datetime.fromisoformat(event_time).timestamp(), event_time
    except ValueError:  # the rules admit RFC 3339 only; keep any other text in text order
        return float("inf"), event_time


def _row(found: Row[Any], inputs: dict[int, list[str]]) -> tuple[str, ...]:
    (seq, type_, enterprise, counterparty, gtin, lot, quantity, unit, document_no, event_time,
     product, spec, origin_uscc, party, party_district, other, other_district, origin,
     origin_district) = tuple(found)
    here = _place(party, party_district, enterprise)
    there = _place(other, other_district, counterparty)
    cte = CTE_OF_RECORD[type_]
    lot_inputs = inputs.get(seq, [])
    if type_ == PRODUCTION and not lot_inputs:
        cte = INITIAL_PACKING
    previous = there if type_ in (RECEIPT, MATERIAL_INTAKE) else ""
    if type_ == SHIPMENT:
        previous, subsequent = here, there
    else:
        subsequent = here if type_ in (RECEIPT, MATERIAL_INTAKE) else ""
    if document_no:
        document_type, document = _DOCUMENT_TYPE[type_], document_no
    else:
        document_type, document = _LEDGER_ENTRY, str(seq)
    description = ", ".join(part for part in (product, spec) if part)
    event_date, _, event_clock = event_time.partition("T")
    return (tlc(gtin or "", lot or ""), description, quantity or "", unit or "", cte,
            event_date, event_clock, here, enterprise,
            _place(origin, origin_district, origin_uscc),
            f"USCC {origin_uscc}" if origin_uscc else "",
            previous, subsequent, document_type, document, "; ".join(lot_inputs))


def export_rows(session: Session, request: ExportRequest, *,
                viewer: Viewer) -> Iterator[tuple[str, ...]]:
    """The spreadsheet's data rows (no header), one per critical tracking event dated in the
    request's range, sorted by TLC and then by event instant (then ledger order).

    ``viewer`` None exports every event (a regulator); an enterprise gets the events it is
    party to (it recorded them, or it is their counterparty: the receiver of a shipment, the
    shipper of a receipt, the supplier of an intake), as the API's record listings do; a
    district bureau, those its district's enterprises are party to.
    """
    query = _query(request, viewer, session.get_bind().dialect.name)
    result = session.execute(query.execution_options(yield_per=_PARTITION))
    group: list[tuple[tuple[float, str], int, tuple[str, ...]]] = []
    group_key: tuple[str | None, str | None] | None = None
    for partition in result.partitions():
        inputs = _inputs(session, [found.seq for found in partition
                                   if found.type == PRODUCTION])
        for found in partition:
            key = (found.gtin, found.lot)
            if key != group_key:
                yield from (row for *_, row in sorted(group))
                group, group_key = [], key
            group.append((_instant(found.event_time), found.seq, _row(found, inputs)))
    yield from (row for *_, row in sorted(group))


def csv_chunks(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """The spreadsheet as CSV text (RFC 4180, CRLF line ends), header first, in chunks of
    about a hundred rows, for a streamed download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % 100 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_csv(rows: Iterable[Sequence[str]], stream: IO[str]) -> int:
    """Write the spreadsheet as CSV to ``stream``; returns the number of data rows."""
    count = 0

    def counted() -> Iterator[Sequence[str]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    for chunk in csv_chunks(counted()):
        stream.write(chunk)
    return count


def write_xlsx(rows: Iterable[Sequence[str]], stream: IO[bytes]) -> int:
    """Write the spreadsheet as an XLSX workbook (one sheet, header row frozen and filtered)
    to ``stream``; returns the number of data rows. Cells are text, as in the CSV, so both
    formats carry the same values (a lot code or a document number is never a number)."""
    from openpyxl import Workbook  # noqa: PLC0415 - only an XLSX export needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("FSMA 204")
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))
    count = 0
    for row in rows:
        # a blank KDE is no cell at all (read back as empty), which halves a typical sheet;
        # the last column's cell is always written, so every row reads back full width
        *first, last = row
        sheet.append([*(value or None for value in first), last])
        count += 1
    last_column = chr(ord("A") + len(COLUMNS) - 1)
    sheet.auto_filter.ref = f"A1:{last_column}{count + 1}"
    workbook.save(stream)
    return count
