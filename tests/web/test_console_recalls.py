"""Recalls in the console through the Flask test client: a regulator orders one from the trace
page, holders see the notice and report progress, the recall is closed with the four-part
review; who sees and may do what; every refusal shown in its form with nothing written."""

from __future__ import annotations

import dataclasses
import re
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import make_app
from tests.web.test_api import size
from tests.web.test_console import csrf_token, flashes
from tests.web.test_console_trace import Network, build_network, login
from tests.web.test_rules import DRINK

REASON = "抽检发现菌落总数超标"
HAZARD = "可能引起肠胃不适"
REVIEW = {"cause": "灌装线清洗不彻底", "responsibility": "生产主管停职检查",
          "lessons": "全员培训清洗规程", "corrective_actions": "增加清洗后涂抹检测"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Network]]:
    """The network built once; each test gets a copy of its database (recalls write)."""
    instance = tmp_path_factory.mktemp("recall-network")
    app = make_app(f"sqlite:///{instance / 'tracenet.db'}", instance)
    network = build_network(app, app.test_client())
    yield instance, network
    app.extensions["tracenet.runtime"].close()


@pytest.fixture
def sqlite_app(template: tuple[Path, Network], tmp_path: Path) -> Iterator[Flask]:
    source_dir, _network = template
    source = sqlite3.connect(source_dir / "tracenet.db")
    copy = sqlite3.connect(tmp_path / "tracenet.db")
    with copy:
        source.backup(copy)  # consistent, WAL and all
    source.close()
    copy.close()
    shutil.copy(source_dir / "ledger_key.pem", tmp_path / "ledger_key.pem")
    app = make_app(f"sqlite:///{tmp_path / 'tracenet.db'}", tmp_path)
    yield app
    app.extensions["tracenet.runtime"].close()


@pytest.fixture
def network(template: tuple[Path, Network]) -> Network:
    return template[1]


def outbox_messages(app: Flask) -> int:
    from ledger.outbox.models import OutboxMessage
    from web.db import get_session

    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(OutboxMessage)) or 0


def post(client: FlaskClient, path: str, form: dict[str, str], page: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, page), **form})


def order(client: FlaskClient, **form: str) -> Any:
    """The regulator's order form, posted from the trace page."""
    page = f"/console/trace?gtin={DRINK}&lot=P1"
    fields = {"gtin": DRINK, "lot": "P1", "level": "2", "reason": REASON, "hazard": HAZARD}
    return post(client, "/console/recalls/new", fields | form, page)


def errors(html: str) -> dict[str, list[str]]:
    """Each invalid field's name and messages."""
    found: dict[str, list[str]] = {}
    for _tag, block in re.findall(r'<(label|fieldset|td)[^>]* class="[^"]*invalid[^"]*"[^>]*>(.*?)'
                                  r'</\1>', html, re.S):
        name = re.search(r'name="([^"]+)"', block)
        found[name[1] if name else "?"] = re.findall(r'class="error">([^<]*)<', block)
    return found


def started(client: FlaskClient) -> int:
    """Order a recall of P1 as the regulator; the recall's seq."""
    login(client, "regulator")
    response = order(client)
    assert response.status_code == 302, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def progress(client: FlaskClient, seq: int, page: str | None = None, **form: str) -> Any:
    page = page or f"/console/recalls/{seq}"
    fields = {"lots-0-gtin": DRINK, "lots-0-lot": "P1", "lots-0-unit": "pcs"}
    return post(client, f"/console/recalls/{seq}/progress", fields | form, page)


def test_only_regulators_are_offered_the_order_form(network: Network,
                                                    client: FlaskClient) -> None:
    login(client, "regulator")
    page = client.get(f"/console/trace?gtin={DRINK}&lot=P1").text
    assert 'id="order-recall"' in page and "一级召回" in page and "10 个工作日内完成" in page
    login(client, "maker")
    assert 'id="order-recall"' not in client.get(f"/console/trace?gtin={DRINK}&lot=P1").text
    assert client.get(f"/console/recalls/new?gtin={DRINK}&lot=P1").status_code == 403
    before = size(client)
    assert order(client).status_code == 403
    assert size(client) == before


