"""Where enterprises stand: current grades, a grade's history and consequences, the public
lists. Reads the projections of the ``credit_grade`` entries; decides nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.log.storage import EnterpriseRow, EntryRow
from ledger.supervision.credit import DEFAULT_GRADE, GRADES
from ledger.supervision.models import CreditChangeRow, CreditGradeRow

__all__ = [
    "CONSEQUENCES",
    "Consequence",
    "CreditChange",
    "CreditStanding",
    "current_grades",
    "grade_history",
    "parse_time",
    "standing_of",
]


def parse_time(text: str) -> datetime:
    """An RFC 3339 time as an aware datetime (``Z`` accepted)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CreditStanding:
    """An enterprise's grade now: since when, an A grade's exemption end, and the seq of the
    ``credit_grade`` entry that gave it (-1, with ``since`` the enterprise's registration,
    for an enterprise never graded, which stands at B)."""

    enterprise: str
    grade: str
    since: datetime
    exempt_until: datetime | None
    seq: int

    def exempt_at(self, moment: datetime) -> bool:
        """Whether spot checks skip the enterprise at ``moment`` (信用免检: grade A, in term)."""
        return (self.grade == "A" and self.exempt_until is not None
                and moment < self.exempt_until)


@dataclass(frozen=True)
class Consequence:
    """What a grade means (the programme's names)."""

    grade: str
    name_zh: str
    name_en: str
    zh: str
    en: str
    #: relative frequency of spot checks (A exempt in term: 0)
    inspection_weight: float
    public_listing: bool


CONSEQUENCES: dict[str, Consequence] = {
    "A": Consequence("A", "信用免检", "credit exemption",
                     "免于监督抽检（免检期内），列入公示名单", "exempt from spot checks for the "
                     "exemption period, listed publicly", 0.0, True),
    "B": Consequence("B", "正常监管", "normal supervision", "按常规频次抽检",
                     "spot-checked at the normal frequency", 1.0, False),
    "C": Consequence("C", "信用预警", "credit warning",
                     "警示提醒，加大抽检频次（2 倍）", "warned; spot-checked twice as often",
                     2.0, False),
    "D": Consequence("D", "信用惩戒 / 信用淘汰", "credit sanction",
                     "向社会公示，启动许可证复核，重点监管（4 倍抽检）",
                     "listed publicly, licence review started, spot-checked four times as "
                     "often", 4.0, True),
}


@dataclass(frozen=True)
class CreditChange:
    """One grade change, as its ``credit_grade`` entry recorded it."""

    seq: int
    enterprise: str
    previous: str
    grade: str
    score: str
    as_of_seq: int
    at: datetime
    exempt_until: datetime | None
    cause: str
    evidence: tuple[int, ...]
    reason_zh: str
    reason_en: str


def _standing(row: CreditGradeRow) -> CreditStanding:
    return CreditStanding(row.enterprise, row.grade, parse_time(row.since),
                          parse_time(row.exempt_until) if row.exempt_until else None, row.seq)


def current_grades(session: Session) -> dict[str, CreditStanding]:
    """Every registered enterprise's grade now, by USCC; one never graded stands at B.

    The operator's own pseudo-enterprise is not an enterprise and is left out; regulators and
    associations are, like every registered party, at B unless graded.
    """
    graded = {row.enterprise: _standing(row) for row in session.scalars(select(CreditGradeRow))}
    return {uscc: graded.get(uscc) or CreditStanding(uscc, DEFAULT_GRADE,
                                                     parse_time(recorded_at), None, -1)
            for uscc, recorded_at in session.execute(
                select(EnterpriseRow.uscc, EntryRow.recorded_at)
                .join(EntryRow, EntryRow.seq == EnterpriseRow.registered_seq)
                .order_by(EnterpriseRow.uscc))}


def standing_of(session: Session, enterprise: str) -> CreditStanding | None:
    """One enterprise's standing, or None when it is not registered."""
    row = session.get(CreditGradeRow, enterprise)
    if row is not None:
        return _standing(row)
    registered = session.get(EnterpriseRow, enterprise)
    if registered is None:
        return None
    entry = session.get(EntryRow, registered.registered_seq)
    since = parse_time(entry.recorded_at) if entry is not None else datetime.now(UTC)
    return CreditStanding(enterprise, DEFAULT_GRADE, since, None, -1)


def grade_history(session: Session, enterprise: str) -> list[CreditChange]:
    """An enterprise's grade changes, newest first."""
    rows = session.scalars(select(CreditChangeRow).where(
        CreditChangeRow.enterprise == enterprise).order_by(CreditChangeRow.seq.desc()))
    return [CreditChange(row.seq, row.enterprise, row.previous, row.grade, row.score,
                         row.as_of_seq, parse_time(row.at),
                         parse_time(row.exempt_until) if row.exempt_until else None, row.cause,
                         tuple(json.loads(row.evidence)), row.reason_zh, row.reason_en)
            for row in rows]


assert set(CONSEQUENCES) == set(GRADES)  # noqa: S101 - one consequence per grade
