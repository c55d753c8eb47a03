"""The bureau's report downloads (/console/reports): the annual quality white paper and the
quarterly district reports, as PDF or HTML, and a preview in the page.

Regulators and administrators only. A district bureau (its scope limited by
:func:`ledger.accounts.scope.visible_enterprises`) gets reports of its own district (or a part
of it) only, counted over the enterprises it may see; the city bureau, any district.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Response, abort, render_template, request, url_for
from sqlalchemy import select

from ledger.accounts.roles import sees_everything
from ledger.accounts.scope import visible_enterprises
from ledger.errors import LedgerError
from ledger.log.storage import EnterpriseRow
from ledger.reports import Period, Report, Scope, build_report, scope_of
from ledger.supervision.recall_levels import CHINA
from web import reports
from web.console import i18n
from web.console.views import bp, current_user, login_required
from web.db import get_session

__all__ = ["report_download", "report_preview", "reports_page"]

_WORDS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "title": "质量状况白皮书与地区报告",
        "intro": "按年度生成质量状况白皮书，或按季度生成地区报告：分品类、分地区批次合格率，"
                 "监督抽查结果，产值合格率，召回，企业信用等级分布，同比走势和质量竞争力指数。",
        "kind": "报告类型",
        "kind.whitepaper": "年度质量状况白皮书",
        "kind.district": "季度地区报告",
        "year": "年度",
        "quarter": "季度",
        "quarter.n": "第{n}季度",
        "district": "地区",
        "district.all": "全部辖区",
        "district.hint": "填写地区名称，或其前缀（如“福州市”包括其下各区县）。",
        "lang": "报告语言",
        "make": "生成报告",
        "preview": "在线查看",
        "lots": "批次合格率",
        "spot": "监督抽查合格率",
        "recalls": "召回",
        "index": "质量竞争力指数",
        "pdf": "下载 PDF",
        "html": "下载 HTML",
        "needs_district": "季度地区报告需要选择地区。",
        "scoped": "本账号只能生成本辖区的报告。",
        "not_yours": "不能生成辖区以外地区的报告：{district}",
    },
    "en": {
        "title": "Quality white paper and district reports",
        "intro": "The annual quality white paper, or a quarterly district report: lot "
                 "qualification rates by category and district, spot-check results, the "
                 "output-value qualification rate, recalls, credit grades, the trend against "
                 "the previous year and the quality competitiveness index.",
        "kind": "Report",
        "kind.whitepaper": "Annual quality white paper",
        "kind.district": "Quarterly district report",
        "year": "Year",
        "quarter": "Quarter",
        "quarter.n": "Q{n}",
        "district": "District",
        "district.all": "All districts",
        "district.hint": "A district's name, or its start (福州市 takes in all its districts).",
        "lang": "Language",
        "make": "Make the report",
        "preview": "View online",
        "lots": "Lot qualification rate",
        "spot": "Spot-check pass rate",
        "recalls": "Recalls",
        "index": "Quality competitiveness index",
        "pdf": "Download PDF",
        "html": "Download HTML",
        "needs_district": "A quarterly district report needs a district.",
        "scoped": "This account may only make reports of its own districts.",
        "not_yours": "Not a district of this account: {district}",
    },
}


def rt(key: str, **params: object) -> str:
    """A word of the reports page in the current locale."""
    text = _WORDS[i18n.current_locale()][key]
    return text.format(**params) if params else text


class _Refused(Exception):
    """A request the page answers with its form and a message (400 or 403)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def _require_bureau() -> None:
    if not sees_everything(current_user().role):
        abort(403)


def _visible() -> frozenset[str] | None:
    """The enterprises the signed-in bureau may see (None: all)."""
    visible = visible_enterprises(get_session(), current_user())
    return None if visible is None else frozenset(visible)


def _districts(visible: frozenset[str] | None) -> list[str]:
    rows = get_session().execute(select(EnterpriseRow.uscc, EnterpriseRow.district))
    return sorted({district for uscc, district in rows
                   if district and (visible is None or uscc in visible)})


def _today_year() -> int:
    return datetime.now(CHINA).year


def _ask(args: Mapping[str, str]) -> dict[str, str]:
    """The form's values as given (defaults filled in)."""
    return {"kind": args.get("kind", "whitepaper"), "year": args.get("year", ""),
            "quarter": args.get("quarter", ""), "district": args.get("district", "").strip(),
            "lang": args.get("lang", i18n.current_locale())}


