"""Risk pages of the regulator console: the early-warning dashboard (charts drawn by echarts,
served by the app from npm), its alerts (acknowledged and closed with a note), spot-check
draws (双随机抽查: publish a plan with its seed commitment, then draw it) and standards
warnings (标准预警, which producers see for their own enterprise too).

Everything is decided by :mod:`ledger.risk`; a district bureau sees and acts only within its
district (``ledger.accounts.scope``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import Select, func, select
from werkzeug.wrappers import Response as BaseResponse

from ledger.accounts.models import UserRow
from ledger.accounts.roles import sees_everything
from ledger.accounts.scope import in_district, visible_enterprises
from ledger.errors import EntryError
from ledger.log.storage import EnterpriseRow
from ledger.risk.draws import draw_spot_check, plan_details, plan_spot_check
from ledger.risk.models import ALERT_STATUSES, RiskAlertRow
from ledger.risk.standards import standards_warnings
from ledger.risk.warning import (
    ALPHA,
    BASELINE_MONTHS,
    DIMENSIONS,
    MIN_BASELINE,
    MIN_FAILURES,
    acknowledge,
    close,
    list_alerts,
    rates,
    scan,
)
from ledger.supervision.recall_levels import CHINA
from ledger.supervision.reference import load_reference
from web.console import i18n
from web.console.listing import Column, Filter, Listing, download, run, wants_download
from web.console.views import bp, current_user, error_page, login_required
from web.db import get_ledger, get_session, get_vault

__all__ = ["WORDS", "rt"]

WORDS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "risk.title": "质量风险预警",
        "risk.intro": "近 12 个月各类别、产品大类、区县的检验不合格率。预警规则：某单元"
                      "（类别×区县、类别、大类或区县）本月不合格数与前 {months} 个月基线相比，"
                      "Fisher 精确检验单侧 p < {alpha}，且本月不合格不少于 {min_failures} 批次、"
                      "基线检验不少于 {min_baseline} 批次时发出预警。",
        "risk.chart.months": "月度不合格率",
        "risk.chart.category": "按类别",
        "risk.chart.class": "按产品大类",
        "risk.chart.district": "按区县",
        "risk.rate": "不合格率",
        "risk.inspections": "检验批次",
        "risk.failures": "不合格",
        "risk.scan": "立即扫描预警",
        "risk.scanned": "扫描完成：新增 {count} 条预警",
        "risk.open_alerts": "待处理预警（{count}）",
        "risk.all_alerts": "全部预警",
        "risk.no_alerts": "暂无预警。",
        "risk.no_data": "暂无检验数据。",
        "alerts.title": "预警列表",
        "alerts.filter": "状态",
        "alerts.any": "全部",
        "alerts.apply": "筛选",
        "alerts.col.cell": "预警单元",
        "alerts.col.month": "月份",
        "alerts.col.month_rate": "本月",
        "alerts.col.baseline": "基线（前 12 个月）",
        "alerts.col.p": "p 值",
        "alerts.col.status": "状态",
        "alerts.col.action": "处理",
        "alerts.status.open": "待处理",
        "alerts.status.acknowledged": "已受理",
        "alerts.status.closed": "已关闭",
        "alerts.dimension.category_district": "类别×区县",
        "alerts.dimension.category": "类别",
        "alerts.dimension.class": "产品大类",
        "alerts.dimension.district": "区县",
        "alerts.note": "处理说明",
        "alerts.acknowledge": "受理",
        "alerts.close": "关闭",
        "alerts.acknowledged": "预警 {id} 已受理",
        "alerts.closed": "预警 {id} 已关闭",
        "alerts.by": "{who} 于 {when}：{note}",
        "spot.title": "双随机抽查",
        "spot.intro": "随机抽取检查对象：按信用等级（A 级信用免检期内不抽取，C、D 级加权）、"
                      "产品类别风险和近一年不合格记录加权。先将抽查名录与随机种子的 SHA-256 "
                      "承诺写入账本公布，再公开种子并抽取；任何人都可用两条账本记录复算抽取"
                      "结果。",
        "spot.new": "制定抽查计划",
        "spot.field.title": "计划名称",
        "spot.field.enterprises": "抽取企业数",
        "spot.field.lots": "每家抽取批次数",
        "spot.field.categories": "限定类别（可选，代码以逗号分隔，如 07,08）",
        "spot.publish": "公布计划及种子承诺",
        "spot.published": "抽查计划已公布（seq {seq}，名录 {size} 家，免检 {exempt} 家）",
        "spot.draw": "公开种子并抽取",
        "spot.drawn": "已抽取（seq {seq}）",
        "spot.none": "暂无抽查计划。",
        "spot.commitment": "种子承诺",
        "spot.seed": "种子",
        "spot.frame": "名录 {size} 家，A 级免检 {exempt} 家",
        "spot.want": "抽取 {enterprises} 家，每家 {lots} 个批次",
        "spot.pending": "待抽取",
        "spot.selected": "抽中企业",
        "spot.on_site": "现场检查（无在产批次）",
        "spot.verdict.none": "待检验",
        "spot.verdict.pass": "合格",
        "spot.verdict.fail": "不合格",
        "spot.public": "公开的抽查结果",
        "standards.title": "标准预警",
        "standards.intro": "产品执行标准、检验依据中引用的已废止或即将被代替的标准，"
                           "按 {day} 的标准状态判断，并列出代替标准和涉及企业。",
        "standards.none": "没有引用已废止或即将被代替标准的记录。",
        "standards.kind.withdrawn": "已废止",
        "standards.kind.being_replaced": "即将被代替",
        "standards.kind.not_yet_effective": "尚未实施",
        "standards.replaced_by": "代替标准",
        "standards.effective": "实施日期",
        "standards.enterprises": "涉及企业（{count}）",
        "standards.enterprise": "企业",
        "standards.products": "产品",
        "standards.inspections": "检验记录",
        "standards.filings": "备案",
        "forbidden": "该页面仅供监管部门使用",
    },
    "en": {
        "risk.title": "Quality early warning",
        "risk.intro": "Inspection failure rates over the last 12 months by category, product "
                      "class and district. The rule: a cell (a category in a district, a "
                      "category, a class or a district) raises an alert when Fisher's exact "
                      "one-sided test of this month's failures against the previous {months} "
                      "months gives p < {alpha}, with at least {min_failures} failures this "
                      "month and {min_baseline} inspections in the baseline.",
        "risk.chart.months": "Failure rate by month",
        "risk.chart.category": "By category",
        "risk.chart.class": "By product class",
        "risk.chart.district": "By district",
        "risk.rate": "Failure rate",
        "risk.inspections": "Inspections",
        "risk.failures": "Failed",
        "risk.scan": "Scan for alerts now",
        "risk.scanned": "Scan done: {count} new alerts",
        "risk.open_alerts": "Open alerts ({count})",
        "risk.all_alerts": "All alerts",
        "risk.no_alerts": "No alerts.",
        "risk.no_data": "No inspections yet.",
        "alerts.title": "Alerts",
        "alerts.filter": "Status",
        "alerts.any": "All",
        "alerts.apply": "Filter",
        "alerts.col.cell": "Cell",
        "alerts.col.month": "Month",
        "alerts.col.month_rate": "This month",
        "alerts.col.baseline": "Baseline (previous 12 months)",
        "alerts.col.p": "p-value",
        "alerts.col.status": "Status",
        "alerts.col.action": "Action",
        "alerts.status.open": "Open",
        "alerts.status.acknowledged": "Acknowledged",
        "alerts.status.closed": "Closed",
        "alerts.dimension.category_district": "Category in district",
        "alerts.dimension.category": "Category",
        "alerts.dimension.class": "Product class",
        "alerts.dimension.district": "District",
        "alerts.note": "Note",
        "alerts.acknowledge": "Acknowledge",
        "alerts.close": "Close",
        "alerts.acknowledged": "Alert {id} acknowledged",
        "alerts.closed": "Alert {id} closed",
        "alerts.by": "{who}, {when}: {note}",
        "spot.title": "Random spot checks",
        "spot.intro": "Inspection targets drawn at random, weighted by credit grade (A-graded "
                      "enterprises are exempt during their exemption, C and D weigh more), the "
                      "category's risk class and a year's failed inspections. The frame and the "
                      "SHA-256 commitment to the seed are published on the ledger first, then "
                      "the seed is revealed and drawn: anyone can re-run the draw from the two "
                      "entries.",
        "spot.new": "New spot-check plan",
        "spot.field.title": "Plan title",
        "spot.field.enterprises": "Enterprises to draw",
        "spot.field.lots": "Lots per enterprise",
        "spot.field.categories": "Only these categories (optional, codes such as 07,08)",
        "spot.publish": "Publish the plan and seed commitment",
        "spot.published": "Plan published (seq {seq}, frame of {size}, {exempt} exempt)",
        "spot.draw": "Reveal the seed and draw",
        "spot.drawn": "Drawn (seq {seq})",
        "spot.none": "No spot-check plans yet.",
        "spot.commitment": "Seed commitment",
        "spot.seed": "Seed",
        "spot.frame": "frame of {size}, {exempt} exempt (A grade)",
        "spot.want": "draw {enterprises}, {lots} lots each",
        "spot.pending": "not drawn yet",
        "spot.selected": "Drawn",
        "spot.on_site": "on-site inspection (no current lots)",
        "spot.verdict.none": "to inspect",
        "spot.verdict.pass": "passed",
        "spot.verdict.fail": "failed",
        "spot.public": "Published results",
        "standards.title": "Standards warnings",
        "standards.intro": "Withdrawn or to-be-replaced standards cited as products' executing "
                           "standards or as inspections' basis, judged by the registry as of "
                           "{day}, with the replacement and the enterprises concerned.",
        "standards.none": "Nothing cites a withdrawn or to-be-replaced standard.",
        "standards.kind.withdrawn": "Withdrawn",
        "standards.kind.being_replaced": "Being replaced",
        "standards.kind.not_yet_effective": "Not yet in force",
        "standards.replaced_by": "Replaced by",
        "standards.effective": "In force from",
        "standards.enterprises": "Enterprises concerned ({count})",
        "standards.enterprise": "Enterprise",
        "standards.products": "Products",
        "standards.inspections": "Inspections",
        "standards.filings": "Filings",
        "forbidden": "This page is for regulators",
    },
}


#: a word of the risk pages in the current locale, else the console's
rt = i18n.page_words(WORDS)


def _regulator() -> UserRow:
    user = current_user()
    if not sees_everything(user.role):
        abort(403, rt("forbidden"))
    return user


def _now() -> datetime:
    return get_ledger().clock().astimezone(CHINA)


def _districts(user: UserRow) -> set[str] | None:
    """The districts of the enterprises ``user`` sees, or None for all."""
    visible = visible_enterprises(get_session(), user)
    if visible is None:
        return None
    return set(get_session().scalars(select(EnterpriseRow.district).where(
        EnterpriseRow.uscc.in_(sorted(visible)))))


def _scoped_alerts(user: UserRow, status: str | None) -> list[RiskAlertRow]:
    alerts = list_alerts(get_session(), status=status or None)
    if not user.district:
        return alerts
    return [a for a in alerts if a.district and in_district(a.district, user.district)]


#: the alerts listing (web/console/listing.py): searchable by cell, district and notes
ALERTS = Listing(
    name="alerts",
    columns=(
        Column("month", "alert.col.month"),
        Column("dimension", "alert.col.dimension",
               text=lambda item: i18n.t(f"alert.dimension.{item['dimension']}")),
        Column("key", "alert.col.cell", searchable=True,
               text=lambda item: _cell_label(item)),
        Column("district", "col.district", searchable=True, shown=False),
        Column("failures", "alert.col.failures"),
        Column("inspections", "alert.col.inspections"),
        Column("baseline_failures", "alert.col.baseline", sortable=False,
               text=lambda item: f"{item['baseline_failures']}/"
                                 f"{item['baseline_inspections']}"),
        Column("p_value", "alert.col.p_value", text=lambda item: f"{item['p_value']:.2e}"),
        Column("status", "alert.col.status",
               text=lambda item: i18n.t(f"alert.status.{item['status']}")),
        Column("notes", "alert.col.notes", searchable=True, shown=False),
        Column("id", "col.seq", shown=False),
    ),
    default_sort="month", default_desc=True, tiebreak="id",
    filters=(
        Filter("status", "alert.col.status",
               tuple((value, f"alert.status.{value}") for value in ALERT_STATUSES)),
        Filter("dimension", "alert.col.dimension",
               tuple((value, f"alert.dimension.{value}") for value in DIMENSIONS)),
        Filter("district", "col.district", prefix=True),
    ),
)


def _alert_query(user: UserRow) -> Select[Any]:
    a = RiskAlertRow
    notes = func.coalesce(a.acknowledge_note, "") + " " + func.coalesce(a.close_note, "")
    query = cast("Select[Any]", select(
                   a.id.label("id"), a.dimension.label("dimension"), a.key.label("key"),
                   a.month.label("month"), a.category.label("category"),
                   a.class_code.label("class_code"), a.district.label("district"),
                   a.inspections.label("inspections"), a.failures.label("failures"),
                   a.baseline_inspections.label("baseline_inspections"),
                   a.baseline_failures.label("baseline_failures"),
                   a.p_value.label("p_value"), a.status.label("status"),
                   a.raised_at.label("raised_at"), a.acknowledged_by.label("acknowledged_by"),
                   a.acknowledged_at.label("acknowledged_at"),
                   a.acknowledge_note.label("acknowledge_note"),
                   a.closed_by.label("closed_by"), a.closed_at.label("closed_at"),
                   a.close_note.label("close_note"), notes.label("notes")))
    if user.district:
        query = query.where(a.district.startswith(user.district, autoescape=True))
    return query


def _cell_label(alert: RiskAlertRow | Mapping[str, Any]) -> str:
    """The cell an alert is about, in the user's language: category, class, district."""
    def value(name: str) -> str | None:
        found = alert.get(name) if isinstance(alert, Mapping) else getattr(alert, name)
        return str(found) if found else None

    reference = load_reference()
    parts = []
    code = value("category")
    if code:
        category = reference.categories.get(code)
        parts.append(f"{code} " + (i18n.pick(category.name_zh, category.name_en)
                                   if category else ""))
    class_code = value("class_code")
    if class_code:
        known = next((c for c in reference.categories.values()
                      if c.class_code == class_code), None)
        parts.append(i18n.pick(known.class_zh, known.class_en) if known else class_code)
    district = value("district")
    if district:
        parts.append(district)
    return " · ".join(part.strip() for part in parts)


