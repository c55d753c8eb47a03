"""The console's words for the risk listings (early-warning alerts) in zh-CN and English;
:mod:`web.console.i18n` merges them into its catalogue. The risk pages' own prose is in
:data:`web.console.risk.WORDS`."""

from __future__ import annotations

__all__ = ["EN", "ZH"]

ZH: dict[str, str] = {
    "alert.col.cell": "预警单元",
    "alert.col.dimension": "维度",
    "alert.col.month": "月份",
    "alert.col.failures": "本月不合格",
    "alert.col.inspections": "本月检验",
    "alert.col.baseline": "基线不合格/检验",
    "alert.col.p_value": "p 值",
    "alert.col.status": "状态",
    "alert.col.notes": "处理说明",
    "alert.status.open": "待处理",
    "alert.status.acknowledged": "已受理",
    "alert.status.closed": "已关闭",
    "alert.dimension.category_district": "类别×区县",
    "alert.dimension.category": "类别",
    "alert.dimension.class": "产品大类",
    "alert.dimension.district": "区县",
}

EN: dict[str, str] = {
    "alert.col.cell": "Cell",
    "alert.col.dimension": "Dimension",
    "alert.col.month": "Month",
    "alert.col.failures": "Failed this month",
    "alert.col.inspections": "Inspected this month",
    "alert.col.baseline": "Baseline failed/inspected",
    "alert.col.p_value": "p-value",
    "alert.col.status": "Status",
    "alert.col.notes": "Notes",
    "alert.status.open": "Open",
    "alert.status.acknowledged": "Acknowledged",
    "alert.status.closed": "Closed",
    "alert.dimension.category_district": "Category in district",
    "alert.dimension.category": "Category",
    "alert.dimension.class": "Product class",
    "alert.dimension.district": "District",
}
