"""Quality credit on the web: the public lists (阳光行政) at ``/credit`` and ``/credit.json``,
the words of the credit pages, and :func:`keep_grades_current`.

Grades follow the entries as they arrive through ``tracenet worker`` (which runs the grading
once the ledger has been quiet a moment, beside the checkpoints), not through the requests
that append records: those add exactly the entries they were asked for. A page that shows
grades brings them current first (the grading's own entries, which the worker would append a
moment later anyway).

The public lists name the enterprises graded A (信用免检, with the exemption's end) and D
(信用惩戒, listed publicly with the reasons the ledger recorded); B and C are counted, not
named (a C warning is for the enterprise and the bureau).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, render_template
from sqlalchemy import select

from ledger import credit
from ledger.credit.engine import CatchUp, catch_up
from ledger.credit.models import CreditCursorRow
from ledger.log import rfc3339
from ledger.log.storage import EnterpriseRow, LedgerHead
from ledger.supervision.models import CreditChangeRow
from web.console import i18n
from web.db import get_ledger, get_session, get_vault

__all__ = ["CATCH_UP_LIMIT", "bp", "init_app", "keep_grades_current", "public_lists", "t"]

bp = Blueprint("credit", __name__)

#: entries one request's grading reads at most (a ledger far ahead is caught up over several)
CATCH_UP_LIMIT = 5000

_WORDS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "credit.title": "企业质量信用",
        "credit.public_title": "企业质量信用公示",
        "credit.public_intro": "质量信用等级由账本记录的事实自动评定（A 级须经申请和评审），"
                               "每次等级变动都是一条带依据的账本记录。",
        "credit.counts": "各等级企业数",
        "credit.exempt": "A 级 · 信用免检企业",
        "credit.sanctioned": "D 级 · 信用惩戒企业",
        "credit.none": "暂无。",
        "credit.enterprise": "企业",
        "credit.uscc": "统一社会信用代码",
        "credit.district": "所在地",
        "credit.grade": "信用等级",
        "credit.since": "评定时间",
        "credit.exempt_until": "免检截止",
        "credit.reason": "评定理由",
        "credit.evidence": "依据记录",
        "credit.json": "机器可读：",
        "credit.yours": "本企业质量信用",
        "credit.score": "当前评分",
        "credit.consequence": "监管措施",
        "credit.history": "等级变动记录",
        "credit.history_empty": "尚无等级变动：自登记起为 B 级（正常监管）。",
        "credit.change": "变动",
        "credit.cause.grading": "自动评定",
        "credit.cause.panel": "评审决定",
        "credit.cause.exemption_ended": "免检期满",
        "credit.factors": "当前计分依据（近 365 天）",
        "credit.factors_empty": "近 365 天没有影响评分的记录。",
        "credit.factor": "因素",
        "credit.points": "分值",
        "credit.recorded": "记录时间",
        "credit.how": "评分从 80 分起算：监督抽检合格加分、不合格扣分最多，召回按级别扣分，"
                      "迟报、漏报检验、未登记收货、违法违规和许可证缺失扣分；"
                      "达到 70 分升为 B 级，低于 65 分降为 C 级，达到 50 分升为 C 级，"
                      "低于 45 分降为 D 级。A 级（信用免检）须评分不低于 90 分"
                      "并经协会初审、区县局审核、市评审委员会决定。",
        "credit.applications": "信用免检申请",
        "credit.apply": "申请信用免检",
        "credit.apply_statement": "申请说明",
        "credit.apply_hint": "评分不低于 90 分可申请；申请依次经行业协会初审、区县局审核、"
                             "市评审委员会决定。",
        "credit.applied": "已提交申请（seq {seq}）。",
        "credit.state": "状态",
        "credit.steps": "审核步骤",
        "credit.approve": "通过",
        "credit.reject": "不通过",
        "credit.note": "意见",
        "credit.reviewed": "已记录审核（seq {seq}）。",
        "credit.queue": "待处理的申请",
        "credit.queue_empty": "没有待处理的申请。",
        "credit.graded": "非 B 级企业",
        "credit.enforce": "登记违法违规行为",
        "credit.violation": "违法违规类型",
        "credit.enforced": "已登记（seq {seq}）。",
        "credit.outcome.approve": "通过",
        "credit.outcome.reject": "不通过",
        "credit.nav": "质量信用",
    },
    "en": {
        "credit.title": "Quality credit",
        "credit.public_title": "Enterprise quality credit",
        "credit.public_intro": "Quality credit grades are given automatically from the facts on "
                               "the ledger (grade A on application and review), and every "
                               "change of grade is a ledger entry citing its evidence.",
        "credit.counts": "Enterprises by grade",
        "credit.exempt": "Grade A · credit exemption (信用免检)",
        "credit.sanctioned": "Grade D · credit sanction (信用惩戒)",
        "credit.none": "None.",
        "credit.enterprise": "Enterprise",
        "credit.uscc": "Unified social credit code",
        "credit.district": "District",
        "credit.grade": "Grade",
        "credit.since": "Graded",
        "credit.exempt_until": "Exempt until",
        "credit.reason": "Reasons",
        "credit.evidence": "Evidence",
        "credit.json": "Machine-readable:",
        "credit.yours": "Your quality credit",
        "credit.score": "Score now",
        "credit.consequence": "What it means",
        "credit.history": "Grade history",
        "credit.history_empty": "No change of grade yet: B (normal supervision) since "
                                "registration.",
        "credit.change": "Change",
        "credit.cause.grading": "automatic",
        "credit.cause.panel": "panel decision",
        "credit.cause.exemption_ended": "exemption ended",
        "credit.factors": "What counts now (last 365 days)",
        "credit.factors_empty": "Nothing in the last 365 days moves the score.",
        "credit.factor": "Factor",
        "credit.points": "Points",
        "credit.recorded": "Recorded",
        "credit.how": "The score starts at 80: spot checks count most, passed or failed; "
                      "recalls cost by level; late filings, missing inspections, shipments "
                      "never received, recorded violations and a missing licence cost points. "
                      "At 70 an enterprise goes up to B, below 65 down to C; at 50 up to C, "
                      "below 45 down to D. Grade A (credit exemption) needs a score of 90 and "
                      "an application reviewed by the association, the district bureau and the "
                      "city panel.",
        "credit.applications": "Credit exemption applications",
        "credit.apply": "Apply for credit exemption",
        "credit.apply_statement": "Statement",
        "credit.apply_hint": "With a score of at least 90 an enterprise may apply; the "
                             "association pre-reviews, the district bureau reviews, the city "
                             "panel decides.",
        "credit.applied": "Application filed (seq {seq}).",
        "credit.state": "State",
        "credit.steps": "Steps",
        "credit.approve": "Approve",
        "credit.reject": "Reject",
        "credit.note": "Note",
        "credit.reviewed": "Step recorded (seq {seq}).",
        "credit.queue": "Applications to act on",
        "credit.queue_empty": "No application is waiting.",
        "credit.graded": "Enterprises not at B",
        "credit.enforce": "Record a violation",
        "credit.violation": "Violation",
        "credit.enforced": "Recorded (seq {seq}).",
        "credit.outcome.approve": "approved",
        "credit.outcome.reject": "rejected",
        "credit.nav": "Quality credit",
    },
}


#: what a public page says in place of the console's title and footer
_PUBLIC: dict[str, dict[str, str]] = {
    "zh_CN": {"app.subtitle": "公开信息",
              "app.footer": "公示出自可验证的哈希链账本：每条记录都经签名，只增不改。"},
    "en": {"app.subtitle": "Public notices",
           "app.footer": "These lists come from a verifiable, append-only, hash-chained ledger "
                         "of signed records."},
}


def public_t(key: str, **params: object) -> str:
    """A word of the public credit page."""
    return _PUBLIC[i18n.current_locale()].get(key) or t(key, **params)


#: a word of the credit pages in the current locale, else the console's
t = i18n.page_words(_WORDS)


def keep_grades_current() -> CatchUp | None:
    """Run the grading over the entries appended since it last ran, in this request's
    transaction (the caller commits): a page about grades shows them current. None when
    nothing is new (read without taking the writers' lock)."""
    session = get_session()
    behind = session.execute(select(LedgerHead.size, CreditCursorRow.seq)
                             .join(CreditCursorRow, CreditCursorRow.id == 1, isouter=True)
                             .where(LedgerHead.id == 1)).first()
    if behind is None or (behind[1] is not None and behind[1] >= behind[0] - 1):
        return None
    return catch_up(session, get_ledger(), get_vault(), limit=CATCH_UP_LIMIT)


def init_app(app: Flask) -> None:
    """Register the public pages."""
    app.register_blueprint(bp)


def _moment(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None


def public_lists() -> dict[str, Any]:
    """What the public may see: counts by grade, the A list and the D list with reasons."""
    session = get_session()
    # Graded are the enterprises that make and trade goods, not the bureaus and associations.
    producers = set(session.scalars(select(EnterpriseRow.uscc).where(
        EnterpriseRow.roles.like("%producer%"))))
    standings = {uscc: standing for uscc, standing in credit.current_grades(session).items()
                 if uscc in producers}
    counts = dict.fromkeys(("A", "B", "C", "D"), 0)
    for standing in standings.values():
        counts[standing.grade] += 1
    listed = [s for s in standings.values() if s.grade in ("A", "D")]
    names = {row.uscc: row for row in session.scalars(select(EnterpriseRow).where(
        EnterpriseRow.uscc.in_([s.enterprise for s in listed])))} if listed else {}
    changes = {row.seq: row for row in session.scalars(select(CreditChangeRow).where(
        CreditChangeRow.seq.in_([s.seq for s in listed])))} if listed else {}

    def item(standing: credit.CreditStanding) -> dict[str, Any]:
        registered = names.get(standing.enterprise)
        change = changes.get(standing.seq)
        consequence = credit.CONSEQUENCES[standing.grade]
        return {"uscc": standing.enterprise,
                "name": registered.name if registered is not None else "",
                "district": registered.district if registered is not None else "",
                "grade": standing.grade, "since": _moment(standing.since),
                "exempt_until": _moment(standing.exempt_until), "seq": standing.seq,
                "consequence_zh": consequence.name_zh, "consequence_en": consequence.name_en,
                "reason_zh": change.reason_zh if change is not None else "",
                "reason_en": change.reason_en if change is not None else "",
                "evidence": json.loads(change.evidence) if change is not None else []}

    ordered = sorted(listed, key=lambda s: (s.since, s.enterprise), reverse=True)
    return {"generated_at": rfc3339(get_ledger().clock()), "counts": counts,
            "exempt": [item(s) for s in ordered if s.grade == "A"],
            "sanctioned": [item(s) for s in ordered if s.grade == "D"]}


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return i18n.public_page_helpers(public_t)


def _current_lists() -> dict[str, Any]:
    keep_grades_current()
    get_session().commit()
    return public_lists()


@bp.get("/credit")
def credit_page() -> str:
    """The public credit lists as a page (zh-CN, English through the language switch)."""
    return render_template("public/credit.html", lists=_current_lists())


@bp.get("/credit.json")
def credit_json() -> Response:
    """The public credit lists as JSON."""
    return jsonify(_current_lists())
