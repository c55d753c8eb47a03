"""Spreadsheet import: templates, reading CSV / XLSX, the all-or-nothing row report, the
console upload and ``tracenet import``."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from schemas.codes import gs1_check_digit
from schemas.spreadsheet import (
    SPREADSHEET_TYPES,
    Problem,
    SpreadsheetError,
    infer_type,
    read_rows,
    row_numbers,
    rows_to_events,
    template_csv,
    template_xlsx,
)
from tests.conftest import run_cli
from tests.ledger.conftest import make_uscc
from tests.web.test_api import add_enterprise, size
from tests.web.test_console import csrf_token, flashes, sign_in

GTIN = "06901234567892"
BAD_GTIN = "06901234567893"  # check digit should be 2
INTAKE_HEADER = ["gtin", "lot", "material", "supplier", "quantity", "unit", "received_at",
                 "accepted"]


def intake_rows(count: int, bad_row: int | None = None) -> list[list[str]]:
    """``count`` material intakes, one lot each; sheet row ``bad_row`` gets a bad GTIN."""
    rows = []
    for index in range(count):
        gtin = BAD_GTIN if index + 2 == bad_row else GTIN
        rows.append([gtin, f"RM{index:05d}", "生乳", make_uscc(77), "1000", "kg",
                     "2026-11-26T07:00:00+08:00", "是"])
    return rows


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def gtin(serial: int) -> str:
    body = f"0690123456{serial:03d}"
    return body + gs1_check_digit(body)


def upload(client: FlaskClient, record_type: str, filename: str, data: bytes) -> str:
    response = client.post("/console/import", data={
        "csrf_token": csrf_token(client, "/console/import"), "type": record_type,
        "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data",
        follow_redirects=True)
    return response.text


def report(html: str) -> list[tuple[str, str, str]]:
    """The rows of the console's problem table: (row, column, message)."""
    if 'id="report"' not in html:
        return []
    table = html[html.index('id="report"'):]
    table = table[table.index("<tbody>"):table.index("</tbody>")]
    cells = re.findall(r"<tr>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>\s*<td>(.*?)</td>",
                       table, re.S)
    return [(row.strip(), re.sub(r"<[^>]+>.*", "", column).strip(), message.strip())
            for row, column, message in cells]


# --- the sheet model ---------------------------------------------------------------------------


@pytest.mark.parametrize("record_type", SPREADSHEET_TYPES)
def test_every_template_imports_as_it_is(record_type: str) -> None:
    from_csv = rows_to_events(record_type, read_rows("t.csv",
                                                     template_csv(record_type).encode()))
    from_xlsx = rows_to_events(record_type, read_rows("t.xlsx", template_xlsx(record_type)))
    assert from_csv == from_xlsx
    assert len(from_csv) == 1 and from_csv[0]["type"] == record_type


