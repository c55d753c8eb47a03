"""The FSMA 204 export of the demo network: the library call, ``tracenet export fsma204``,
``GET /api/v1/exports/fsma204`` and the console's button give the same sorted spreadsheet,
one row per critical tracking event, in XLSX and CSV alike; bad parameters are JSON 400s."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, or_, select

from ledger.demo.network import demo_enterprises
from ledger.export import fsma204
from ledger.export.fsma204 import COLUMNS, export_rows, parse_request
from ledger.supervision.models import LotInputRow, RecordRow
from ledger.supervision.names import MATERIAL_INTAKE, PRODUCTION, RECEIPT, SHIPMENT
from tests.conftest import demo_app_in, issue_token, make_app, run_cli
from tests.web.test_api import bearer, error
from web.db import get_session

NETWORK = {enterprise.key: enterprise for enterprise in demo_enterprises()}
URL = "/api/v1/exports/fsma204"
#: wider than the demo's two months, so every event is in range
ALL = {"from": "2026-01-01", "to": "2026-12-31"}
MAPPED = (PRODUCTION, SHIPMENT, RECEIPT, MATERIAL_INTAKE)


@pytest.fixture(scope="module")
def demo_app() -> Iterator[Flask]:
    """An app over the demo network, loaded once."""
    yield from demo_app_in("tracenet-fsma-")


@pytest.fixture(scope="module")
def tokens(demo_app: Flask) -> dict[str, str]:
    def issue(key: str, role: str = "producer") -> str:
        return issue_token(demo_app, NETWORK[key].uscc, role)

    return {"regulator": issue("regulator", "regulator"), "dairy": issue("dairy")}


@pytest.fixture
def client(demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()


def _mapped_records(demo_app: Flask, viewer: str | None = None, **where: Any) -> int:
    """How many records of the mapped types the ledger holds (the rows to expect)."""
    with demo_app.app_context():
        query = select(func.count()).select_from(RecordRow).where(
            RecordRow.type.in_(MAPPED), RecordRow.superseded_by.is_(None),
            or_(RecordRow.type != MATERIAL_INTAKE, RecordRow.accepted.is_(True)))
        if viewer is not None:
            query = query.where(or_(RecordRow.enterprise == viewer,
                                    RecordRow.counterparty == viewer))
        for name, value in where.items():
            query = query.where(getattr(RecordRow, name) == value)
        return get_session().scalar(query) or 0


def _xlsx(data: bytes) -> list[tuple[str, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [tuple("" if cell is None else str(cell) for cell in row)
            for row in sheet.iter_rows(values_only=True)]


def _csv(text: str) -> list[tuple[str, ...]]:
    return [tuple(row) for row in csv.reader(io.StringIO(text))]


def _sort_key(row: tuple[str, ...]) -> tuple[str, datetime]:
    return row[0], datetime.fromisoformat(f"{row[5]}T{row[6]}")


def _get(client: FlaskClient, token: str | None, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=bearer(token) if token else {})


# --- the spreadsheet ---------------------------------------------------------------------------

def test_demo_export_opens_in_openpyxl_sorted_one_row_per_event(
        demo_app: Flask, client: FlaskClient, tokens: dict[str, str]) -> None:
    answer = _get(client, tokens["regulator"], format="xlsx", **ALL)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    header, *rows = _xlsx(answer.data)
    assert header == COLUMNS  # exactly the template's columns, in order
    assert len(rows) == _mapped_records(demo_app) > 1000
    assert rows == sorted(rows, key=_sort_key)
    assert all(len(row) == len(COLUMNS) for row in rows)
    ctes = {row[4] for row in rows}
    assert ctes == {"Receiving", "Shipping", "Transformation", "Initial Packing"}
    assert ctes <= set(fsma204.CTES)
    # every transformation names its inputs' lot codes, exactly as the ledger has them
    with demo_app.app_context():
        inputs = get_session().scalar(select(func.count()).select_from(LotInputRow))
    assert sum(len(row[15].split("; ")) for row in rows if row[4] == "Transformation") == inputs
    assert all(not row[15] for row in rows if row[4] != "Transformation")
    # shipping rows carry their delivery note, and a ship-to that is not the shipper
    shipping = [row for row in rows if row[4] == "Shipping"]
    assert shipping and all(row[13] in ("Delivery note", "Tracenet ledger entry")
                            and row[14] and row[11] != row[12] for row in shipping)
    assert all(row[0].startswith("(01)") and "(10)" in row[0] for row in rows)


def test_csv_round_trips_to_the_xlsx_rows(client: FlaskClient, tokens: dict[str, str]) -> None:
    workbook = _get(client, tokens["regulator"], format="xlsx", **ALL)
    text = _get(client, tokens["regulator"], **ALL)  # csv is the default
    assert text.status_code == 200 and text.mimetype == "text/csv"
    assert "attachment" in text.headers["Content-Disposition"]
    assert _csv(text.get_data(as_text=True)) == _xlsx(workbook.data)


def test_lot_filter_and_date_bounds(demo_app: Flask, client: FlaskClient,
                                    tokens: dict[str, str]) -> None:
    _, *rows = _csv(_get(client, tokens["regulator"], **ALL).get_data(as_text=True))
    gtin_lot = rows[len(rows) // 2][0]
    gtin, lot = gtin_lot[4:18], gtin_lot[22:]
    _, *one_lot = _csv(_get(client, tokens["regulator"], lot=lot, gtin=gtin, **ALL)
                       .get_data(as_text=True))
    assert one_lot == [row for row in rows if row[0] == gtin_lot]
    assert len(one_lot) == _mapped_records(demo_app, gtin=gtin, lot=lot)
    # a day's range: the events dated that day, both bounds inclusive
    day = rows[len(rows) // 3][5]
    _, *dated = _csv(_get(client, tokens["regulator"], **{"from": day, "to": day})
                     .get_data(as_text=True))
    assert dated == [row for row in rows if row[5] == day] and dated
    first, last = min(row[5] for row in rows), max(row[5] for row in rows)
    _, *before = _csv(_get(client, tokens["regulator"], **{"from": "2026-01-01",
                                                           "to": first}).get_data(as_text=True))
    assert before and all(row[5] == first for row in before)
    _, *after = _csv(_get(client, tokens["regulator"], **{"from": last, "to": "2026-12-31"})
                     .get_data(as_text=True))
    assert after and all(row[5] == last for row in after)


def test_a_producer_exports_only_the_events_it_is_party_to(
        demo_app: Flask, client: FlaskClient, tokens: dict[str, str]) -> None:
    dairy = NETWORK["dairy"].uscc
    _, *rows = _csv(_get(client, tokens["dairy"], **ALL).get_data(as_text=True))
    assert len(rows) == _mapped_records(demo_app, viewer=dairy) > 0
    # each row is the dairy's own event, or one whose other party is the dairy
    assert all(row[8] == dairy or dairy in row[11] + row[12] or NETWORK["dairy"].name
               in row[11] + row[12] for row in rows)
    _, *everything = _csv(_get(client, tokens["regulator"], **ALL).get_data(as_text=True))
    assert len(rows) < len(everything)
    assert set(rows) <= set(everything)


@pytest.mark.parametrize(("query", "field"), [
    ({"to": "2026-12-31"}, "from"),
    ({"from": "2026-01-01"}, "to"),
    ({"from": "2026-13-01", "to": "2026-12-31"}, "from"),
    ({"from": "yesterday", "to": "2026-12-31"}, "from"),
    ({"from": "2026-12-31", "to": "2026-01-01"}, "to"),
    ({"from": "1900-01-01", "to": "2026-01-01"}, "to"),
    ({**ALL, "format": "pdf"}, "format"),
    ({**ALL, "gtin": "123"}, "gtin"),
    ({**ALL, "gtin": "06901234567893"}, "gtin"),  # a wrong check digit
    ({"from": "20260101", "to": "2026-12-31"}, "from"),
    ({**ALL, "lot": "L" * 21}, "lot"),
])
def test_bad_parameters_are_json_400s(client: FlaskClient, tokens: dict[str, str],
                                      query: dict[str, str], field: str) -> None:
    answer = _get(client, tokens["regulator"], **query)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    body = error(answer)
    assert body["code"] in ("invalid_export", "validation_error")
    assert body["field"] == field and body["message"]


def test_anonymous_callers_get_401(client: FlaskClient) -> None:
    answer = _get(client, None, **ALL)
    assert answer.status_code == 401 and error(answer)["code"] == "unauthorized"


def test_openapi_documents_both_formats(client: FlaskClient) -> None:
    operation = client.get("/api/openapi.json").get_json()["paths"][URL]["get"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"text/csv", fsma204_xlsx()}
    assert {"400", "401"} <= set(operation["responses"])


def fsma204_xlsx() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- streamed, without a query per row --------------------------------------------------------

def test_rows_are_read_in_a_few_queries(demo_app: Flask) -> None:
    with demo_app.app_context():
        session = get_session()
        statements: list[str] = []
        engine = session.get_bind()

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            rows = list(export_rows(session, parse_request(start=ALL["from"], end=ALL["to"]),
                                    viewer=None))
        finally:
            event.remove(engine, "before_cursor_execute", count)
    # one query for the records, one per partition of 1,000 for transformation inputs
    assert len(rows) > 2000 and len(statements) <= 2 + len(rows) // 1000


# --- the CLI and the console ------------------------------------------------------------------

def test_cli_writes_csv_and_xlsx(demo_app: Flask, client: FlaskClient, tokens: dict[str, str],
                                 tmp_path: Path) -> None:
    expected = _csv(_get(client, tokens["regulator"], **ALL).get_data(as_text=True))
    printed = run_cli(demo_app, "export", "fsma204", "--from", ALL["from"], "--to", ALL["to"])
    assert printed.exit_code == 0, printed.output
    assert _csv(printed.stdout) == expected
    out = tmp_path / "fsma.xlsx"
    written = run_cli(demo_app, "export", "fsma204", "--from", ALL["from"], "--to", ALL["to"],
                      "--out", str(out))
    assert written.exit_code == 0, written.output
    assert _xlsx(out.read_bytes()) == expected
    lot = expected[1][0][22:]
    one = run_cli(demo_app, "export", "fsma204", "--from", ALL["from"], "--to", ALL["to"],
                  "--lot", lot, "--out", str(tmp_path / "one.csv"))
    assert one.exit_code == 0, one.output
    assert _csv((tmp_path / "one.csv").read_text(encoding="utf-8"))[1:] == [
        row for row in expected[1:] if row[0][22:] == lot]
    bad = run_cli(demo_app, "export", "fsma204", "--from", "2026-12-31", "--to", "2026-01-01")
    assert bad.exit_code != 0 and "invalid_export (to)" in bad.output


def test_console_button_downloads_the_enterprise_events(demo_app: Flask, client: FlaskClient,
                                                        tokens: dict[str, str]) -> None:
    from ledger.demo.network import DEMO_PASSWORD
    from tests.web.test_console import csrf_token

    client.get("/console/lang/zh_CN")
    signed_in = client.post("/console/login", data={
        "username": "dairy", "password": DEMO_PASSWORD, "csrf_token": csrf_token(client)})
    assert signed_in.status_code == 302, signed_in.text
    page = client.get("/console/").get_data(as_text=True)
    assert "导出 FSMA 204 表格" in page and 'name="from"' in page
    client.get("/console/lang/en")
    assert "Export FSMA 204 spreadsheet" in client.get("/console/").get_data(as_text=True)
    download = client.get("/console/exports/fsma204", query_string={**ALL, "format": "xlsx"})
    assert download.status_code == 200
    header, *rows = _xlsx(download.data)
    assert header == COLUMNS
    assert len(rows) == _mapped_records(demo_app, viewer=NETWORK["dairy"].uscc)
    refused = client.get("/console/exports/fsma204", query_string={"from": "x", "to": "y"})
    assert refused.status_code == 302


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_exports_what_sqlite_exports(demo_app: Flask, postgres: Any,
                                                tmp_path: Path) -> None:
    """The same query on PostgreSQL (server-side cursor, "C" collation for the order)."""
    app = make_app(postgres.new_database(), tmp_path)
    try:
        assert run_cli(app, "demo").exit_code == 0
        request = parse_request(start=ALL["from"], end=ALL["to"])
        with app.app_context():
            on_postgres = list(export_rows(get_session(), request, viewer=None))
            mine = list(export_rows(get_session(), request, viewer=NETWORK["dairy"].uscc))
        with demo_app.app_context():
            on_sqlite = list(export_rows(get_session(), request, viewer=None))
            mine_sqlite = list(export_rows(get_session(), request,
                                           viewer=NETWORK["dairy"].uscc))
    finally:
        app.extensions["tracenet.runtime"].close()
    assert on_postgres == on_sqlite and mine == mine_sqlite
    assert on_postgres == sorted(on_postgres, key=_sort_key)
