"""When a failed delivery is tried again, and when the outbox gives up on it.

The one place the retry timing lives: the worker takes a :class:`RetrySchedule` (the default,
or one parsed from ``tracenet worker --retries``), and nothing else knows the numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["DEFAULT_SCHEDULE", "RetrySchedule", "parse_duration"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``"250ms"``, ``"5s"``, ``"2m"``, ``"1h"``, ``"1d"`` as a timedelta; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"expected a duration such as 5s, 2m or 1h, got {text!r}")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


@dataclass(frozen=True)
class RetrySchedule:
    """The first attempt is made at once; after the n-th failed attempt the next waits
    ``delays[n - 1]``, and after ``len(delays) + 1`` failed attempts the delivery is dead.

    The delays grow roughly fivefold, an exponential back-off that reaches a receiver that is
    down for a day without knocking on its door every few seconds meanwhile.
    """

    delays: tuple[timedelta, ...]

    def __post_init__(self) -> None:
        if any(delay < timedelta(0) for delay in self.delays):
            raise ValueError("retry delays cannot be negative")

    @property
    def max_attempts(self) -> int:
        """Attempts made before a delivery is dead-lettered."""
        return len(self.delays) + 1

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed attempts ending ``now``; None: give up."""
        if attempts < 1:
            raise ValueError(f"expected at least one attempt made, got {attempts}")
        if attempts > len(self.delays):
            return None
        return now + self.delays[attempts - 1]

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """A schedule written as comma-separated delays, e.g. ``"5s,30s,2m,10m,1h"``.

        An empty text is a schedule without retries: one attempt, then dead.
        """
        return cls(tuple(parse_duration(part) for part in text.split(",") if part.strip()))

    def __str__(self) -> str:
        return ",".join(_format(delay) for delay in self.delays)


def _format(delay: timedelta) -> str:
    seconds = delay.total_seconds()
    for unit in ("d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{round(seconds * 1000)}ms"


#: 5 s, 30 s, 2 min, 10 min, 1 h, 6 h, 12 h, 24 h: nine attempts over about two days, then dead
DEFAULT_SCHEDULE = RetrySchedule.parse("5s,30s,2m,10m,1h,6h,12h,24h")
