"""Spreadsheet import: one template per record type, reading CSV / XLSX, rows -> events.

A sheet holds records of one type. Row 1 is the header; every later row is one record, and
row numbers in error reports are the numbers the spreadsheet program shows (header = row 1).
Blank rows are skipped but still counted, so the numbers stay right.

Columns are the payload fields of the type's schema (:data:`schemas.records.RECORD_SCHEMAS`),
in its order, then ``event_time``. A header cell may be the field name (``gtin``), the field
name with a note (``gtin（商品条码）``, as the templates write it) or just the label
(``商品条码`` / ``GTIN``). Blank cells are left out, so optional fields take their defaults.

Cells that hold more than one value (lists of the payload) use these encodings:

* ``inputs`` (production): entries ``gtin:lot:quantity:unit`` separated by ``;``, e.g.
  ``06901234567892:RM001:800:kg;06901234567892:RM002:200:kg``. A lot code may itself contain
  ``:`` or ``;`` (GS1 allows both); the entry still reads unambiguously, because GTIN,
  quantity and unit never contain them.
* ``items`` (inspection): entries ``name=value|limit|unit|pass`` separated by ``;``, e.g.
  ``三聚氰胺=0.05|≤2.5|mg/kg|pass;菌落总数=3000|≤100000|CFU/g|pass``; limit and unit may be
  empty (``铅=未检出|||pass``); pass is ``pass``/``fail`` (or true/false, 合格/不合格, 是/否).
* other lists (``additives_used``, ``serials``, ``children``): values separated by ``;``.

The full-width ``；`` that Chinese input methods type is accepted wherever ``;`` is.
Yes/no cells (``accepted``) take true/false, yes/no, 1/0, 是/否 or 合格/不合格.

``event_time`` (RFC 3339 with offset) may be left blank (or the column left out): the record's
own time is used (``received_at``, ``produced_at``, ``inspected_at``, ``shipped_at``), and for
types without one (product registration, additive filing) the importer's ``default_event_time``
(the console and the CLI pass the time of the import).

CSV files may be UTF-8 (with or without the BOM Excel writes) or GB18030 (what Excel on a
Chinese Windows saves as "CSV"), comma- or tab-separated. XLSX files are read from their first
sheet; date-time cells carry no time zone in Excel, so they are read as China Standard Time
(UTC+08:00), the time zone of the supervision network.

Every row is validated with the same :class:`schemas.events.EventSchema` the API uses, and all
problems in the file are collected into one :class:`SpreadsheetError`, so a user fixes the
sheet in one pass. Nothing is appended unless every row is valid.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal, NamedTuple

from marshmallow import Schema, ValidationError, fields

from ledger.errors import FieldPath, LedgerError

# SPREADSHEET_TYPES: the registry leaves out ``correction``, whose replacement payload is a
# whole record of another type and does not flatten into one row.
from ledger.supervision.registry import RECORD_TYPES, SPREADSHEET_TYPES
from schemas.codes import USCCField
from schemas.events import EventSchema
from schemas.identifiers import uscc_check_character
from schemas.messages import field_messages
from schemas.records import RECORD_SCHEMAS, typed_fields

__all__ = [
    "EVENT_TIME",
    "FIELD_LABELS",
    "RECORD_TIME_FIELDS",
    "SPREADSHEET_TYPES",
    "Column",
    "Problem",
    "SpreadsheetError",
    "columns",
    "infer_type",
    "ledger_problem",
    "read_rows",
    "row_numbers",
    "rows_to_events",
    "template_csv",
    "template_xlsx",
]

#: the payload field that says when the record happened; used when event_time is blank
RECORD_TIME_FIELDS: dict[str, str] = {t.name: t.time_field for t in RECORD_TYPES
                                      if t.time_field is not None}

EVENT_TIME = "event_time"

#: field name -> (zh-CN label, English label); the console's forms use the same labels
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "gtin": ("商品条码", "GTIN"),
    "lot": ("批号", "Lot"),
    "name": ("名称", "Name"),
    "category": ("产品类别", "Category"),
    "standard": ("执行标准", "Standard"),
    "spec": ("规格", "Specification"),
    "material": ("原料名称", "Material"),
    "supplier": ("供应商信用代码", "Supplier (USCC)"),
    "quantity": ("数量", "Quantity"),
    "unit": ("单位", "Unit"),
    "received_at": ("收货时间", "Received at"),
    "certificate": ("合格证明编号", "Certificate no."),
    "accepted": ("验收合格", "Accepted"),
    "additive": ("添加剂", "Additive"),
    "ins": ("INS 编号", "INS number"),
    "function": ("功能类别", "Function"),
    "level": ("使用量", "Level"),
    "produced_at": ("生产时间", "Produced at"),
    "expiry": ("保质期至", "Best before"),
    "inputs": ("投入原料批次", "Input lots"),
    "additives_used": ("使用的添加剂", "Additives used"),
    "output_value": ("产值（元）", "Output value (CNY)"),
    "kind": ("检验类型", "Kind"),
    "lab": ("检验机构", "Laboratory"),
    "lab_uscc": ("检验机构信用代码", "Laboratory USCC"),
    "items": ("检验项目", "Test items"),
    "verdict": ("检验结论", "Verdict"),
    "report_no": ("报告编号", "Report no."),
    "inspected_at": ("检验时间", "Inspected at"),
    "counterparty": ("对方企业信用代码", "Counterparty (USCC)"),
    "document_no": ("单据编号", "Document no."),
    "shipped_at": ("发货时间", "Shipped at"),
    "serials": ("单品序列号", "Serial numbers"),
    "parent": ("上级包装码", "Parent code"),
    "children": ("下级码", "Child codes"),
    "value": ("检测值", "Value"),
    "limit": ("标准限值", "Limit"),
    "pass": ("单项判定", "Pass"),
    EVENT_TIME: ("事件时间", "Event time"),
}

#: Excel date-time cells are naive; the network runs on China Standard Time
SHEET_UTC_OFFSET = "+08:00"

_SEPARATOR = re.compile(r"[;；]")
_TRUE = {"true", "yes", "y", "1", "是", "合格", "pass", "t"}
_FALSE = {"false", "no", "n", "0", "否", "不合格", "fail", "f"}
_INPUT_SYNTAX = "gtin:lot:quantity:unit"
_ITEM_SYNTAX = "name=value|limit|unit|pass"
# GTIN, quantity and unit never contain ':' or ';', so a lazy lot followed by
# ':quantity:unit' and then ';' or the end reads a lot that has ':' or ';' in it correctly.
_INPUT_ENTRY = re.compile(r"\s*(?P<gtin>[^:;；]*):(?P<lot>.*?):(?P<quantity>[^:;；]*)"
                          r":(?P<unit>[^:;；]*?)\s*(?:[;；]|$)")

Kind = Literal["text", "bool", "list", "inputs", "items"]


class Problem(NamedTuple):
    """One thing wrong with a sheet: row as the spreadsheet numbers it (header = 1, the file
    as a whole = 0), column (field name; empty when no one column is at fault), message."""

    row: int
    column: str
    message: str


class SpreadsheetError(Exception):
    """A sheet that cannot be imported; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "; ".join(f"row {p.row} {p.column}: {p.message}" for p in self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(f"{len(self.problems)} problem(s): {shown}{more}")


@dataclass(frozen=True)
class Column:
    """One column of a type's sheet."""

    name: str
    kind: Kind
    required: bool
    example: str

    @property
    def header(self) -> str:
        """The template's header cell: the field name with its Chinese label."""
        label = FIELD_LABELS.get(self.name, ("", ""))[0]
        return f"{self.name}（{label}）" if label else self.name


def _example(field: fields.Field[Any]) -> Any:
    example = field.metadata.get("example", "")
    if isinstance(field, USCCField) and isinstance(example, str) and len(example) == 18:
        # Some schema examples are placeholders with a wrong check character; a template's
        # example row must itself import, so give it the right one.
        example = example[:17] + uscc_check_character(example[:17])
    return example


def _nested_example(schema: Schema, encode: Callable[[Mapping[str, Any]], str]) -> str:
    values = {(f.data_key or name): _example(f) for name, f in schema.fields.items()}
    return encode(values)


def _encode_input(entry: Mapping[str, Any]) -> str:
    return ":".join(str(entry[k]) for k in ("gtin", "lot", "quantity", "unit"))


def _encode_item(entry: Mapping[str, Any]) -> str:
    passed = entry["pass"]
    verdict = ("pass" if passed else "fail") if isinstance(passed, bool) else str(passed)
    return (f"{entry['name']}={entry['value']}|{entry.get('limit') or ''}|"
            f"{entry.get('unit') or ''}|{verdict}")


def _column(name: str, field: fields.Field[Any]) -> Column:
    example = _example(field)
    kind: Kind = "text"
    if isinstance(field, fields.Boolean):
        kind, example = "bool", "true" if example is True else "false" if example is False else ""
    elif isinstance(field, fields.List):
        inner = field.inner
        if isinstance(inner, fields.Nested) and name == "inputs":
            kind, example = "inputs", _nested_example(inner.schema, _encode_input)
        elif isinstance(inner, fields.Nested) and name == "items":
            kind, example = "items", _nested_example(inner.schema, _encode_item)
        elif isinstance(inner, fields.Nested):
            # A new nested list needs a cell encoding chosen (and documented above) first.
            raise TypeError(f"no spreadsheet encoding for nested list {name!r}")
        else:
            kind, example = "list", ";".join(str(v) for v in example or [])
    return Column(name, kind, field.required, str(example))


def columns(record_type: str) -> list[Column]:
    """The columns of ``record_type``'s sheet: its payload fields, then ``event_time``."""
    if record_type not in SPREADSHEET_TYPES:
        raise ValueError(f"no spreadsheet template for {record_type!r}; expected one of "
                         f"{', '.join(SPREADSHEET_TYPES)}")
    schema = RECORD_SCHEMAS[record_type]()
    result = [_column(name, field) for name, field in typed_fields(schema)]
    own_time = RECORD_TIME_FIELDS.get(record_type)
    time_example = next((c.example for c in result if c.name == own_time),
                        "2026-11-26T08:30:00+08:00")
    result.append(Column(EVENT_TIME, "text", False, time_example))
    return result


def infer_type(filename: str) -> str | None:
    """The record type a file name starts with (``shipment-2026-11.csv`` -> ``shipment``)."""
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1].lower().replace("-", "_")
    matches = [t for t in SPREADSHEET_TYPES if stem.startswith(t)]
    return max(matches, key=len) if matches else None