def _rule_words() -> dict[str, Any]:
    return {"months": BASELINE_MONTHS, "alpha": ALPHA, "min_failures": MIN_FAILURES,
            "min_baseline": MIN_BASELINE}


@bp.get("/risk")
@login_required
def risk_page() -> str:
    """The dashboard: charts of failure rates and the open alerts."""
    user = _regulator()
    alerts = [a for a in _scoped_alerts(user, None) if a.status != "closed"]
    return render_template("console/risk.html", rt=rt, alerts=alerts, cell_label=_cell_label,
                           rule=_rule_words())


@bp.get("/risk/data.json")
@login_required
def risk_data() -> Response:
    """The dashboard's figures, for its charts (rates as fractions, labels in both languages)."""
    user = _regulator()
    figures = rates(get_session(), districts=_districts(user), now=_now())
    figures["locale"] = i18n.current_locale()
    figures["words"] = {key: rt(key) for key in ("risk.rate", "risk.inspections",
                                                 "risk.failures", "risk.chart.months",
                                                 "risk.chart.category", "risk.chart.class",
                                                 "risk.chart.district")}
    return jsonify(figures)


@bp.post("/risk/scan")
@login_required
def risk_scan() -> BaseResponse:
    """Run the alert rule now (the worker runs it too) and show the alerts."""
    _regulator()
    session = get_session()
    raised = scan(session, now=_now())
    session.commit()
    flash(rt("risk.scanned", count=len(raised)), "success")
    return redirect(url_for("console.alerts_page"))


