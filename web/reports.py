"""The white paper and district reports rendered: HTML with charts, and PDF from that HTML.

:mod:`ledger.reports` computes the figures; this module draws them (:mod:`web.report_charts`)
and lays them out with one Jinja template (``templates/reports/report.html``) in zh-CN or
English. The HTML is self-contained (its stylesheet inlined, charts as PNG data URIs), so the
file the CLI writes or the console sends opens anywhere; the PDF is WeasyPrint's rendering of
the same HTML with the stylesheet's print rules (A4, page numbers).

Why WeasyPrint: the report is written once, as HTML, and printed from it, so the HTML and PDF
never disagree; it lays out CJK text through Pango with the system's fonts and subsets them
into the PDF. It needs Pango (the Makefile's ``system`` target installs it). Rendering runs
outside any request (the CLI builds no Flask app), so the template has its own Jinja
environment.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ledger.reports import Report
from ledger.reports.figures import GRADES, Rate
from ledger.supervision.recall_levels import CHINA

__all__ = ["FORMATS", "LOCALES", "WORDS", "render", "render_html", "render_pdf"]

LOCALES = ("zh_CN", "en")
FORMATS = ("html", "pdf")
_HERE = Path(__file__).resolve().parent
_STYLESHEET = _HERE / "static" / "report.css"

WORDS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "org": "质监溯源网",
        "whitepaper": "{period}质量状况白皮书",
        "district_report": "{district}{period}质量状况报告",
        "scope.all": "全部辖区",
        "generated": "生成于 {moment}，依据账本前 {size} 条记录",
        "summary": "主要指标",
        "previous": "上年同期 {value}",
        "change": "同比 {delta}",
        "pp": "{value:+.1f} 个百分点",
        "points": "{value:+.1f} 分",
        "no_data": "无数据",
        "lot_rate": "批次合格率",
        "spot_rate": "监督抽查合格率",
        "value_rate": "产值合格率",
        "recalls": "召回",
        "qci": "质量竞争力指数",
        "enterprises": "生产经营企业",
        "lots_inspected": "检验批次",
        "s1": "一、产品质量总体情况",
        "s1.text": "{period}共检验 {lots} 个批次，合格 {passed} 批，批次合格率 {rate}"
                   "（上年同期 {previous}）。",
        "trend.title": "批次合格率逐月走势（同比）",
        "trend.axis": "批次合格率 %",
        "kind.title": "各类检验的检验次数",
        "kind.axis": "检验次数",
        "passed": "合格",
        "failed": "不合格",
        "month": "{month}月",  # {name} unused: Chinese months are numbered
        "col.kind": "检验类型",
        "col.total": "检验",
        "col.passed": "合格",
        "col.failed": "不合格",
        "col.rate": "合格率",
        "col.previous": "上年同期",
        "s2": "二、分品类产品质量",
        "category.title": "分品类批次合格率",
        "category.axis": "批次合格率",
        "col.category": "产品品类",
        "s3": "三、分地区产品质量",
        "district.title": "分地区批次合格率（按生产企业所在地）",
        "col.district": "地区",
        "s4": "四、监督抽查",
        "s4.text": "共监督抽查 {total} 批次，合格 {passed} 批，不合格 {failed} 批，"
                   "合格率 {rate}（上年同期 {previous}）。",
        "s4.none": "本期未开展监督抽查。",
        "s4.failed": "不合格产品",
        "col.when": "抽查时间",
        "col.enterprise": "生产企业",
        "col.product": "产品",
        "col.lot": "批次",
        "col.items": "不合格项目",
        "col.report": "检验报告",
        "s5": "五、产值合格率",
        "s5.text": "有产值记录且经检验的批次 {lots} 个，产值 {value} 元，其中合格批次产值 "
                   "{passed} 元，产值合格率 {rate}（上年同期 {previous}）。",
        "s5.missing": "另有 {without} 个批次未记录产值、{uninspected} 个批次尚未检验，"
                      "不计入产值合格率。",
        "s6": "六、缺陷产品召回",
        "s6.text": "本期启动召回 {count} 起（一级 {l1}、二级 {l2}、三级 {l3}），"
                   "其中 {open} 起尚在进行；本期生产的 {produced} 个批次中 {recalled} 个"
                   "在召回范围内。",
        "recall.title": "召回起数（按级别，同比）",
        "recall.axis": "起数",
        "level": "{level}级",
        "levels": "一二三",
        "col.level": "级别",
        "col.started": "启动时间",
        "col.reason": "召回原因",
        "col.status": "状态",
        "col.lots": "批次数",
        "status.open": "进行中",
        "status.closed": "已结束",
        "kind.voluntary": "主动召回",
        "kind.ordered": "责令召回",
        "s7": "七、企业质量信用",
        "s7.text": "辖区 {total} 家生产经营企业的当前信用等级：A 级 {A} 家（信用免检），"
                   "B 级 {B} 家，C 级 {C} 家（信用预警），D 级 {D} 家（信用惩戒）。",
        "s7.ungraded": "信用评价模块尚未启用：所有企业按未评级计为 B 级。",
        "grade.title": "企业信用等级分布",
        "grade.axis": "企业数",
        "s8": "八、质量竞争力指数",
        "s8.text": "{period}质量竞争力指数为 {value}（上年同期 {previous}）。",
        "qci.title": "质量竞争力指数构成（各分项得分，满分 100）",
        "qci.axis": "得分",
        "col.component": "分项",
        "col.weight": "权重",
        "col.score": "得分",
        "qci.formula": "计算方法：指数 = 100 × Σ(权重 × 分项得分) ÷ Σ(有得分分项的权重)。"
                       "分项得分在 0 到 1 之间：批次合格率、监督抽查合格率、产值合格率取其比率；"
                       "信用等级取企业当前等级的平均分（A=1，B=0.8，C=0.5，D=0，两年均按当前等级）；"
                       "无召回生产取 1 − 本期生产批次中被召回批次的比例。"
                       "某一分项本期无可计数据时不计其权重，不作估计。",
        "notes": "附：口径说明与验证方法",
        "note.lot": "批次合格率：本期内经检验（企业自检、第三方检验、进货查验、监督抽查）的批次中，"
                    "本期全部检验均合格的批次所占比例；一个批次多次检验只计一次，任一次不合格即计为不合格。"
                    "品类取产品登记的品类，地区取产品登记企业的所在地。",
        "note.spot": "监督抽查合格率：本期监督抽查合格次数 ÷ 抽查次数。",
        "note.value": "产值合格率：本期生产、记录了产值且经检验的批次中，"
                      "合格批次产值 ÷ 全部批次产值。",
        "note.recall": "召回：本期启动、召回企业在本辖区的召回。",
        "note.verify": "本报告的每项数据都来自经企业签名、只增不改的哈希链账本。"
                       "可用 tracenet verify 复核账本，或在 /transparency 页面核对下列签名检查点：",
        "note.nocheckpoint": "账本尚无签名检查点。",
    },
    "en": {
        "org": "Tracenet",
        "whitepaper": "Quality white paper {period}",
        "district_report": "Quality report {period}: {district}",
        "scope.all": "all districts",
        "generated": "Generated {moment} from the ledger's first {size} entries",
        "summary": "Key figures",
        "previous": "a year earlier {value}",
        "change": "change {delta}",
        "pp": "{value:+.1f} pp",
        "points": "{value:+.1f} points",
        "no_data": "no data",
        "lot_rate": "Lot qualification rate",
        "spot_rate": "Spot-check pass rate",
        "value_rate": "Output-value qualification rate",
        "recalls": "Recalls",
        "qci": "Quality competitiveness index",
        "enterprises": "Enterprises",
        "lots_inspected": "Lots inspected",
        "s1": "1. Overall product quality",
        "s1.text": "In {period}, {lots} lots were inspected and {passed} passed: a lot "
                   "qualification rate of {rate} (a year earlier: {previous}).",
        "trend.title": "Lot qualification rate by month, against the previous year",
        "trend.axis": "lot qualification rate %",
        "kind.title": "Inspections by kind",
        "kind.axis": "inspections",
        "passed": "passed",
        "failed": "failed",
        "month": "{name}",
        "col.kind": "Kind",
        "col.total": "Inspected",
        "col.passed": "Passed",
        "col.failed": "Failed",
        "col.rate": "Rate",
        "col.previous": "A year earlier",
        "s2": "2. Quality by product category",
        "category.title": "Lot qualification rate by category",
        "category.axis": "lot qualification rate",
        "col.category": "Category",
        "s3": "3. Quality by district",
        "district.title": "Lot qualification rate by district (of the maker)",
        "col.district": "District",
        "s4": "4. Supervisory spot checks",
        "s4.text": "{total} lots were spot-checked: {passed} passed and {failed} failed, a "
                   "pass rate of {rate} (a year earlier: {previous}).",
        "s4.none": "No spot check was carried out in the period.",
        "s4.failed": "Products that failed",
        "col.when": "Checked",
        "col.enterprise": "Maker",
        "col.product": "Product",
        "col.lot": "Lot",
        "col.items": "Failed items",
        "col.report": "Test report",
        "s5": "5. Output-value qualification rate",
        "s5.text": "{lots} inspected lots recorded an output value, CNY {value} in all, of "
                   "which lots that passed account for CNY {passed}: an output-value "
                   "qualification rate of {rate} (a year earlier: {previous}).",
        "s5.missing": "{without} lots recorded no output value and {uninspected} were not "
                      "inspected; they are left out of the rate.",
        "s6": "6. Defective product recalls",
        "s6.text": "Recalls started: {count} (class I {l1}, class II {l2}, class III "
                   "{l3}), {open} still open; {recalled} of the {produced} lots produced in "
                   "the period are within a recall's scope.",
        "recall.title": "Recalls by class, against the previous year",
        "recall.axis": "recalls",
        "level": "Class {level}",
        "levels": "I II III",
        "col.level": "Class",
        "col.started": "Started",
        "col.reason": "Reason",
        "col.status": "Status",
        "col.lots": "Lots",
        "status.open": "open",
        "status.closed": "closed",
        "kind.voluntary": "voluntary",
        "kind.ordered": "ordered",
        "s7": "7. Enterprise quality credit",
        "s7.text": "Current credit grades of the {total} enterprises in scope: A {A} "
                   "(inspection exemption), B {B}, C {C} (warning), D {D} (sanctions).",
        "s7.ungraded": "Credit grading is not running yet: every enterprise counts as "
                       "ungraded, grade B.",
        "grade.title": "Enterprises by credit grade",
        "grade.axis": "enterprises",
        "s8": "8. Quality competitiveness index",
        "s8.text": "The quality competitiveness index for {period} is {value} (a year "
                   "earlier: {previous}).",
        "qci.title": "What the index is made of (component scores out of 100)",
        "qci.axis": "score",
        "col.component": "Component",
        "col.weight": "Weight",
        "col.score": "Score",
        "qci.formula": "Method: index = 100 × Σ(weight × score) ÷ Σ(weights of the "
                       "components that have a score). Scores lie in [0, 1]: the lot, "
                       "spot-check and output-value rates are their own scores; credit is "
                       "the mean current grade (A = 1, B = 0.8, C = 0.5, D = 0; the current "
                       "grades for both years); recall-free production is 1 − the share of "
                       "the period's lots under a recall. A component with nothing to count "
                       "in the period is left out with its weight, never guessed.",
        "notes": "Notes: definitions and how to verify",
        "note.lot": "Lot qualification rate: of the lots inspected in the period (self, "
                    "third-party, incoming and spot-check inspections), the share whose "
                    "every inspection in the period passed; a lot inspected several times "
                    "counts once, failed if any inspection failed. Category is the product's "
                    "registered category, district the registering enterprise's.",
        "note.spot": "Spot-check pass rate: passed spot checks ÷ spot checks in the period.",
        "note.value": "Output-value qualification rate: over the lots produced in the period "
                      "that recorded an output value and were inspected, the value of those "
                      "that passed ÷ the value of all of them.",
        "note.recall": "Recalls: those started in the period by a producer in scope.",
        "note.verify": "Every figure comes from the append-only, hash-chained ledger of "
                       "records the enterprises signed. Check the ledger with tracenet "
                       "verify, or this signed checkpoint against /transparency:",
        "note.nocheckpoint": "The ledger has no signed checkpoint yet.",
    },
}


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class _Words:
    locale: str

    def __call__(self, key: str, **params: Any) -> str:
        text = WORDS[self.locale][key]
        return text.format(**params) if params else text


def _percent(rate: float | None, words: _Words) -> str:
    return words("no_data") if rate is None else f"{100 * rate:.1f}%"


def _delta(current: float | None, previous: float | None, words: _Words, *,
           scale: float = 100, key: str = "pp") -> str | None:
    if current is None or previous is None:
        return None
    return words(key, value=scale * (current - previous))


def _money(value: Decimal) -> str:
    return f"{value:,.0f}"


def _label(rate: Rate, locale: str) -> str:
    return rate.label_zh if locale == "zh_CN" else rate.label_en


@functools.cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(_HERE / "templates" / "reports"),
                       autoescape=select_autoescape(default=True), trim_blocks=True,
                       lstrip_blocks=True)


def title(report: Report, locale: str) -> str:
    """The report's title in ``locale``."""
    words = _Words(locale)
    period = report.period.label_zh if locale == "zh_CN" else report.period.label_en
    if report.scope.district is None:
        return words("whitepaper", period=period)
    return words("district_report", period=period, district=report.scope.district)


