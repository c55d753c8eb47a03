"""Credit standings as the spot-check draw sees them.

Grades are decided by :mod:`ledger.credit` (``current_grades(session)``, one
``CreditStanding(enterprise, grade, since, exempt_until, seq)`` per graded enterprise);
an enterprise never graded counts as 'B'. This module is the one place the draw reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ledger.credit import current_grades

__all__ = ["GRADE_FACTORS", "Standing", "standings"]

#: a grade's weight factor in a draw: C (信用预警) is inspected more often, D (信用惩戒) most;
#: an A enterprise past its exemption period counts half of a B
GRADE_FACTORS = {"A": 1, "B": 2, "C": 4, "D": 8}


@dataclass(frozen=True)
class Standing:
    """An enterprise's grade and, for an A, until when it is exempt (信用免检)."""

    grade: str
    exempt_until: datetime | None = None

    def exempt_at(self, moment: datetime) -> bool:
        """Whether the enterprise may not be drawn at ``moment``."""
        return (self.grade == "A" and self.exempt_until is not None
                and moment < _aware(self.exempt_until, moment))


def _aware(value: datetime, like: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=like.tzinfo)


def standings(session: Session) -> dict[str, Standing]:
    """Every registered enterprise's standing (an enterprise never graded is a 'B')."""
    return {enterprise: Standing(standing.grade, standing.exempt_until)
            for enterprise, standing in current_grades(session).items()}