@bp.get("/risk/alerts")
@login_required
def alerts_page() -> Any:
    """Every alert of the account's scope, newest month first: paged, searchable, sortable,
    filterable by status, dimension and district, and downloadable as CSV or XLSX."""
    user = _regulator()
    session = get_session()
    query = _alert_query(user)
    fmt = wants_download()
    if fmt:
        return download(session, ALERTS, query, fmt)
    listed = run(session, ALERTS, query)
    return render_template("console/risk_alerts.html", rt=rt, listing=listed,
                           alerts=listed.items, cell_label=_cell_label)


def _own_alert(user: UserRow, alert: int) -> None:
    row = get_session().get(RiskAlertRow, alert)
    if row is None:
        abort(404)
    if user.district and not (row.district and in_district(row.district, user.district)):
        abort(404)


@bp.post("/risk/alerts/<int:alert>/acknowledge")
@login_required
def alert_acknowledge(alert: int) -> BaseResponse:
    """Acknowledge an alert with a note."""
    user = _regulator()
    _own_alert(user, alert)
    acknowledge(get_session(), alert, by=user.username, note=request.form.get("note", ""),
                now=_now())
    get_session().commit()
    flash(rt("alerts.acknowledged", id=alert), "success")
    return redirect(url_for("console.alerts_page", _anchor=f"alert-{alert}"))