def test_the_order_page_previews_the_scope(network: Network, client: FlaskClient) -> None:
    login(client, "regulator", "en")
    page = client.get(f"/console/recalls/new?gtin={DRINK}&lot=P1").text
    preview = page.split('id="scope-preview"')[1]
    assert "Scope: 1 lot(s), 3 enterprise(s)" in preview
    assert "企业101" in preview and "企业102" in preview and "企业103" in preview
    assert "1,500 pcs" in preview and "300 pcs" in preview and "200 pcs" in preview
    missing = client.get(f"/console/recalls/new?gtin={DRINK}&lot=NOPE")
    assert missing.status_code == 404
    assert "Lot 06901234567892 / NOPE is not on the ledger" in missing.text


@pytest.mark.parametrize(("lang", "form", "expected"), [
    ("zh_CN", {"level": "", "reason": "  "}, {"level": ["此项必填"], "reason": ["此项必填"]}),
    ("en", {"level": "", "reason": "  "}, {"level": ["Missing data for required field."],
                                           "reason": ["Missing data for required field."]}),
    ("zh_CN", {"level": "4"}, {"level": ["须为以下之一：1, 2, 3"]}),
    ("zh_CN", {"lot": "NOPE"}, {"lot": ["账本中没有批次 06901234567892 / NOPE"]}),
    ("en", {"gtin": "06901234567893"}, {"gtin": ["GTIN check digit should be 2, got 3"]}),
])
def test_a_refused_order_shows_in_its_form_and_writes_nothing(
        sqlite_app: Flask, network: Network, client: FlaskClient, lang: str,
        form: dict[str, str], expected: dict[str, list[str]]) -> None:
    login(client, "regulator", lang)
    before, queued = size(client), outbox_messages(sqlite_app)
    response = order(client, **form)
    assert response.status_code == 422
    assert errors(response.text) == expected
    assert f'value="{form.get("gtin", DRINK)}"' in response.text  # what was typed stays
    assert (size(client), outbox_messages(sqlite_app)) == (before, queued)


def test_a_regulator_orders_a_recall_and_every_holder_is_notified(
        sqlite_app: Flask, network: Network, client: FlaskClient) -> None:
    before = size(client)
    seq = started(client)
    assert size(client) == before + 1
    assert outbox_messages(sqlite_app) == 3  # maker, wholesaler, shop
    page = client.get(f"/console/recalls/{seq}").text
    assert flashes(page) == [f"已发起召回 seq {seq}，已通知 3 家企业"]
    assert "二级召回" in page and "召回中" in page and REASON in page and HAZARD in page
    holders = page.split('id="holders"')[1].split("</section>")[0]
    assert holders.count("<tr class=") == 3
    assert "企业101" in holders and "企业102" in holders and "企业103" in holders
    assert "0/3 家企业已完成" in page
    assert "应完成于" in page  # the deadline, 20 working days on
    # the regulator's dashboard and the list
    dashboard = client.get("/console/").text
    assert f'data-recall="{seq}"' in dashboard and "查看完成情况" in dashboard
    assert f'data-recall="{seq}"' in client.get("/console/recalls").text
    # the trace page now says the lot is under recall
    assert "正在召回中" in client.get(f"/console/trace?gtin={DRINK}&lot=P1").text


def test_a_holder_sees_its_notice_and_only_its_own_part(network: Network,
                                                        client: FlaskClient) -> None:
    seq = started(client)
    login(client, "shop")
    dashboard = client.get("/console/").text
    banner = re.search(r'<section class="recall-banner[^>]*>.*?</section>', dashboard, re.S)
    assert banner and "二级召回" in banner[0] and REASON in banner[0]
    assert "查看并报告进度" in banner[0]
    assert f'data-recall="{seq}"' in client.get("/console/recalls").text
    page = client.get(f"/console/recalls/{seq}").text
    assert "本企业的召回任务" in page
    assert "企业103" in page and "企业102" not in page.split('id="holders"')[1]
    assert 'id="report"' in page and 'id="close"' not in page
    login(client, "shop", "en")
    assert "See it and report progress" in client.get("/console/").text


def test_others_see_the_public_notice_only(network: Network, client: FlaskClient) -> None:
    seq = started(client)
    login(client, "stranger")
    assert "recall-banner" not in client.get("/console/").text
    listing = client.get("/console/recalls").text
    assert "暂无与本企业有关的召回" in listing
    assert f'href="/console/recalls/{seq}"' in listing.split('id="public-recalls"')[1]
    page = client.get(f"/console/recalls/{seq}").text
    assert REASON in page and 'id="holders"' not in page and 'id="report"' not in page
    before = size(client)
    refused = progress(client, seq, **{"lots-0-withdrawn": "1", "evidence": "X-1"})
    assert refused.status_code == 422
    assert "未通知" in refused.text and size(client) == before


