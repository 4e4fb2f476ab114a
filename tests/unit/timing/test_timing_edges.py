"""The edges of the calendar and of every schedule kind: nothing a schedule allows may overflow.

A one-time schedule never repeats, so its spacing is huge; multiplying it by the
catch-up limit once fell before year 1 and stopped every one-time schedule. These
are the boundary values of each kind: a once schedule due now, long ago and in 9999,
the largest interval, cron lines that fire once a year or once in four years, the
largest jitter and catch-up window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rqflow.schemas.common import MAX_DB_INT
from rqflow.timing import ScheduleSpec
from rqflow.timing.catchup import MISSED_WINDOW, plan_catchup
from rqflow.timing.instants import FIRST_INSTANT, LAST_INSTANT, shifted
from rqflow.timing.jitter import fire_at, jitter_delay

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LAST_SECOND = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LARGEST_INTERVAL = 10 * 365 * 86400


def once(run_at: datetime) -> ScheduleSpec:
    return ScheduleSpec(kind="once", run_at=run_at)


def test_shifted_stops_at_the_ends_of_the_calendar() -> None:
    assert shifted(NOW, 60) == NOW + timedelta(seconds=60)
    assert shifted(NOW, -10**12) == FIRST_INSTANT
    assert shifted(NOW, 10**12) == LAST_INSTANT
    assert shifted(LAST_SECOND, 86400) == LAST_INSTANT
    assert shifted(NOW, -1e300) == FIRST_INSTANT  # too large even for a timedelta


@pytest.mark.parametrize("run_at", [NOW, EPOCH, LAST_SECOND], ids=["due now", "due long ago", "due in 9999"])
def test_a_once_schedule_has_exactly_its_one_occurrence_due(run_at: datetime) -> None:
    spec = once(run_at)
    just_before = run_at - timedelta(microseconds=1)
    found = spec.newest_between(just_before, max(run_at, NOW), 1000)
    assert found.occurrences == [run_at] and not found.older_left_out
    assert spec.next_after(just_before) == run_at and spec.next_after(run_at) is None


def test_the_largest_jitter_on_the_last_second_stays_on_the_calendar() -> None:
    assert jitter_delay("s", LAST_SECOND, 86400) > timedelta(0)
    assert fire_at("s", LAST_SECOND, 86400) == LAST_INSTANT
    assert fire_at("s", LAST_SECOND, 0) == LAST_SECOND


def test_the_largest_interval_finds_its_due_occurrence_and_the_next() -> None:
    spec = ScheduleSpec(kind="interval", interval_seconds=LARGEST_INTERVAL, anchor=EPOCH)
    found = spec.newest_between(EPOCH, NOW, 1000)
    assert found.occurrences == [EPOCH + timedelta(seconds=LARGEST_INTERVAL * k) for k in (1, 2, 3, 4, 5)]
    assert spec.next_after(NOW) == EPOCH + timedelta(seconds=LARGEST_INTERVAL * 6)


def test_an_interval_ends_before_the_calendar_does() -> None:
    spec = ScheduleSpec(kind="interval", interval_seconds=LARGEST_INTERVAL, anchor=datetime(9990, 1, 1, tzinfo=UTC))
    last = spec.occurrences(datetime(9990, 1, 1, tzinfo=UTC), 5)
    assert len(last) == 1 and last[0].year == 9999
    assert spec.next_after(last[0]) is None


@pytest.mark.parametrize(("cron", "years", "expected"), [
    ("0 0 1 1 *", 30, 30),  # once a year: every one of 30 years is due, none dropped for being far back
    ("0 0 29 2 *", 30, 7),  # once in four years: 2000 to 2024
])
def test_yearly_cron_lines_due_over_decades_are_all_found(cron: str, years: int, expected: int) -> None:
    spec = ScheduleSpec(kind="cron", cron_expression=cron, timezone="Europe/Berlin")
    start = datetime(1996, 6, 1, tzinfo=UTC)
    found = spec.newest_between(start, start.replace(year=1996 + years), 1000)
    assert len(found.occurrences) == expected and not found.older_left_out
    assert found.occurrences == spec.occurrences_between(start, start.replace(year=1996 + years))


def test_more_due_than_the_limit_keeps_the_newest_and_says_so() -> None:
    spec = ScheduleSpec(kind="cron", cron_expression="* * * * *")
    found = spec.newest_between(EPOCH, NOW, 1000)
    assert len(found.occurrences) == 1000 and found.older_left_out
    assert found.occurrences[-1] == NOW and found.occurrences[0] == NOW - timedelta(minutes=999)


def test_firings_squeezed_together_by_a_clock_change_still_count_toward_the_limit() -> None:
    """01:59 CET and 02:30 (moved to the jump's end, 03:00 CEST) are a minute apart, though the line's spacing is 29."""
    spec = ScheduleSpec(kind="cron", cron_expression="30,59 1,2 * * *", timezone="Europe/Berlin")
    end = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    found = spec.newest_between(end - timedelta(minutes=58), end, 2)
    assert found.occurrences == [datetime(2026, 3, 29, 0, 59, tzinfo=UTC), end] and found.older_left_out


def test_a_dense_day_after_a_quiet_month_is_found_whole() -> None:
    """Every minute of the 1st only: the look-back widens past the quiet days to the newest 1,000."""
    spec = ScheduleSpec(kind="cron", cron_expression="* * 1 * *")
    found = spec.newest_between(EPOCH, NOW, 1000)
    assert len(found.occurrences) == 1000 and found.older_left_out
    assert found.occurrences[-1] == datetime(2026, 12, 1, 23, 59, tzinfo=UTC)


def test_the_largest_catchup_window_keeps_every_due_occurrence() -> None:
    old = datetime(1955, 1, 1, tzinfo=UTC)
    due = [old, EPOCH, NOW]
    plan = plan_catchup(due, now=NOW, policy="all", window_seconds=MAX_DB_INT, grace=timedelta(seconds=60))
    # 2**31 - 1 seconds is about 68 years: 1955 is older than that window, the epoch is not.
    assert plan.run == due[1:] and plan.missed == [(old, MISSED_WINDOW)]