@bp.post("/risk/alerts/<int:alert>/close")
@login_required
def alert_close(alert: int) -> BaseResponse:
    """Close an alert with a note."""
    user = _regulator()
    _own_alert(user, alert)
    close(get_session(), alert, by=user.username, note=request.form.get("note", ""),
          now=_now())
    get_session().commit()
    flash(rt("alerts.closed", id=alert), "success")
    return redirect(url_for("console.alerts_page", _anchor=f"alert-{alert}"))


def _back_to(endpoint: str) -> Any:
    def shown(exc: Exception) -> BaseResponse:
        message = i18n.pick(getattr(exc, "message_zh", None), getattr(exc, "message", str(exc)))
        flash(message, "error")
        return redirect(url_for(endpoint))
    return shown


error_page("console.alert_acknowledge")(_back_to("console.alerts_page"))
error_page("console.alert_close")(_back_to("console.alerts_page"))
error_page("console.spot_check_plan")(_back_to("console.spot_checks_page"))
error_page("console.spot_check_draw")(_back_to("console.spot_checks_page"))


@bp.get("/spot-checks")
@login_required
def spot_checks_page() -> str:
    """The plans of the account's scope, newest first, and the form for a new one."""
    user = _regulator()
    plans = plan_details(get_session())
    if user.district:
        plans = [p for p in plans if p["district"] and in_district(p["district"],
                                                                    user.district)]
    return render_template("console/spot_checks.html", rt=rt, plans=plans)