def test_holders_report_progress_and_mistakes_are_shown_in_the_form(
        network: Network, client: FlaskClient) -> None:
    seq = started(client)
    login(client, "shop")
    before = size(client)
    bad = progress(client, seq, **{"lots-0-withdrawn": "lots", "evidence": "X-1"})
    assert bad.status_code == 422
    assert errors(bad.text) == {"lots-0-withdrawn": ["应为普通小数，如 12.5"]}
    assert 'value="lots"' in bad.text
    no_evidence = progress(client, seq, **{"lots-0-withdrawn": "150"})
    assert no_evidence.status_code == 422
    assert errors(no_evidence.text) == {
        "evidence": ["报告了下架、追回、销毁或处理数量，须附证明材料编号"]}
    too_much = progress(client, seq, **{"lots-0-destroyed": "500", "evidence": "X-1"})
    assert too_much.status_code == 422 and "lots-0-destroyed" in errors(too_much.text)
    assert size(client) == before
    done = progress(client, seq, **{"lots-0-withdrawn": "150", "lots-0-destroyed": "50",
                                    "evidence": "XH-01；照片-2", "note": "已下架封存"})
    assert done.status_code == 302
    page = client.get(f"/console/recalls/{seq}").text
    assert re.search(r"召回进度已写入账本，序号 seq \d+", page)
    assert "下架 150 件" in page and "销毁 50 件" in page and "XH-01、照片-2" in page
    complete = progress(client, seq, complete="true", evidence="XH-02")
    assert complete.status_code == 302
    page = client.get(f"/console/recalls/{seq}").text
    assert "state-complete" in page
    login(client, "regulator")
    assert "1/3 家企业已完成（33.3%）" in client.get(f"/console/recalls/{seq}").text


def test_closing_needs_a_regulator_and_the_four_reviews(network: Network,
                                                        client: FlaskClient) -> None:
    seq = started(client)
    login(client, "maker")  # the producer carrying the ordered recall out
    page = client.get(f"/console/recalls/{seq}").text
    assert 'id="close"' not in page and "责令召回须由监管部门审核后结束" in page
    before = size(client)
    forged = post(client, f"/console/recalls/{seq}/close", REVIEW, f"/console/recalls/{seq}")
    assert forged.status_code == 422 and "不是监管部门" in forged.text
    login(client, "regulator", "en")
    for missing in REVIEW:
        response = post(client, f"/console/recalls/{seq}/close",
                        {**REVIEW, missing: " "}, f"/console/recalls/{seq}")
        assert response.status_code == 422
        assert errors(response.text) == {missing: ["Missing data for required field."]}
        assert REVIEW[next(k for k in REVIEW if k != missing)] in response.text  # kept
    assert size(client) == before
    closed = post(client, f"/console/recalls/{seq}/close", {**REVIEW, "report": "ZJ-7"},
                  f"/console/recalls/{seq}")
    assert closed.status_code == 302
    page = client.get(f"/console/recalls/{seq}").text
    assert "Closed" in page and 'id="closure"' in page and REVIEW["lessons"] in page
    assert 'id="close"' not in page
    assert "recall-banner" not in client.get("/console/").text
    login(client, "shop")
    assert "recall-banner" not in client.get("/console/").text
    assert 'id="report"' not in client.get(f"/console/recalls/{seq}").text


def test_an_unknown_recall_is_not_found(network: Network, client: FlaskClient) -> None:
    login(client, "shop")
    assert client.get("/console/recalls/9999").status_code == 404
    before = size(client)
    assert progress(client, 9999, "/console/recalls", evidence="X").status_code == 404
    assert size(client) == before


def test_holders_past_the_deadline_are_flagged(sqlite_app: Flask, network: Network,
                                               client: FlaskClient) -> None:
    seq = started(client)
    runtime = sqlite_app.extensions["tracenet.runtime"]
    start = runtime.ledger.clock()
    runtime.ledger = dataclasses.replace(runtime.ledger, clock=lambda: start + timedelta(days=60))
    page = client.get(f"/console/recalls/{seq}").text
    assert "有企业逾期" in page and "3 家逾期" in page and page.count("flag-overdue") >= 4
    assert "3 家逾期" in client.get("/console/recalls").text