def _report(values: Mapping[str, str]) -> Report:
    """The report the form asks for, within the bureau's scope; _Refused if it can't be."""
    kind = values["kind"]
    if kind not in ("whitepaper", "district"):
        raise _Refused(400, f"expected kind whitepaper or district, got {kind!r}", "kind")
    try:
        year = int(values["year"] or _today_year())
        quarter = int(values["quarter"]) if kind == "district" else None
    except ValueError:
        raise _Refused(400, "expected a year and quarter in digits",
                       "quarter" if values["year"].isdigit() else "year") from None
    visible = _visible()
    # A district bureau's reports are of its own district unless it names a part of it.
    district = values["district"] or (current_user().district or None if visible is not None
                                      else None)
    if kind == "district" and district is None:
        raise _Refused(400, rt("needs_district"), "district")
    session = get_session()
    try:
        period = Period(year, quarter)
        if kind == "district" and quarter is None:
            raise _Refused(400, "expected a quarter 1 to 4", "quarter")
        if visible is not None and district is None:
            raise _Refused(403, rt("scoped"), "district")
        scope = scope_of(session, district)
    except LedgerError as exc:
        raise _Refused(400, exc.message, str(exc.field[0]) if exc.field else None) from None
    if visible is not None:
        members = (scope.enterprises or frozenset()) & visible
        if not members:
            raise _Refused(403, rt("not_yours", district=district), "district")
        scope = Scope(scope.district, members)
    return build_report(session, period, scope, now=datetime.now(UTC))


def _locale(values: Mapping[str, str]) -> str:
    return values["lang"] if values["lang"] in reports.LOCALES else i18n.current_locale()


def _page(values: Mapping[str, str], *, error: _Refused | None = None,
          report: Report | None = None) -> tuple[str, int]:
    visible = _visible()
    links = None
    if report is not None:
        query: dict[str, Any] = dict(values)
        links = {name: url_for("console.report_download", format=name, **query)
                 for name in reports.FORMATS}
        links["preview"] = url_for("console.report_preview", **query)
    return render_template(
        "console/reports.html", rt=rt, values=values, districts=_districts(visible),
        scoped=visible is not None, error=error, report=report, links=links,
        percent=lambda rate: "—" if rate is None else f"{100 * rate:.1f}%",
        title=reports.title(report, _locale(values)) if report else None,
        default_year=_today_year(), locales=reports.LOCALES), (error.status if error else 200)


@bp.get("/reports")
@login_required
def reports_page() -> tuple[str, int]:
    """The form: which report, for which year, quarter and district, in which language."""
    _require_bureau()
    values = _ask(request.args)
    if "year" not in request.args:
        return _page(values)
    try:
        report = _report(values)
    except _Refused as refused:
        return _page(values, error=refused)
    return _page(values, report=report)


@bp.get("/reports/preview")
@login_required
def report_preview() -> tuple[str, int] | str:
    """The report as a page of this site (its stylesheet linked, as the CSP wants)."""
    _require_bureau()
    values = _ask(request.args)
    try:
        report = _report(values)
    except _Refused as refused:
        return _page(values, error=refused)
    return reports.render_html(report, _locale(values), standalone=False,
                               stylesheet_url=url_for("static", filename="report.css"))


@bp.get("/reports/download")
@login_required
def report_download() -> Response | tuple[str, int]:
    """The report as a PDF or self-contained HTML file (``format=pdf|html``)."""
    _require_bureau()
    values = _ask(request.args)
    fmt = request.args.get("format", "pdf")
    if fmt not in reports.FORMATS:
        return _page(values, error=_Refused(400, f"expected format pdf or html, got {fmt!r}",
                                            "format"))
    try:
        report = _report(values)
    except _Refused as refused:
        return _page(values, error=refused)
    locale = _locale(values)
    body = reports.render(report, fmt, locale)
    name = _filename(report, locale, fmt)
    response = Response(body, mimetype="application/pdf" if fmt == "pdf" else "text/html")
    # RFC 6266: an ASCII fallback name, and the Chinese one as RFC 8187 UTF-8.
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"tracenet-report-{report.period.label_en.replace(' ', '-')}"
        f".{fmt}\"; filename*=UTF-8''{quote(name)}")
    return response


def _filename(report: Report, locale: str, fmt: str) -> str:
    return f"{reports.title(report, locale)}.{fmt}"