# --- templates ------------------------------------------------------------------------------


def template_csv(record_type: str) -> str:
    """A CSV template: the header row and one example row.

    Serve it encoded as UTF-8 *with* a BOM: without one, Excel on Windows reads the file as
    the ANSI code page and shows the Chinese headers as mojibake.
    """
    cols = columns(record_type)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in cols])
    writer.writerow([c.example for c in cols])
    return buffer.getvalue()


def template_xlsx(record_type: str) -> bytes:
    """An XLSX template: a sheet with the header row and one example row, and a second sheet
    explaining each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    cols = columns(record_type)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101 - a new workbook always has one sheet
    sheet.title = record_type
    sheet.append([c.header for c in cols])
    sheet.append([c.example for c in cols])
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(cols, start=1):
        letter = get_column_letter(index)
        # Text format keeps the leading zeros of GTINs and lot codes that Excel would
        # otherwise turn into numbers.
        sheet.column_dimensions[letter].number_format = "@"
        sheet.column_dimensions[letter].width = max(12, min(48, len(column.example) + 4))
        sheet[f"{letter}1"].font = Font(bold=True)
        sheet[f"{letter}1"].fill = header_fill
        sheet[f"{letter}2"].number_format = "@"
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("说明 notes")
    notes.append(["column 列", "required 必填", "说明", "notes", "example 示例"])
    for column in cols:
        zh, en = FIELD_LABELS.get(column.name, ("", ""))
        notes.append([column.name, "yes 是" if column.required else "no 否",
                      zh + _ENCODING_NOTES.get(column.kind, ("", ""))[0],
                      en + _ENCODING_NOTES.get(column.kind, ("", ""))[1], column.example])
    for letter, width in zip("ABCDE", (18, 12, 40, 48, 48), strict=True):
        notes.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_ENCODING_NOTES: dict[str, tuple[str, str]] = {
    "inputs": (f"：{_INPUT_SYNTAX}，多条用 ; 分隔", f": {_INPUT_SYNTAX}, entries separated by ;"),
    "items": (f"：{_ITEM_SYNTAX}，多条用 ; 分隔", f": {_ITEM_SYNTAX}, entries separated by ;"),
    "list": ("：多个值用 ; 分隔", ": values separated by ;"),
    "bool": ("：是/否", ": true/false"),
}


# --- reading --------------------------------------------------------------------------------


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV or XLSX file, keyed by header cell, every value a stripped string.

    Blank rows come back as dicts of empty strings (kept, so that list index + 2 is the row
    number the spreadsheet shows); trailing blank rows are dropped.
    """
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "csv":
        table = _csv_table(_decode(data))
    elif suffix in ("xlsx", "xlsm"):
        table = _xlsx_table(data)
    else:
        raise SpreadsheetError([Problem(0, "", f"expected a .csv or .xlsx file, got {filename!r}")])
    while table and not any(table[-1]):
        table.pop()
    if not table or not any(table[0]):
        raise SpreadsheetError([Problem(1, "", "the file has no header row")])
    header = [cell.strip().lstrip("\ufeff") for cell in table[0]]
    rows = []
    for cells in table[1:]:
        padded = [*cells, *[""] * (len(header) - len(cells))]
        rows.append({name: value.strip() for name, value in zip(header, padded, strict=False)
                     if name})
    return rows


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")  # also plain UTF-8: the BOM is optional
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise SpreadsheetError([Problem(0, "", "the CSV file is neither UTF-8 nor GB18030 "
                                              "text")]) from None


