"""The retry schedule: when each retry is due, and when a delivery is given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.outbox.schedule import DEFAULT_SCHEDULE, RetrySchedule, parse_duration

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def test_default_schedule_backs_off_and_gives_up_after_nine_attempts() -> None:
    waits = [DEFAULT_SCHEDULE.next_attempt(n, T0) for n in range(1, 10)]
    assert [w - T0 for w in waits[:-1] if w] == [
        timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2),
        timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6), timedelta(hours=12),
        timedelta(hours=24)]
    assert waits[-1] is None
    assert DEFAULT_SCHEDULE.max_attempts == 9


def test_each_wait_is_longer_than_the_last() -> None:
    delays = DEFAULT_SCHEDULE.delays
    assert all(later > earlier for earlier, later in zip(delays, delays[1:], strict=False))


@pytest.mark.parametrize(("text", "seconds"), [
    ("250ms", 0.25), ("5s", 5), ("1.5s", 1.5), ("2m", 120), ("1h", 3600), ("1d", 86400),
    (" 10m ", 600)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "s", "-5s", "5 s", "1w", "5s,"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration such as 5s, 2m or 1h, got"):
        parse_duration(text)


def test_a_schedule_reads_and_writes_its_delays() -> None:
    schedule = RetrySchedule.parse("100ms, 2s,5m,1h")
    assert schedule.delays == (timedelta(milliseconds=100), timedelta(seconds=2),
                               timedelta(minutes=5), timedelta(hours=1))
    assert str(schedule) == "100ms,2s,5m,1h"
    assert RetrySchedule.parse(str(DEFAULT_SCHEDULE)) == DEFAULT_SCHEDULE


def test_an_empty_schedule_tries_once() -> None:
    schedule = RetrySchedule.parse("")
    assert schedule.max_attempts == 1
    assert schedule.next_attempt(1, T0) is None


def test_next_attempt_needs_a_failed_attempt() -> None:
    with pytest.raises(ValueError, match="expected at least one attempt made, got 0"):
        DEFAULT_SCHEDULE.next_attempt(0, T0)


def test_negative_delays_are_refused() -> None:
    with pytest.raises(ValueError, match="retry delays cannot be negative"):
        RetrySchedule((timedelta(seconds=-1),))
