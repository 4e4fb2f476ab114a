"""CronSchedule parsing, min_spacing_seconds, and agreement with cronsim where DST plays no part."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

import pytest
from cronsim import CronSim

from rqflow.timing import CronSchedule, ScheduleSpec, resolve_timezone


@pytest.mark.parametrize(
    ("expression", "fixed_time"),
    [
        ("30 2 * * *", True),
        ("0,30 2 * * *", True),
        ("0-59/15 2 * * *", True),
        ("0 9 * * 1-5", True),
        ("@daily", True),
        ("*/15 * * * *", False),
        ("0 */2 * * *", False),
        ("* 2 * * *", False),
        ("0 * * * *", False),
        ("@hourly", False),
    ],
)
def test_fixed_time_means_neither_minute_nor_hour_starts_with_a_star(
    expression: str, fixed_time: bool
) -> None:
    assert CronSchedule.parse(expression).fixed_time is fixed_time


def test_parse_expands_macros_names_and_sunday_seven() -> None:
    cron = CronSchedule.parse("@weekly")
    assert cron.expression == "0 0 * * 0"
    assert CronSchedule.parse("0 9 * jan-mar sun,7").weekdays == frozenset({0})
    assert CronSchedule.parse("0 9 * JAN-MAR/2 *").months == frozenset({1, 3})
    assert CronSchedule.parse("5/20 * * * *").minutes == frozenset({5, 25, 45})


@pytest.mark.parametrize(
    ("expression", "day_and"),
    [("0 0 1 * *", True), ("0 0 * * 1", True), ("0 0 */2 * 1", True), ("0 0 1,15 * 1", False)],
)
def test_day_fields_combine_with_or_unless_one_starts_with_a_star(expression: str, day_and: bool) -> None:
    assert CronSchedule.parse(expression).day_and is day_and


@pytest.mark.parametrize(
    ("expression", "spacing"),
    [
        ("* * * * *", 60),
        ("*/5 * * * *", 300),
        ("*/7 * * * *", 240),  # ..., :49, :56, then :00 of the next hour
        ("0 * * * *", 3600),
        ("0 */2 * * *", 7200),
        ("0,30 9 * * *", 1800),
        ("0 9 * * *", 86400),
        ("0 9 * * 1-5", 86400),
        ("0 9 1 * *", 86400),
        ("5,55 0,23 * * *", 600),  # 23:55 -> 00:05 across midnight
        ("0 9,17 * * *", 28800),
        ("@hourly", 3600),
    ],
)
def test_min_spacing_seconds_for_cron(expression: str, spacing: int) -> None:
    spec = ScheduleSpec(kind="cron", timezone="Europe/Berlin", cron_expression=expression)
    assert spec.min_spacing_seconds() == spacing


def test_min_spacing_seconds_for_interval_and_once() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert ScheduleSpec(kind="interval", interval_seconds=90, anchor=start).min_spacing_seconds() == 90
    assert ScheduleSpec(kind="once", run_at=start).min_spacing_seconds() == 10**9


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "*/7 * * * *",
        "5/15 3-5 * * *",
        "0 0 1,15 * *",
        "0 12 * * MON-FRI",
        "30 6 1 * 1",
        "0 0 29 2 *",
        "0 0 * * 0,7",
        "0 0 31 * *",
        "15 10 28-31 * *",
        "0 8-18/3 * 1,6,12 *",
        "0 0 */10 * *",
        "0 0 */10 * 2",
    ],
)
def test_agrees_with_cronsim_in_utc(expression: str) -> None:
    """In UTC no DST rule applies, so cronsim is an independent check of parsing and matching."""
    start = datetime(2025, 12, 30, 7, 13, 20, tzinfo=UTC)
    ours = CronSchedule.parse(expression).occurrences_after(start, resolve_timezone("UTC"))
    theirs = CronSim(expression, start)
    assert list(islice(ours, 150)) == list(islice(theirs, 150))


def test_next_after_on_cron_schedule_takes_a_zone() -> None:
    cron = CronSchedule.parse("0 9 * * *")
    after = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert cron.next_after(after, resolve_timezone("Asia/Kolkata")) == datetime(2026, 7, 2, 3, 30, tzinfo=UTC)


def test_rare_leap_day_lines_are_found_years_ahead() -> None:
    spec = ScheduleSpec(kind="cron", cron_expression="0 0 29 2 */3")  # Feb 29 on Sun, Wed or Sat
    assert spec.next_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2032, 2, 29, tzinfo=UTC)
