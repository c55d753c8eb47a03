"""The recall levels of the 食品召回管理办法 and their deadlines: the one place that knows them.

Article 13 of the Measures for the Administration of Food Recalls (食品召回管理办法) grades a
recall by how serious the harm is, and gives each grade two deadlines: the producer starts
the recall within so many hours of learning of the risk, and completes it within so many
working days of announcing it.

========  ==========================================  ===========  ==================
level     harm                                        start within complete within
========  ==========================================  ===========  ==================
一级 (1)  eating it has caused, or may cause, serious  24 h         10 working days
          harm to health or death
二级 (2)  it may cause harm to health                  48 h         20 working days
三级 (3)  it does no harm but its label is wrong (a    72 h         30 working days
          false or missing statement)
========  ==========================================  ===========  ==================

Working days are counted the way Chinese law counts a period in days (民法典 art. 201): the
day the period starts is not counted, so ten working days from a Thursday end on the second
Thursday after it (the tenth working day counted from Friday). A working day is a day the
State Council's holiday schedule does not make a rest day: weekends are off except the
weekend days worked in exchange for a longer holiday (调休), and the statutory holidays
(春节, 国庆 …) are off. The calendar comes from the ``holidays`` package, which carries each
year's published schedule (the State Council announces it late in the year before) and, for
a year not yet announced, the holidays the law fixes without the exchanged weekend days; keep
the package up to date. Deadlines are never stored in a projection: they are computed when
asked, so a calendar update cannot make a rebuild differ from the live projections.

This module is pure (no database): the recall rules use :data:`LEVELS` to check a level, and
:mod:`ledger.recall` computes deadlines with :func:`deadlines`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

__all__ = ["CHINA", "LEVELS", "Deadlines", "RecallLevel", "deadlines", "is_working_day",
           "parse_moment", "working_days_after"]

#: China keeps one time zone; a recall's days are counted in it, whatever offset a time has
CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class RecallLevel:
    """One grade of recall and its two deadlines."""

    level: int
    name_zh: str
    name_en: str
    harm_zh: str
    harm_en: str
    #: from the recall's start: by when every holder should have begun (acknowledged it)
    start_within: timedelta
    #: working days after the day the recall started, within which it must be complete
    complete_within: int


LEVELS: dict[int, RecallLevel] = {level.level: level for level in (
    RecallLevel(1, "一级召回", "Class I recall",
                "食用后已经或者可能导致严重健康损害甚至死亡",
                "eating it has caused, or may cause, serious harm to health or death",
                timedelta(hours=24), 10),
    RecallLevel(2, "二级召回", "Class II recall",
                "食用后可能造成健康损害",
                "eating it may cause harm to health",
                timedelta(hours=48), 20),
    RecallLevel(3, "三级召回", "Class III recall",
                "食用后不会造成健康损害（如标签、标识存在虚假标注）",
                "eating it does no harm to health (a false label, say)",
                timedelta(hours=72), 30),
)}


def parse_moment(text: str) -> datetime:
    """An RFC 3339 time as an aware datetime; one without an offset is read as China time.
    ValueError when it is not a time."""
    moment = datetime.fromisoformat(text.strip().upper().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA)


@functools.lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year)


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day in China (weekends off unless worked in exchange for
    a holiday; statutory holidays off)."""
    return bool(_calendar(day.year).is_working_day(day))


def working_days_after(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself is never counted)."""
    if count < 1:
        raise ValueError(f"expected at least one working day, got {count}")
    found = 0
    while found < count:
        day += timedelta(days=1)
        found += is_working_day(day)
    return day


@dataclass(frozen=True)
class Deadlines:
    """When a recall that started at ``started`` must have begun and must be complete."""

    started: datetime
    #: every holder should have acknowledged (begun) by this moment
    start_by: datetime
    #: the last day (in China) on which the recall may still be completed
    complete_by: date

    @property
    def complete_before(self) -> datetime:
        """The first moment past the completion deadline: midnight after ``complete_by``."""
        return datetime.combine(self.complete_by + timedelta(days=1), time(), CHINA)


def deadlines(level: int, started: datetime) -> Deadlines:
    """The deadlines of a recall of ``level`` (1-3) that started at ``started`` (aware)."""
    grade = LEVELS[level]
    local = started.astimezone(CHINA)
    return Deadlines(started, started + grade.start_within,
                     working_days_after(local.date(), grade.complete_within))