def context(report: Report, locale: str) -> dict[str, Any]:
    """What the template reads: words, formatted figures and the drawn charts."""
    from web import report_charts as charts

    if locale not in LOCALES:
        raise ValueError(f"expected a locale of {LOCALES}, got {locale!r}")
    words = _Words(locale)
    zh = locale == "zh_CN"
    current, previous = report.current, report.previous
    period = report.period.label_zh if zh else report.period.label_en
    previous_period = (report.period.previous_year().label_zh if zh
                       else report.period.previous_year().label_en)
    months = [words("month", month=m.month, name=_MONTHS[m.month - 1])
              for m in current.monthly]
    drawn: dict[str, charts.Chart] = {}
    # The previous year is drawn beside this one only when it has figures to compare with:
    # a year before the ledger began would read as a year of zeros.
    compare = previous.lots.total > 0
    drawn["trend"] = charts.lines(
        months, [(period, [m.rate for m in current.monthly], charts.PALETTE["brand"])]
        + ([(previous_period, [m.rate for m in previous.monthly], charts.PALETTE["previous"])]
           if compare else []),
        title=words("trend.title"), alt=words("trend.title"), empty=words("no_data"),
        axis=words("trend.axis"))
    kinds = [rate for rate in current.by_kind if rate.total]
    drawn["kinds"] = charts.stacked_bars(
        [_label(rate, locale) for rate in kinds], [rate.passed for rate in kinds],
        [rate.failed for rate in kinds], names=(words("passed"), words("failed")),
        title=words("kind.title"), alt=words("kind.title"), empty=words("no_data"),
        axis=words("kind.axis"))

    def rate_chart(rates: tuple[Rate, ...], key: str) -> charts.Chart:
        return charts.bars(
            [_label(rate, locale) for rate in rates], [rate.rate for rate in rates],
            [f"{_percent(rate.rate, words)} ({rate.passed}/{rate.total})" for rate in rates],
            title=words(f"{key}.title"), alt=words(f"{key}.title"), empty=words("no_data"),
            axis=words("category.axis"))

    drawn["categories"] = rate_chart(current.by_category, "category")
    drawn["districts"] = rate_chart(current.by_district, "district")
    level_names = words("levels").split() if not zh else list(words("levels"))
    levels = [words("level", level=name) for name in level_names]
    drawn["recalls"] = charts.grouped_bars(
        levels, [(period, [float(current.recalls.by_level[n]) for n in (1, 2, 3)],
                  charts.PALETTE["fail"])]
        + ([(previous_period, [float(previous.recalls.by_level[n]) for n in (1, 2, 3)],
             charts.PALETTE["previous"])] if compare else []),
        title=words("recall.title"), alt=words("recall.title"), empty=words("no_data"),
        axis=words("recall.axis"))
    drawn["grades"] = charts.grouped_bars(
        list(GRADES), [("", [float(report.grades.counts[g]) for g in GRADES],
                        charts.PALETTE["brand"])],
        title=words("grade.title"), alt=words("grade.title"), empty=words("no_data"),
        axis=words("grade.axis"))
    components = report.index.components
    drawn["index"] = charts.grouped_bars(
        [c.name_zh if zh else c.name_en for c in components],
        [(period, [100 * (c.score or 0) for c in components], charts.PALETTE["brand"])]
        + ([(previous_period, [100 * (c.score or 0) for c in report.previous_index.components],
             charts.PALETTE["previous"])] if compare else []),
        title=words("qci.title"), alt=words("qci.title"), empty=words("no_data"),
        axis=words("qci.axis"), percent=True)

    def rows(rates: tuple[Rate, ...], before: tuple[Rate, ...]) -> list[dict[str, Any]]:
        earlier = {rate.key: rate for rate in before}
        return [{"label": _label(rate, locale), "total": rate.total, "passed": rate.passed,
                 "failed": rate.failed, "rate": _percent(rate.rate, words),
                 "previous": _percent(earlier[rate.key].rate if rate.key in earlier
                                      else None, words)} for rate in rates]

    index_previous = report.previous_index.value
    summary = [
        (words("lot_rate"), _percent(current.lots.rate, words),
         _percent(previous.lots.rate, words), _delta(current.lots.rate, previous.lots.rate,
                                                     words)),
        (words("spot_rate"), _percent(current.spot_checks.rate, words),
         _percent(previous.spot_checks.rate, words),
         _delta(current.spot_checks.rate, previous.spot_checks.rate, words)),
        (words("value_rate"), _percent(current.output_value.rate, words),
         _percent(previous.output_value.rate, words),
         _delta(current.output_value.rate, previous.output_value.rate, words)),
        (words("recalls"), str(len(current.recalls.items)), str(len(previous.recalls.items)),
         None),
        (words("qci"), words("no_data") if report.index.value is None
         else f"{report.index.value:.1f}",
         words("no_data") if index_previous is None else f"{index_previous:.1f}",
         _delta(report.index.value, index_previous, words, scale=1, key="points")),
    ]
    moment = report.generated_at.astimezone(CHINA)
    return {
        "w": words, "zh": zh, "lang": "zh-CN" if zh else "en", "title": title(report, locale),
        "period": period, "previous_period": previous_period, "report": report,
        "current": current, "previous": previous, "charts": drawn, "summary": summary,
        "generated": words("generated", moment=f"{moment:%Y-%m-%d %H:%M} (UTC+8)",
                           size=f"{report.ledger_size:,}"),
        "percent": lambda rate: _percent(rate, words),
        "kinds": rows(current.by_kind, previous.by_kind),
        "categories": rows(current.by_category, previous.by_category),
        "districts": rows(current.by_district, previous.by_district),
        "money": _money, "scope": report.scope.district or words("scope.all"),
        "levels": dict(zip((1, 2, 3), levels, strict=True)),
        "components": [(c.name_zh if zh else c.name_en, f"{c.weight:.2f}",
                        words("no_data") if c.score is None else f"{100 * c.score:.1f}",
                        words("no_data") if p.score is None else f"{100 * p.score:.1f}")
                       for c, p in zip(components, report.previous_index.components,
                                       strict=True)],
        "moment": lambda text: datetime.fromisoformat(text).strftime("%Y-%m-%d"),
    }