def _positive(name: str, default: int, high: int) -> int:
    text = request.form.get(name, "").strip() or str(default)
    if not text.isdigit() or not 0 <= int(text) <= high:
        raise EntryError(f"{name} must be a whole number from 0 to {high}", field=(name,))
    return int(text)


@bp.post("/spot-checks")
@login_required
def spot_check_plan() -> BaseResponse:
    """Publish a plan: the frame of the account's scope and a commitment to a fresh seed."""
    user = _regulator()
    title = request.form.get("title", "").strip()
    if not title:
        raise EntryError("the plan needs a title", field=("title",))
    enterprises = _positive("enterprises", 3, 10_000)
    if enterprises < 1:
        raise EntryError("draw at least one enterprise", field=("enterprises",))
    lots = _positive("lots_per_enterprise", 1, 20)
    categories = [c.strip() for c in request.form.get("categories", "").replace("，", ",")
                  .split(",") if c.strip()]
    known = load_reference().categories
    for code in categories:
        if code not in known:
            raise EntryError(f"{code!r} is not one of the 69 category codes",
                             field=("categories",))
    session = get_session()
    plan = plan_spot_check(session, get_ledger(), get_vault(), regulator=user.enterprise,
                           title=title[:200], enterprises=enterprises,
                           lots_per_enterprise=lots, district=user.district or None,
                           categories=categories or None,
                           within=visible_enterprises(session, user))
    session.commit()
    flash(rt("spot.published", seq=plan.seq, size=len(plan.frame.units),
             exempt=len(plan.frame.exempt)), "success")
    return redirect(url_for("console.spot_checks_page", _anchor=f"plan-{plan.seq}"))


@bp.post("/spot-checks/<int:seq>/draw")
@login_required
def spot_check_draw(seq: int) -> BaseResponse:
    """Reveal the plan's seed and record the draw."""
    _regulator()
    session = get_session()
    drawn = draw_spot_check(session, get_ledger(), get_vault(), plan=seq)
    session.commit()
    flash(rt("spot.drawn", seq=drawn), "success")
    return redirect(url_for("console.spot_checks_page", _anchor=f"plan-{seq}"))


@bp.get("/standards")
@login_required
def standards_page() -> str:
    """Standards warnings of what the account may see (a producer: its own)."""
    user = current_user()
    session = get_session()
    day = _now().date()
    items = standards_warnings(session, on=day, within=visible_enterprises(session, user))
    return render_template("console/standards.html", rt=rt, items=items,
                           day=day.isoformat())
