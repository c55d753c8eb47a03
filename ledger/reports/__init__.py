"""Reports for the bureau and the public: the annual quality white paper (质量状况白皮书) and
quarterly district reports. This package computes their figures from the ledger's projections
(:mod:`ledger.reports.figures`); ``web/`` renders them as HTML and PDF with charts."""

from __future__ import annotations

from ledger.reports.figures import (
    GRADES,
    INDEX_WEIGHTS,
    Period,
    PeriodFigures,
    QualityIndex,
    Report,
    ReportError,
    Scope,
    build_report,
    period_figures,
    quality_index,
    scope_of,
)

__all__ = [
    "GRADES",
    "INDEX_WEIGHTS",
    "Period",
    "PeriodFigures",
    "QualityIndex",
    "Report",
    "ReportError",
    "Scope",
    "build_report",
    "period_figures",
    "quality_index",
    "scope_of",
]