def render_html(report: Report, locale: str = "zh_CN", *, stylesheet_url: str | None = None,
                standalone: bool = True) -> str:
    """The report as an HTML document. ``standalone``: the stylesheet inlined (a file to
    keep); otherwise linked from ``stylesheet_url`` (a page the app serves, whose Content
    Security Policy forbids inline styles)."""
    values = context(report, locale)
    values["stylesheet"] = _STYLESHEET.read_text(encoding="utf-8") if standalone else None
    values["stylesheet_url"] = stylesheet_url
    values["standalone"] = standalone
    return _environment().get_template("report.html").render(values)


def render_pdf(report: Report, locale: str = "zh_CN") -> bytes:
    """The report as a PDF (A4): WeasyPrint's rendering of :func:`render_html`."""
    html = render_html(report, locale)
    document: bytes = _weasyprint().HTML(string=html, base_url=str(_HERE)).write_pdf()
    return document


def _weasyprint() -> ModuleType:
    """WeasyPrint, imported on first use (it takes a second), without its side effect: its
    import sets Pillow's ``LOAD_TRUNCATED_IMAGES`` for the whole process, after which a
    worker that had rendered a report would read a truncated photo sent to ``/api/v1/scan``
    as a picture with no code in it. Our reports embed only our own charts."""
    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    weasyprint = importlib.import_module("weasyprint")
    ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    return weasyprint


def render(report: Report, fmt: str, locale: str = "zh_CN") -> bytes:
    """The report as ``fmt`` (``html`` or ``pdf``) bytes."""
    if fmt == "pdf":
        return render_pdf(report, locale)
    if fmt == "html":
        return render_html(report, locale).encode()
    raise ValueError(f"expected a format of {FORMATS}, got {fmt!r}")