def test_xlsx_round_trip_with_typed_cells() -> None:
    """A template filled in Excel: numbers, dates and booleans come back as the CSV text."""
    workbook = load_workbook(io.BytesIO(template_xlsx("material_intake")))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[:2] == ["gtin（商品条码）", "lot（批号）"]
    sheet.append([6901234567892, "RM-2", "生乳", make_uscc(3), 12.5, "kg",
                  datetime(2026, 11, 26, 7, 30), None, True, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = read_rows("material_intake.xlsx", buffer.getvalue())
    assert rows[1]["gtin（商品条码）"] == "6901234567892"
    events = rows_to_events("material_intake", rows)
    payload = events[1]["payload"]
    assert payload["gtin"] == GTIN  # a GTIN-13 typed as a number is still the same item
    assert payload["quantity"] == "12.5"
    assert payload["accepted"] is True
    # Excel date-times have no zone: read as China Standard Time, also as the event time.
    assert payload["received_at"] == "2026-11-26T07:30:00+08:00"
    assert events[1]["event_time"] == "2026-11-26T07:30:00+08:00"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(encoding: str) -> None:
    data = csv_bytes(INTAKE_HEADER, intake_rows(2), encoding)
    rows = read_rows("intake.csv", data)
    assert [r["material"] for r in rows] == ["生乳", "生乳"]
    assert list(rows[0])[0] == "gtin"  # no BOM left on the first header


def test_headers_may_be_labels_and_blank_rows_keep_the_numbering() -> None:
    header = ["商品条码", "批号", "原料名称", "供应商信用代码", "数量", "单位", "收货时间",
              "验收合格"]
    rows = intake_rows(3)
    rows[1] = [""] * len(header)  # a blank row 3
    rows[2][0] = BAD_GTIN
    sheet = read_rows("x.csv", csv_bytes(header, rows))
    assert row_numbers(sheet) == [2, 4]
    with pytest.raises(SpreadsheetError) as caught:
        rows_to_events("material_intake", sheet)
    assert caught.value.problems == [Problem(4, "gtin", "GTIN check digit should be 2, got 3")]


def test_header_problems_are_reported_once() -> None:
    sheet = read_rows("x.csv", csv_bytes(["gtin", "lot", "colour"], [[GTIN, "L1", "red"]] * 50))
    with pytest.raises(SpreadsheetError) as caught:
        rows_to_events("material_intake", sheet)
    problems = caught.value.problems
    assert all(p.row == 1 for p in problems)
    assert problems[0].column == "colour" and "unknown column" in problems[0].message
    assert {p.column for p in problems[1:]} == {"material", "supplier", "quantity", "unit",
                                                "received_at", "accepted"}


def test_multi_value_cells() -> None:
    header = ["gtin", "lot", "quantity", "unit", "produced_at", "inputs", "additives_used"]
    # GS1 lot codes may contain ':' and ';', which the inputs encoding still reads right.
    rows = [[GTIN, "P1", "10", "pcs", "2026-11-26T10:00:00+08:00",
             f"{GTIN}:RM:1;A:800:kg；{GTIN}:RM2:200:kg", "山梨酸钾;乳酸链球菌素"]]
    (event,) = rows_to_events("production", read_rows("p.csv", csv_bytes(header, rows)))
    assert event["payload"]["inputs"] == [
        {"gtin": GTIN, "lot": "RM:1;A", "quantity": "800", "unit": "kg"},
        {"gtin": GTIN, "lot": "RM2", "quantity": "200", "unit": "kg"}]
    assert event["payload"]["additives_used"] == ["山梨酸钾", "乳酸链球菌素"]

    rows[0][5] = f"{GTIN}:RM1:800:kg;{BAD_GTIN}:RM2:200:kg;oops"
    with pytest.raises(SpreadsheetError) as caught:
        rows_to_events("production", read_rows("p.csv", csv_bytes(header, rows)))
    assert caught.value.problems == [Problem(2, "inputs", "entry 3 should read "
                                             "gtin:lot:quantity:unit, e.g. "
                                             "06901234567892:RM001:800:kg")]
    rows[0][5] = f"{GTIN}:RM1:800:kg;{BAD_GTIN}:RM2:200:kg"
    with pytest.raises(SpreadsheetError) as caught:
        rows_to_events("production", read_rows("p.csv", csv_bytes(header, rows)))
    assert caught.value.problems == [
        Problem(2, "inputs", "entry 2 gtin: GTIN check digit should be 2, got 3")]


def test_inspection_items_cell() -> None:
    header = ["gtin", "lot", "kind", "lab", "items", "verdict", "report_no", "inspected_at"]
    rows = [[GTIN, "P1", "self", "化验室", "铅=未检出|||合格；蛋白质=2.1|≥2.9|g/100g|fail", "fail",
             "R1", "2026-11-26T10:00:00+08:00"],
            [GTIN, "P2", "self", "化验室", "铅=0.01|≤0.05", "pass", "R2",
             "2026-11-26T10:00:00+08:00"]]
    with pytest.raises(SpreadsheetError) as caught:
        rows_to_events("inspection", read_rows("i.csv", csv_bytes(header, rows)))
    assert caught.value.problems == [Problem(3, "items", "entry 1 should read "
                                             "name=value|limit|unit|pass, e.g. "
                                             "三聚氰胺=0.05|≤2.5|mg/kg|pass")]
    (event,) = rows_to_events("inspection", read_rows("i.csv", csv_bytes(header, rows[:1])))
    assert [(i["name"], i["limit"], i["pass"]) for i in event["payload"]["items"]] == [
        ("铅", None, True), ("蛋白质", "≥2.9", False)]


@pytest.mark.parametrize(("name", "expected"), [
    ("shipment-2026-11.csv", "shipment"), ("production_week48.xlsx", "production"),
    ("product_registered.csv", "product_registered"), ("Material-Intake.CSV", "material_intake"),
    ("stock.csv", None)])
def test_type_from_file_name(name: str, expected: str | None) -> None:
    assert infer_type(name) == expected


@pytest.mark.parametrize(("name", "data", "message"), [
    ("x.txt", b"a,b", "expected a .csv or .xlsx file"),
    ("x.xlsx", b"not a zip", "not a readable XLSX workbook"),
    ("x.csv", b"\xff\xfe", "the file has no header row"),
    ("x.csv", b"\x81", "neither UTF-8 nor GB18030"),
])
def test_unreadable_files(name: str, data: bytes, message: str) -> None:
    with pytest.raises(SpreadsheetError, match=message):
        read_rows(name, data)


# --- the console upload ------------------------------------------------------------------------


def test_one_bad_row_in_a_thousand_imports_nothing(sqlite_app: Flask,
                                                   client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    before = size(client)
    html = upload(client, "material_intake", "intake.csv",
                  csv_bytes(INTAKE_HEADER, intake_rows(1000, bad_row=517)))
    assert report(html) == [("517", "gtin", "GTIN check digit should be 2, got 3")]
    assert "发现 1 处问题，未导入任何记录" in html
    assert size(client) == before

    html = upload(client, "material_intake", "intake.csv",
                  csv_bytes(INTAKE_HEADER, intake_rows(1000)))
    assert report(html) == []
    assert flashes(html)[0] == f"已导入 1000 条记录，账本序号 seq {before}–{before + 999}"
    assert size(client) == before + 1000


def test_a_rule_violation_is_reported_in_its_row(sqlite_app: Flask,
                                                 client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    before = size(client)
    header = ["gtin", "name", "category", "standard"]
    rows = [[gtin(n), f"产品{n}", "07", "GB 19645-2010"] for n in range(5)]
    rows[3][0] = rows[1][0]  # row 5 registers row 3's GTIN again
    html = upload(client, "product_registered", "products.csv", csv_bytes(header, rows))
    assert report(html) == [("5", "gtin", f"商品条码 {rows[1][0]} 已登记")]
    assert size(client) == before

    client.get("/console/lang/en")
    html = upload(client, "product_registered", "products.csv", csv_bytes(header, rows))
    assert report(html) == [("5", "gtin", f"GTIN {rows[1][0]} is already registered")]
    assert size(client) == before


def test_rule_violation_in_a_nested_cell(sqlite_app: Flask, client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    upload(client, "product_registered", "p.csv",
           csv_bytes(["gtin", "name", "category", "standard"],
                     [[GTIN, "牛奶", "07", "GB 19645-2010"]]))
    header = ["gtin", "lot", "quantity", "unit", "produced_at", "inputs"]
    rows = [[GTIN, f"P{n}", "10", "pcs", "2026-11-26T10:00:00+08:00", ""] for n in range(3)]
    rows[2][5] = f"{GTIN}:NO-SUCH-LOT:1:kg"
    html = upload(client, "production", "production.csv", csv_bytes(header, rows))
    assert report(html) == [("4", "inputs", f"entry 1 lot: 批次 {GTIN}/NO-SUCH-LOT 不存在")]


def test_upload_without_a_file(sqlite_app: Flask, client: FlaskClient) -> None:
    sign_in(sqlite_app, client)
    response = client.post("/console/import", data={
        "csrf_token": csrf_token(client, "/console/import"), "type": "shipment"})
    assert response.status_code == 422
    assert "请选择要导入的文件" in response.text


# --- tracenet import ---------------------------------------------------------------------------


def run_import(app: Flask, *args: str) -> tuple[int, str]:
    result = run_cli(app, "import", *args)
    return result.exit_code, result.output


def test_cli_import(sqlite_app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    uscc, _token = add_enterprise(sqlite_app, 1)
    before = size(client)
    sheet = tmp_path / "material_intake-2026-11.csv"
    sheet.write_bytes(csv_bytes(INTAKE_HEADER, intake_rows(30, bad_row=7)))
    code, output = run_import(sqlite_app, str(sheet), "--enterprise", uscc)
    assert code == 1
    assert "FAILED: 1 problem(s); nothing was imported" in output
    assert "row 7, gtin: GTIN check digit should be 2, got 3" in output
    assert size(client) == before

    sheet.write_bytes(csv_bytes(INTAKE_HEADER, intake_rows(30)))
    code, output = run_import(sqlite_app, str(sheet), "--enterprise", uscc)
    assert code == 0, output
    assert f"imported 30 material_intake records from {sheet.name}: seq {before}-" in output
    assert size(client) == before + 30


def test_cli_import_names_the_row_of_a_rule_violation(sqlite_app: Flask, client: FlaskClient,
                                                      tmp_path: Path) -> None:
    uscc, _token = add_enterprise(sqlite_app, 1)
    before = size(client)
    sheet = tmp_path / "new-products.csv"
    rows = [[gtin(n), f"产品{n}", "07", "GB 19645-2010"] for n in range(4)]
    rows[2][0] = rows[0][0]
    sheet.write_bytes(csv_bytes(["gtin", "name", "category", "standard"], rows))
    code, output = run_import(sqlite_app, str(sheet), "--enterprise", uscc, "--type",
                              "product_registered")
    assert code == 1
    assert f"row 4, gtin: GTIN {rows[0][0]} is already registered" in output
    assert size(client) == before


@pytest.mark.parametrize(("name", "message"), [
    ("events.json", "the document lacks the required field '@context'"),  # EPCIS 2.0
    ("week48.csv", "cannot tell the record type from the file name 'week48.csv'"),
])
def test_cli_import_refuses_what_it_cannot_read(sqlite_app: Flask, tmp_path: Path, name: str,
                                                message: str) -> None:
    uscc, _token = add_enterprise(sqlite_app, 1)
    path = tmp_path / name
    path.write_text("{}")
    code, output = run_import(sqlite_app, str(path), "--enterprise", uscc)
    assert code == 1
    assert message in output


def test_cli_import_for_an_enterprise_without_a_custodial_key(sqlite_app: Flask,
                                                              tmp_path: Path) -> None:
    sheet = tmp_path / "material_intake.csv"
    sheet.write_bytes(csv_bytes(INTAKE_HEADER, intake_rows(2)))
    code, output = run_import(sqlite_app, str(sheet), "--enterprise", make_uscc(404))
    assert code == 1
    assert "has no live custodial key" in output
