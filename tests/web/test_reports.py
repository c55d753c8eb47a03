"""The white paper rendered (web.reports): the demo year's PDF, whose pages, converted to PNG
with PDFium, show every chart (none blank); the CLI; the console's download for bureaus;
and the public /transparency page, whose verification recipe is run against it."""

from __future__ import annotations

import base64
import io
import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import numpy
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from cryptography.exceptions import InvalidSignature
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from ledger.demo.network import DEMO_PASSWORD
from ledger.log.checkpoint import open_checkpoint, parse_verifier_key
from tests.conftest import run_cli
from tests.web.test_console import csrf_token, pass_second_factor
from web.report_charts import PALETTE
from web.transparency import VERIFY_SNIPPET

#: the charts of a report: trend, inspections by kind, category, district, recalls, grades,
#: index
CHARTS = 7


@pytest.fixture(scope="module")
def demo(reports_demo: Flask) -> Flask:
    return reports_demo


@pytest.fixture(scope="module")
def whitepaper(demo: Flask, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("whitepaper") / "whitepaper-2026.pdf"
    result = run_cli(demo, "report", "whitepaper", "--year", "2026", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def _rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _chart_pixels(image: Image.Image) -> tuple[float, int]:
    """The share of non-white pixels, and how many pixels are of a chart's own colours."""
    pixels = numpy.asarray(image.convert("RGB"), dtype=numpy.int32)
    inked = float((pixels.min(axis=2) < 235).mean())
    coloured = 0
    for name in ("pass", "fail", "brand", "previous"):
        distance = numpy.abs(pixels - numpy.array(_rgb(PALETTE[name]))).sum(axis=2)
        coloured += int((distance < 40).sum())
    return inked, coloured


def test_the_demo_white_paper_pdf_shows_every_chart(whitepaper: Path) -> None:
    pdf = pdfium.PdfDocument(whitepaper)
    charts = []
    for index in range(len(pdf)):
        page = pdf[index]
        scale = 2.0
        bitmap = page.render(scale=scale).to_pil()
        bitmap.save(whitepaper.with_name(f"page-{index + 1}.png"))
        height = page.get_height()
        for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
            left, bottom, right, top = image.get_bounds()
            box = (int(left * scale), int((height - top) * scale), int(right * scale),
                   int((height - bottom) * scale))
            charts.append((index + 1, bitmap.crop(box)))
    pages = len(pdf)
    pdf.close()
    assert pages >= 3
    assert len(charts) == CHARTS, [page for page, _ in charts]
    for page, chart in charts:
        assert chart.width > 300 and chart.height > 100, (page, chart.size)
        inked, coloured = _chart_pixels(chart)
        # Axes, labels and bars: a blank or failed chart is (nearly) all white, and a chart
        # drawn without its data has no bar or line in the report's colours.
        assert inked > 0.03, (page, inked)
        assert coloured > 200, (page, coloured)


def test_the_pdf_text_carries_the_figures(whitepaper: Path) -> None:
    pdf = pdfium.PdfDocument(whitepaper)
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    for words in ("2026年质量状况白皮书", "批次合格率", "监督抽查", "产值合格率", "质量竞争力指数",
                  "三聚氰胺", "SR20261102"):
        assert words in text, words


def test_the_cli_writes_html_in_either_language_and_a_district_report(
        demo: Flask, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = run_cli(demo, "report", "district", "--district", "福州市", "--year", "2026",
                     "--quarter", "4", "--out", str(html), "--lang", "en")
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert "Quality report 2026 Q4: 福州市" in text
    assert text.count("data:image/png;base64,") == CHARTS
    assert "<style>" in text and "龙岩市长汀县" not in text  # self-contained, Fuzhou only
    refused = run_cli(demo, "report", "whitepaper", "--year", "2026", "--out",
                      str(tmp_path / "report.txt"))
    assert refused.exit_code == 2 and "must end in .pdf or .html" in refused.output
    unknown = run_cli(demo, "report", "district", "--district", "上海市", "--year", "2026",
                      "--quarter", "1", "--out", str(html))
    assert unknown.exit_code == 1 and "no enterprise is registered" in unknown.output


def _sign_in(client: FlaskClient, username: str) -> None:
    client.get("/console/lang/zh_CN")
    response = client.post("/console/login", data={
        "username": username, "password": DEMO_PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.text
    pass_second_factor(client, response)


def test_a_regulator_downloads_the_white_paper_from_the_console(demo: Flask) -> None:
    client = demo.test_client()
    _sign_in(client, "regulator")
    page = client.get("/console/reports")
    assert page.status_code == 200 and 'id="nav-reports"' in page.text
    ready = client.get("/console/reports?kind=whitepaper&year=2026&lang=zh_CN")
    assert ready.status_code == 200 and "2026年质量状况白皮书" in ready.text
    links = dict(re.findall(r'id="report-(pdf|html|preview)" href="([^"]+)"', ready.text))
    pdf = client.get(links["pdf"].replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-") and "attachment" in pdf.headers["Content-Disposition"]
    document = pdfium.PdfDocument(pdf.data)
    assert len(document) >= 3
    document.close()
    html = client.get(links["html"].replace("&amp;", "&"))
    assert html.mimetype == "text/html" and html.text.count("data:image/png") == CHARTS
    preview = client.get(links["preview"].replace("&amp;", "&"))
    assert preview.status_code == 200 and "/static/report.css" in preview.text
    assert "<style>" not in preview.text  # the CSP forbids inline styles on the site
    district = client.get("/console/reports/download?kind=district&year=2026&quarter=4"
                          "&district=%E5%8E%A6%E9%97%A8%E5%B8%82&format=html&lang=en")
    assert district.status_code == 200 and "Quality report 2026 Q4: 厦门市" in district.text


@pytest.mark.parametrize(("query", "status", "field"), [
    ("kind=whitepaper&year=1999", 400, "year"),
    ("kind=whitepaper&year=twenty", 400, "year"),
    ("kind=district&year=2026&quarter=2", 400, "district"),
    ("kind=district&year=2026&quarter=9&district=x", 400, "quarter"),
    ("kind=whitepaper&year=2026&district=%E4%B8%8A%E6%B5%B7", 400, "district"),
    ("kind=annual&year=2026", 400, "kind"),
])
def test_bad_requests_show_the_form_with_the_problem(demo: Flask, query: str, status: int,
                                                     field: str) -> None:
    client = demo.test_client()
    _sign_in(client, "regulator")
    for path in ("/console/reports", "/console/reports/download", "/console/reports/preview"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == status, (path, response.text[:300])
        assert f'data-field="{field}"' in response.text, path
    bad_format = client.get("/console/reports/download?year=2026&format=docx")
    assert bad_format.status_code == 400 and 'data-field="format"' in bad_format.text


def test_a_producer_cannot_download_reports(demo: Flask) -> None:
    client = demo.test_client()
    _sign_in(client, "dairy")
    assert 'id="nav-reports"' not in client.get("/console/").text
    for path in ("/console/reports", "/console/reports/download?year=2026&format=html"):
        assert client.get(path).status_code == 403


def test_transparency_shows_the_signed_checkpoint_and_the_operator_key(demo: Flask) -> None:
    client = demo.test_client()
    page = client.get("/transparency")
    assert page.status_code == 200 and "账本透明度" in page.text
    vkey = client.get("/api/v1/ledger/key").text.strip()
    assert vkey in page.text
    facts = client.get("/transparency.json").get_json()
    assert facts["operator_key"] == vkey and facts["signature_verified"] is True
    name, public_key = parse_verifier_key(vkey)
    checkpoint = open_checkpoint(facts["checkpoint"], key_name=name, public_key=public_key)
    assert checkpoint.size == facts["size"] and f"{checkpoint.size:,}" in page.text
    assert base64.b64encode(checkpoint.root_hash).decode() == facts["root_hash"]
    assert checkpoint.root_hash.hex() in page.text
    english = demo.test_client()
    english.get("/console/lang/en")
    assert "Ledger transparency" in english.get("/transparency").text


def test_the_pages_verification_recipe_verifies_the_checkpoint(
        demo: Flask, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    client = demo.test_client()
    facts = client.get("/transparency.json").get_json()
    served = {"http://localhost/api/v1/ledger/checkpoint": facts["checkpoint"].encode()}

    def urlopen(url: str) -> Any:
        return io.BytesIO(served[url])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    code = VERIFY_SNIPPET.format(base="http://localhost", vkey=facts["operator_key"])
    exec(compile(code, "transparency-snippet", "exec"), {})  # noqa: S102 - our own page's recipe
    assert f"checkpoint verified: {facts['size']} entries" in capsys.readouterr().out
    # and a forged checkpoint does not pass it
    forged = facts["checkpoint"].replace(f"\n{facts['size']}\n", f"\n{facts['size'] + 1}\n")
    served["http://localhost/api/v1/ledger/checkpoint"] = forged.encode()
    with pytest.raises(InvalidSignature):
        exec(compile(code, "transparency-snippet", "exec"), {})  # noqa: S102
    assert json.dumps(facts)  # the JSON round-trips


def test_a_district_bureau_reports_on_its_own_district_only(demo: Flask) -> None:
    from ledger.accounts.models import UserRow
    from web.db import get_session

    bureau = "11350000MB0143028U"  # the demo's provincial bureau enterprise
    added = run_cli(demo, "user", "add", "--enterprise", bureau, "--username", "reports.xiamen",
                    "--password", DEMO_PASSWORD, "--role", "regulator")
    assert added.exit_code == 0, added.output
    with demo.app_context():
        db = get_session()
        row = db.get(UserRow, "reports.xiamen")
        assert row is not None
        row.district = "厦门市"
        db.commit()
    client = demo.test_client()
    _sign_in(client, "reports.xiamen")
    own = client.get("/console/reports?kind=whitepaper&year=2026&lang=en")
    assert own.status_code == 200 and "Quality report 2026: 厦门市" in own.text
    part = client.get("/console/reports/download?kind=district&year=2026&quarter=4"
                      "&district=%E5%8E%A6%E9%97%A8%E5%B8%82%E9%9B%86%E7%BE%8E%E5%8C%BA"
                      "&format=html&lang=en")
    assert part.status_code == 200 and "厦门市集美区" in part.text
    assert "福州市" not in part.text and "龙岩市" not in part.text
    other = client.get("/console/reports/download?kind=whitepaper&year=2026"
                       "&district=%E7%A6%8F%E5%B7%9E%E5%B8%82&format=pdf")
    assert other.status_code == 403 and 'data-field="district"' in other.text