def _csv_table(text: str) -> list[list[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _xlsx_table(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SpreadsheetError([Problem(0, "", f"not a readable XLSX workbook ({exc})")]) from None
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # 1000.0 -> "1000"; repr gives the shortest text that reads back as the same float.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None) if value.tzinfo is None else None
        if naive is None:
            return value.isoformat(timespec="seconds")
        return naive.isoformat(timespec="seconds") + SHEET_UTC_OFFSET
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


# --- rows -> events -------------------------------------------------------------------------


def _header_names() -> dict[str, str]:
    names = {name.lower(): name for name in FIELD_LABELS}
    for name, (zh, en) in FIELD_LABELS.items():
        names.setdefault(zh.lower(), name)
        names.setdefault(en.lower(), name)
    return names


_HEADER_NAMES = _header_names()


def _canonical_header(cell: str) -> str:
    """``gtin（商品条码）`` / ``商品条码`` / ``GTIN`` -> ``gtin``; unknown headers unchanged."""
    text = re.split(r"[（(]", cell, maxsplit=1)[0].strip() or cell.strip()
    return _HEADER_NAMES.get(text.lower(), text)


def row_numbers(rows: Sequence[Mapping[str, str]]) -> list[int]:
    """The sheet row numbers of the non-blank rows, in order: those ``rows_to_events``
    turns into events (so ``row_numbers(rows)[i]`` is the row of event ``i``)."""
    return [index + 2 for index, row in enumerate(rows) if any(row.values())]


def rows_to_events(record_type: str, rows: Sequence[Mapping[str, str]],
                   event_time_column: str = EVENT_TIME, *,
                   default_event_time: str | None = None,
                   progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Turn the rows read from a sheet into events ``{"type", "event_time", "payload", ...}``
    as :class:`EventSchema` loads them (exactly what the API would accept).

    Every row is checked; SpreadsheetError lists every problem in the file, by row and column.
    A blank event time is the record's own time, else ``default_event_time`` (without one,
    the column is required). ``progress`` is called with the number of rows checked so far.
    """
    cols = {c.name: c for c in columns(record_type)}
    headers = list(rows[0]) if rows else []
    problems = _header_problems(record_type, headers, cols, event_time_column,
                                time_required=(record_type not in RECORD_TIME_FIELDS
                                               and default_event_time is None))
    if problems:
        raise SpreadsheetError(problems)
    by_column = {_canonical_header(h): h for h in headers}
    events: list[dict[str, Any]] = []
    schema = EventSchema()
    for index, row in enumerate(rows):
        if progress is not None and index % 100 == 0:
            progress(index)
        if not any(row.values()):
            continue
        number = index + 2
        payload: dict[str, Any] = {}
        bad_cells: set[str] = set()
        for name, column in cols.items():
            if name == EVENT_TIME:
                continue
            cell = row.get(by_column.get(name, ""), "")
            if not cell:
                continue
            try:
                payload[name] = _parse_cell(column, cell)
            except ValueError as exc:
                problems.append(Problem(number, name, str(exc)))
                bad_cells.add(name)
        event_time = row.get(by_column.get(_canonical_header(event_time_column), ""), "")
        own_time = RECORD_TIME_FIELDS.get(record_type)
        if not event_time and own_time:
            event_time = row.get(by_column.get(own_time, ""), "")
        event_time = event_time or default_event_time or ""
        body: dict[str, Any] = {"type": record_type, "payload": payload}
        if event_time:
            body["event_time"] = event_time
        try:
            events.append(schema.load(body))
        except ValidationError as exc:
            problems.extend(Problem(number, column, message)
                            for path, messages in field_messages(exc.messages)
                            for column, message in [_column_and_detail(path, "; ".join(messages))]
                            if column not in bad_cells)
    if progress is not None:
        progress(len(rows))
    if problems:
        order = {name: position for position, name in enumerate(cols)}
        raise SpreadsheetError(sorted(problems, key=lambda p: (p.row, order.get(p.column, -1))))
    return events


def _header_problems(record_type: str, headers: Sequence[str], cols: Mapping[str, Column],
                     event_time_column: str, *, time_required: bool) -> list[Problem]:
    if not headers:
        return [Problem(0, "", "the sheet has no data rows")]
    problems: list[Problem] = []
    event_time_name = _canonical_header(event_time_column)
    known = {**cols, event_time_name: cols[EVENT_TIME]}
    seen: set[str] = set()
    for header in headers:
        name = _canonical_header(header)
        if name not in known:
            problems.append(Problem(1, header, f"unknown column for {record_type}; expected "
                                               f"{', '.join(c for c in cols)}"))
        elif name in seen:
            problems.append(Problem(1, name, "this column appears twice"))
        seen.add(name)
    for name, column in cols.items():
        present = (event_time_name if name == EVENT_TIME else name) in seen
        required = time_required if name == EVENT_TIME else column.required
        if required and not present:
            problems.append(Problem(1, name, "required column is missing"))
    return problems


def _parse_cell(column: Column, cell: str) -> Any:
    if column.kind == "bool":
        lowered = cell.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected yes or no (true/false, 是/否), got {cell!r}")
    if column.kind == "list":
        return [part.strip() for part in _SEPARATOR.split(cell) if part.strip()]
    if column.kind == "inputs":
        return _parse_inputs(cell)
    if column.kind == "items":
        return [_parse_item(number, part.strip()) for number, part in
                enumerate((p for p in _SEPARATOR.split(cell) if p.strip()), start=1)]
    return cell


def _parse_inputs(cell: str) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    position = 0
    text = cell.strip().rstrip(";；")
    while position < len(text):
        match = _INPUT_ENTRY.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"entry {len(entries) + 1} should read {_INPUT_SYNTAX}, e.g. "
                             "06901234567892:RM001:800:kg")
        entries.append({key: match[key].strip() for key in ("gtin", "lot", "quantity", "unit")})
        position = match.end()
    return entries


def _parse_item(number: int, text: str) -> dict[str, Any]:
    name, equals, rest = text.partition("=")
    parts = rest.split("|")
    if not equals or len(parts) != 4:
        raise ValueError(f"entry {number} should read {_ITEM_SYNTAX}, e.g. "
                         "三聚氰胺=0.05|≤2.5|mg/kg|pass")
    value, limit, unit, verdict = (part.strip() for part in parts)
    item: dict[str, Any] = {"name": name.strip(), "value": value}
    if limit:
        item["limit"] = limit
    if unit:
        item["unit"] = unit
    if verdict.lower() in _TRUE:
        item["pass"] = True
    elif verdict.lower() in _FALSE:
        item["pass"] = False
    else:
        raise ValueError(f"entry {number}: pass should be pass or fail, got {verdict!r}")
    return item


def _column_and_detail(path: FieldPath, message: str) -> tuple[str, str]:
    parts = list(path)
    if parts and parts[0] == "payload":
        parts = parts[1:]
    if not parts:
        return "", message
    column, rest = str(parts[0]), parts[1:]
    detail = " ".join(f"entry {p + 1}" if isinstance(p, int) else str(p) for p in rest)
    return column, f"{detail}: {message}" if detail else message


def ledger_problem(error: LedgerError, rows: Sequence[int], *,
                   language: str = "en") -> Problem:
    """A ledger error raised while appending a sheet's batch, as a problem in its row.

    ``rows`` are the sheet rows of the batch's items (:func:`row_numbers`); rule violations
    carry their message in Chinese too, used when ``language`` starts with ``zh``.
    """
    row = rows[error.item] if error.item is not None and error.item < len(rows) else 0
    message = error.message
    if language.lower().startswith("zh"):
        message = getattr(error, "message_zh", None) or message
    # Errors about the statement (signature, key) belong to no column of the sheet.
    path = error.field if error.field and error.field[0] == "payload" else ()
    return Problem(row, *_column_and_detail(path, message))
