"""Category risk classes: how much harm a failed product of a category can do.

``data/risk_classes.csv`` gives a class (high / medium / low) to a product class (a letter
code of categories.csv: the default for its categories) or to a single category (a two-digit
code: an override). The classes are the bureau's judgement, indicative here, and a data change
when the bureau revises them; the loader refuses codes the category catalogue does not know.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from ledger.supervision.reference import ReferenceData, ReferenceDataError, load_reference

__all__ = ["FACTORS", "RISK_CLASSES", "category_risk", "load_risk_classes"]

#: the weight factor of each class in a spot-check draw
FACTORS: Mapping[str, int] = MappingProxyType({"high": 3, "medium": 2, "low": 1})
RISK_CLASSES = tuple(FACTORS)
_FILE = Path(__file__).resolve().with_name("data") / "risk_classes.csv"
#: a category no row covers
DEFAULT_CLASS = "medium"


def load_risk_classes(path: Path = _FILE,
                      reference: ReferenceData | None = None) -> Mapping[str, str]:
    """Category code -> risk class, for every category of the catalogue."""
    reference = reference or load_reference()
    by_class: dict[str, str] = {}
    by_category: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            code, risk = (row.get("code") or "").strip(), (row.get("risk_class") or "").strip()
            if risk not in FACTORS:
                raise ReferenceDataError(path, line, "risk_class",
                                         f"expected one of {', '.join(FACTORS)}, got {risk!r}")
            if code in reference.categories:
                by_category[code] = risk
            elif any(c.class_code == code for c in reference.categories.values()):
                by_class[code] = risk
            else:
                raise ReferenceDataError(path, line, "code",
                                         f"{code!r} is neither a category nor a class code")
    return MappingProxyType({
        code: by_category.get(code, by_class.get(category.class_code, DEFAULT_CLASS))
        for code, category in reference.categories.items()})


@functools.cache
def _default() -> Mapping[str, str]:
    return load_risk_classes()


def category_risk(category: str) -> str:
    """The risk class of a category code (``medium`` for one the catalogue lacks)."""
    return _default().get(category, DEFAULT_CLASS)
