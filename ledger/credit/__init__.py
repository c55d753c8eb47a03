"""Quality credit (企业质量信用): grades A / B / C / D from ledger facts only.

The grading (:mod:`.engine`) reads the ledger past its own cursor, scores every enterprise
from the facts (:mod:`.model`: inspections weighted by kind, failed spot checks, recalls by
level, violations a regulator recorded, late and missing filings, unreceived shipments,
licences), moves grades with hysteresis and appends each change as a ``credit_grade`` entry
signed by the operator, with its evidence seqs and an explanation in zh-CN and English.
The entries' rules and projections are :mod:`ledger.supervision.credit`; this package decides
and reads (:mod:`.standing`), and runs the grading application flow (:mod:`.flow`).
"""

from __future__ import annotations

from ledger.credit.standing import (
    CONSEQUENCES,
    Consequence,
    CreditChange,
    CreditStanding,
    current_grades,
    grade_history,
    standing_of,
)

__all__ = [
    "CONSEQUENCES",
    "Consequence",
    "CreditChange",
    "CreditStanding",
    "current_grades",
    "grade_history",
    "standing_of",
]
