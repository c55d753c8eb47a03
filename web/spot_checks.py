"""Public spot-check disclosure (双随机一公开), without sign-in: every draw's plan (the frame's
size, the seed commitment published before the draw, the seed, who and which lots were drawn)
and the supervisory spot-check results (监督抽查结果): product, producer, lot, verdict and the
failed items, never quantities or customers. ``/spot-checks`` (HTML, zh-CN by default,
English on the console's language switch) and ``/spot-checks.json``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from ledger.risk.draws import plan_details, public_results
from web.console import i18n
from web.db import get_session

__all__ = ["bp"]

bp = Blueprint("public_spot_checks", __name__)

#: results and plans shown, newest first
LIMIT = 200

_WORDS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "app.subtitle": "公开信息",
        "app.footer": "公告出自可验证的哈希链账本：每条记录都经签名，只增不改。",
        "spot.title": "监督抽查信息公开",
        "spot.intro": "“双随机、一公开”：抽查对象按信用等级、产品风险和不合格记录加权随机抽取。"
                      "抽取前先在账本公布名录和随机种子的 SHA-256 承诺，抽取时公开种子，"
                      "任何人都可复算；抽查结果随检验记录公开。",
        "spot.results": "抽查结果",
        "spot.draws": "抽取记录",
        "spot.none": "暂无抽查结果。",
        "spot.no_draws": "暂无抽取记录。",
        "spot.col.product": "产品",
        "spot.col.producer": "生产企业",
        "spot.col.lot": "批次",
        "spot.col.verdict": "结论",
        "spot.col.items": "不合格项目",
        "spot.col.lab": "检验机构 / 报告编号",
        "spot.col.date": "检验日期",
        "spot.pass": "合格",
        "spot.fail": "不合格",
        "spot.drawn_in": "抽取计划 seq {plan}",
        "spot.commitment": "种子承诺（抽取前公布）",
        "spot.seed": "公开的种子",
        "spot.pending": "尚未抽取",
        "spot.frame": "名录 {size} 家，信用免检 {exempt} 家；抽取 {enterprises} 家",
        "spot.json": "JSON",
    },
    "en": {
        "app.subtitle": "Public notices",
        "app.footer": "These notices come from a verifiable, append-only, hash-chained ledger "
                      "of signed records.",
        "spot.title": "Supervisory spot checks",
        "spot.intro": "Random inspection targets, weighted by credit grade, product risk and "
                      "failures. Before each draw the frame and a SHA-256 commitment to the "
                      "random seed are published on the ledger; the draw reveals the seed, so "
                      "anyone can re-run it. Results are published with the inspections.",
        "spot.results": "Results",
        "spot.draws": "Draws",
        "spot.none": "No spot-check results yet.",
        "spot.no_draws": "No draws yet.",
        "spot.col.product": "Product",
        "spot.col.producer": "Producer",
        "spot.col.lot": "Lot",
        "spot.col.verdict": "Verdict",
        "spot.col.items": "Failed items",
        "spot.col.lab": "Laboratory / report",
        "spot.col.date": "Inspected",
        "spot.pass": "Passed",
        "spot.fail": "Failed",
        "spot.drawn_in": "drawn in plan seq {plan}",
        "spot.commitment": "Seed commitment (published before the draw)",
        "spot.seed": "Seed revealed",
        "spot.pending": "not drawn yet",
        "spot.frame": "frame of {size}, {exempt} exempt; {enterprises} drawn",
        "spot.json": "JSON",
    },
}


#: a word of this page in the current locale, else the console's
t = i18n.page_words(_WORDS)


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return i18n.public_page_helpers(t)


def _plans() -> list[dict[str, Any]]:
    # The public sees plans and draws, never the frame's weights (they name every producer).
    return plan_details(get_session(), limit=LIMIT)


@bp.get("/spot-checks")
def spot_checks_page() -> str:
    """Spot-check results and draws as a page, newest first."""
    return render_template("public/spot_checks.html", results=public_results(
        get_session(), limit=LIMIT), plans=_plans())


@bp.get("/spot-checks.json")
def spot_checks_json() -> Response:
    """The same as JSON: ``results`` and ``draws`` (``?limit=`` from 1 to 200)."""
    text = request.args.get("limit", str(LIMIT))
    limit = int(text) if text.isdigit() and 1 <= int(text) <= LIMIT else LIMIT
    return jsonify({"results": public_results(get_session(), limit=limit),
                    "draws": plan_details(get_session(), limit=limit)})
