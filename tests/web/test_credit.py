"""Quality credit through HTTP and the CLI: grades follow the entries posted to the API (a
failed spot check, then a 一级 recall), the public lists at /credit and /credit.json, an
enterprise's own page with its grade, history and reasons in both languages, the application
flow's refusals on the page with the ledger unchanged, a producer cannot post a grade, and
``tracenet credit`` / ``tracenet rebuild`` agree with the ledger."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.credit import current_grades
from ledger.supervision.credit import names_seq
from tests.conftest import run_cli
from tests.ledger.conftest import make_uscc
from tests.web.test_api import add_enterprise, size
from tests.web.test_console import PASSWORD, add_user, csrf_token, pass_second_factor
from tests.web.test_rules import DRINK, Producer
from web.db import get_session


def grade_shown(client: FlaskClient, uscc: str) -> str:
    """The grade /credit.json shows for ``uscc`` (which brings the grades current)."""
    lists = client.get("/credit.json").get_json()
    for grade in ("exempt", "sanctioned"):
        for item in lists[grade]:
            if item["uscc"] == uscc:
                return str(item["grade"])
    with client.application.app_context():
        return current_grades(get_session())[uscc].grade


@pytest.fixture
def world(sqlite_app: Flask, client: FlaskClient) -> dict[str, Any]:
    """A maker with no licence on record (-15) and a lot that fails a third-party inspection
    (-5: C), then the regulator's spot check (-26: D), then an ordered 一级 recall; the maker
    has a console account."""
    maker = Producer(client, *add_enterprise(sqlite_app, 401))
    regulator = Producer(client, *add_enterprise(sqlite_app, 402, role="regulator"))
    add_user(sqlite_app, maker.uscc, "maker")
    maker.ok("product_registered", **maker.product())
    maker.ok("material_intake", **maker.intake())
    maker.ok("production", **maker.production())
    third_party = {**maker.inspection(verdict="fail", item_pass=False), "kind": "third_party",
                   "lab": "第三方检测公司", "report_no": "TP-1"}
    maker.ok("inspection", **third_party)
    # Appending adds only what was asked (the worker grades); a page about grades grades first.
    with sqlite_app.app_context():
        assert current_grades(get_session())[maker.uscc].grade == "B"
    after_third_party = grade_shown(client, maker.uscc)
    spot = {**maker.inspection(verdict="fail", item_pass=False), "kind": "spot_check",
            "lab": "福建省产品质量检验研究院", "report_no": "FJQI-1"}
    before = size(client)
    failed = regulator.ok("inspection", **spot)
    assert size(client) == before + 1
    after_spot_check = grade_shown(client, maker.uscc)
    response = client.post("/api/v1/recalls", headers={"Authorization":
                                                      f"Bearer {regulator.token}"}, json={
        "kind": "ordered", "level": 1, "reason": "监督抽检不合格", "hazard": "微生物超标",
        "lots": [{"gtin": DRINK, "lot": "P1"}], "producer": maker.uscc,
        "event_time": "2026-11-27T09:00:00+08:00"})
    assert response.status_code == 201, response.get_json()
    client.get("/credit.json")
    return {"maker": maker, "regulator": regulator, "failed": failed["seq"],
            "recall": response.get_json()["id"], "after_spot_check": after_spot_check,
            "after_third_party": after_third_party}


def test_grades_follow_the_entries_posted_and_the_public_lists_name_d(
        world: dict[str, Any], client: FlaskClient) -> None:
    maker = world["maker"]
    assert (world["after_third_party"], world["after_spot_check"]) == ("C", "D")
    lists = client.get("/credit.json").get_json()
    assert lists["counts"] == {"A": 0, "B": 0, "C": 0, "D": 1}  # producers only
    assert lists["exempt"] == []
    (listed,) = lists["sanctioned"]
    assert (listed["uscc"], listed["grade"], listed["name"]) == (maker.uscc, "D", "企业401")
    assert world["failed"] in listed["evidence"]
    for seq in listed["evidence"]:
        assert names_seq(listed["reason_zh"], seq) and names_seq(listed["reason_en"], seq)
    assert "failed spot check" in listed["reason_en"] and "监督抽检不合格" in listed["reason_zh"]
    # The change is a ledger entry, signed by the operator.
    entry = client.get(f"/api/v1/events/{listed['seq']}", headers={
        "Authorization": f"Bearer {world['regulator'].token}"}).get_json()
    assert entry["type"] == "credit_grade" and entry["enterprise"] == "operator"
    page = client.get("/credit")
    assert page.status_code == 200 and "企业质量信用公示" in page.text
    assert maker.uscc in page.text and f"seq {world['failed']}" in page.text
    client.get("/console/lang/en?next=/credit")
    english = client.get("/credit").text
    assert "Grade D" in english and "failed spot check" in english


def sign_in_maker(client: FlaskClient, lang: str) -> None:
    client.get(f"/console/lang/{lang}")
    response = client.post("/console/login", data={
        "username": "maker", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    pass_second_factor(client, response)


def test_an_enterprise_sees_its_grade_history_and_reasons(world: dict[str, Any],
                                                          client: FlaskClient) -> None:
    sign_in_maker(client, "zh_CN")
    page = client.get("/console/credit")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "本企业质量信用" in text and "信用惩戒" in text
    assert "B → C" in text and "C → D" in text  # the history, newest first
    assert f"seq {world['failed']}" in text and f"seq {world['recall']}" in text
    assert "监督抽检不合格" in text and "一级召回" in text  # the reasons and the factors
    client.get("/console/lang/en")
    english = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/console/credit").text))
    assert "Your quality credit" in english and "failed spot check" in english
    # Only its own page: asking for another enterprise shows its own.
    other = client.get(f"/console/credit?enterprise={world['regulator'].uscc}")
    assert world["regulator"].uscc not in other.text.split("credit-standing")[1][:400]


def test_refusals_come_back_on_the_page_and_change_nothing(world: dict[str, Any],
                                                          client: FlaskClient) -> None:
    sign_in_maker(client, "en")
    before = size(client)
    refused = client.post("/console/credit/apply", data={
        "statement": "申请", "csrf_token": csrf_token(client, "/console/credit")})
    assert refused.status_code == 422
    assert "credit exemption needs a score of at least 90.0" in refused.text
    step = client.post("/console/credit/applications/1/review", data={
        "outcome": "approve", "csrf_token": csrf_token(client, "/console/credit")})
    assert step.status_code == 422 and "no credit application at seq 1" in step.text
    assert size(client) == before


def test_a_producer_cannot_post_a_grade(world: dict[str, Any], client: FlaskClient) -> None:
    maker = world["maker"]
    before = size(client)
    response = maker.post("credit_grade", enterprise=maker.uscc, previous="D", grade="A",
                          score="99.0", as_of_seq=1, cause="grading", evidence=[1],
                          reason_zh="seq 1", reason_en="seq 1",
                          exempt_until="2029-01-01T00:00:00Z")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "rule.credit.not_operator"
    assert size(client) == before


def test_the_credit_commands_and_rebuild(world: dict[str, Any], sqlite_app: Flask) -> None:
    maker = world["maker"]
    shown = run_cli(sqlite_app, "credit", "show", maker.uscc, "--json")
    assert shown.exit_code == 0, shown.output
    history = json.loads(shown.output)
    assert history["grade"] == "D" and [c["grade"] for c in history["history"]] == ["D", "C"]
    assert run_cli(sqlite_app, "credit", "update").output.startswith("read 0 entries")
    rebuilt = run_cli(sqlite_app, "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "quality credit: 2 grade changes decided again" in rebuilt.output
    again = run_cli(sqlite_app, "credit", "rebuild")
    assert again.exit_code == 0 and "2 grade changes agree" in again.output
    assert run_cli(sqlite_app, "credit", "show").output.count(" D ") == 1


def test_the_application_flow_through_the_console(sqlite_app: Flask,
                                                  client: FlaskClient) -> None:
    """The maker applies (an entry through the API), the association, the district bureau
    and the city bureau take their steps on the console's credit page; a step by the wrong
    bureau is refused on the page with nothing appended; the approval grades the maker A."""
    parties = {}
    for name, serial, role, district in (
            ("maker", 611, "producer", "福州市鼓楼区"),
            ("association", 612, "association", "福州市"),
            ("district", 613, "regulator", "福州市鼓楼区"),
            ("city", 614, "regulator", "福州市")):
        uscc = make_uscc(serial)
        added = run_cli(sqlite_app, "enterprise", "add", "--uscc", uscc, "--name", name,
                        "--district", district, "--role", role)
        assert added.exit_code == 0, added.output
        parties[name] = (uscc, added.output.split("shown once): ")[1].strip())
        add_user(sqlite_app, uscc, f"{name}-user", role)
    maker = Producer(client, *parties["maker"])
    applied = maker.ok("credit_application", grade="A", statement="近三年抽检全部合格")

    def step(who: str, outcome: str = "approve") -> Any:
        client.get("/console/lang/en")
        signed_in = client.post("/console/login", data={
            "username": f"{who}-user", "password": PASSWORD, "csrf_token": csrf_token(client)})
        pass_second_factor(client, signed_in)
        queue = client.get("/console/credit").text
        return client.post(f"/console/credit/applications/{applied['seq']}/review", data={
            "outcome": outcome, "note": "同意", "csrf_token": csrf_token(client, "/console/credit"),
        }), queue

    response, queue = step("association")
    assert f"seq {applied['seq']}" in queue and response.status_code == 302
    before = size(client)
    refused, _queue = step("city")  # the district review is the district bureau's
    assert refused.status_code == 422 and "the applicant&#39;s district regulator" in refused.text
    assert size(client) == before
    assert step("district")[0].status_code == 302
    refused, _queue = step("district")  # the panel sits above the reviewing bureau
    assert refused.status_code == 422
    assert "the bureau above the reviewing district&#39;s" in refused.text
    assert step("city")[0].status_code == 302
    lists = client.get("/credit.json").get_json()
    (exempt,) = lists["exempt"]
    assert (exempt["uscc"], exempt["grade"]) == (maker.uscc, "A") and exempt["exempt_until"]
    assert applied["seq"] in exempt["evidence"]
