"""The FSMA 204 export's pure parts: its parameters parse or are refused by name, and any
text survives the CSV and XLSX writers unchanged (the demo's export is in
tests/web/test_fsma204.py)."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.export.fsma204 import (
    COLUMNS,
    CTES,
    ExportError,
    ExportRequest,
    csv_chunks,
    parse_request,
    tlc,
    write_csv,
    write_xlsx,
)


def test_parameters_parse() -> None:
    assert parse_request(start="2026-10-01", end=" 2026-10-01 ", lot="L1",
                         gtin="06901234567892") == ExportRequest(
        date(2026, 10, 1), date(2026, 10, 1), "06901234567892", "L1")
    assert parse_request(start="2026-10-01", end="2026-11-30", lot="", gtin="") == \
        ExportRequest(date(2026, 10, 1), date(2026, 11, 30))


@pytest.mark.parametrize(("given", "field", "match"), [
    ({"start": None, "end": "2026-01-01"}, "from", "from is required"),
    ({"start": "2026-01-01", "end": " "}, "to", "to is required"),
    ({"start": "2026-02-30", "end": "2026-03-01"}, "from", "YYYY-MM-DD"),
    ({"start": "20260201", "end": "2026-03-01"}, "from", "YYYY-MM-DD"),
    ({"start": "2026-01-01", "end": "2026-W10-1"}, "to", "YYYY-MM-DD"),
    ({"start": "２０２６-01-01", "end": "2026-03-01"}, "from", "YYYY-MM-DD"),
    ({"start": "2026-03-02", "end": "2026-03-01"}, "to", "before from"),
    ({"start": "2000-01-01", "end": "2026-03-01"}, "to", "at most 3660 days"),
    ({"start": "2026-01-01", "end": "2026-03-01", "gtin": "0690123456789"}, "gtin",
     "14 digits"),
    ({"start": "2026-01-01", "end": "2026-03-01", "gtin": "０６９０１２３４５６７８９２"},
     "gtin", "14 digits"),
    ({"start": "2026-01-01", "end": "2026-03-01", "lot": "x" * 21}, "lot", "1 to 20"),
])
def test_bad_parameters_are_refused_by_name(given: dict[str, str | None], field: str,
                                            match: str) -> None:
    with pytest.raises(ExportError, match=match) as refused:
        parse_request(**given)
    assert refused.value.field == (field,) and refused.value.code == "invalid_export"


@given(st.text(max_size=30), st.text(max_size=30), st.none() | st.text(max_size=25),
       st.none() | st.text(max_size=16))
def test_any_text_parses_or_is_an_export_error(start: str, end: str, lot: str | None,
                                               gtin: str | None) -> None:
    try:
        request = parse_request(start=start, end=end, lot=lot, gtin=gtin)
    except ExportError as exc:
        assert exc.field and exc.field[0] in ("from", "to", "lot", "gtin")
    else:
        assert request.start <= request.end


def test_the_columns_and_events() -> None:
    assert len(COLUMNS) == len(set(COLUMNS)) == 16
    assert COLUMNS[0] == "Traceability Lot Code (TLC)"
    assert CTES == ("Harvesting", "Cooling", "Initial Packing", "First Land-Based Receiving",
                    "Shipping", "Receiving", "Transformation")
    assert tlc("06901234567892", "A-1") == "(01)06901234567892(10)A-1"


# Cells XML 1.0 cannot hold (control characters) never reach a sheet: record text is
# validated on the way in; anything else printable must come back as it went.
_CELL = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(
    ",\"'\n;"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[_CELL] * len(COLUMNS)), max_size=250))
def test_csv_and_xlsx_carry_the_same_text(rows: list[tuple[str, ...]]) -> None:
    text = io.StringIO()
    assert write_csv(rows, text) == len(rows)
    assert text.getvalue() == "".join(csv_chunks(rows))
    read_back = [tuple(row) for row in csv.reader(io.StringIO(text.getvalue(), newline=""))]
    assert read_back == [COLUMNS, *rows]
    workbook = io.BytesIO()
    assert write_xlsx(rows, workbook) == len(rows)
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.getvalue()), read_only=True).worksheets[0]
    cells = [tuple("" if value is None else value for value in row)
             for row in sheet.iter_rows(values_only=True)]
    assert cells == [COLUMNS, *rows]
