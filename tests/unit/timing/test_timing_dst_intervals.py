"""Interval schedules across the 2026 DST changes: real elapsed seconds, whatever the zone.

The zone rules behind the local times in the comments are listed at the top of
test_timing_dst.py. An interval never looks at local time, so each expectation is
simply start (or anchor) + k * interval in UTC; the comments show how far the local
wall time moves across the change.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rqflow.timing import ScheduleSpec


def utc(text: str) -> datetime:
    """Parse 'YYYY-MM-DD HH:MM' as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "interval", "start_at", "expected"),
    [
        # 24 h of real time: the local wall time moves by the DST shift.
        ("Europe/Berlin", 86400, "2026-03-28 11:00", ["2026-03-29 11:00", "2026-03-30 11:00"]),
        ("Europe/Berlin", 5400, "2026-10-24 23:30", ["2026-10-25 01:00", "2026-10-25 02:30"]),
        (
            "America/New_York",
            1800,
            "2026-11-01 05:00",
            ["2026-11-01 05:30", "2026-11-01 06:00", "2026-11-01 06:30"],
        ),
        (
            "America/New_York",
            3600,
            "2026-03-08 05:00",
            ["2026-03-08 06:00", "2026-03-08 07:00", "2026-03-08 08:00"],
        ),
        ("Australia/Sydney", 7200, "2026-10-03 15:00", ["2026-10-03 17:00", "2026-10-03 19:00"]),
        ("Australia/Sydney", 3600, "2026-04-04 15:00", ["2026-04-04 16:00", "2026-04-04 17:00"]),
        ("Australia/Lord_Howe", 2700, "2026-04-04 14:30", ["2026-04-04 15:15", "2026-04-04 16:00"]),
        ("Australia/Lord_Howe", 900, "2026-10-03 15:15", ["2026-10-03 15:30", "2026-10-03 15:45"]),
        ("Asia/Kolkata", 86400, "2026-03-28 21:00", ["2026-03-29 21:00", "2026-03-30 21:00"]),
        # 12:00 CEST -> 11:00 CET; 01:45 CET -> 03:00 CEST is one 15-minute step
        ("Europe/Berlin", 86400, "2026-10-24 10:00", ["2026-10-25 10:00", "2026-10-26 10:00"]),
        (
            "Europe/Berlin",
            900,
            "2026-03-29 00:30",
            ["2026-03-29 00:45", "2026-03-29 01:00", "2026-03-29 01:15"],
        ),
        # 12:00 EST -> 13:00 EDT; 12:00 EDT -> 11:00 EST
        ("America/New_York", 86400, "2026-03-07 17:00", ["2026-03-08 17:00", "2026-03-09 17:00"]),
        ("America/New_York", 86400, "2026-10-31 16:00", ["2026-11-01 16:00", "2026-11-02 16:00"]),
        # 12:00 AEDT -> 11:00 AEST; 12:00 AEST -> 13:00 AEDT
        ("Australia/Sydney", 86400, "2026-04-04 01:00", ["2026-04-05 01:00", "2026-04-06 01:00"]),
        ("Australia/Sydney", 86400, "2026-10-03 02:00", ["2026-10-04 02:00", "2026-10-05 02:00"]),
        # 12:00 +11 -> 11:30 +10:30; 12:00 +10:30 -> 12:30 +11; 01:30 (first) -> 01:30 (again) -> 02:00
        ("Australia/Lord_Howe", 86400, "2026-04-04 01:00", ["2026-04-05 01:00", "2026-04-06 01:00"]),
        ("Australia/Lord_Howe", 86400, "2026-10-03 01:30", ["2026-10-04 01:30", "2026-10-05 01:30"]),
        ("Australia/Lord_Howe", 1800, "2026-04-04 14:30", ["2026-04-04 15:00", "2026-04-04 15:30"]),
        # the Berlin autumn date: nothing happens at +05:30
        ("Asia/Kolkata", 3600, "2026-10-25 00:30", ["2026-10-25 01:30", "2026-10-25 02:30"]),
    ],
)
def test_intervals_count_real_seconds_across_dst(
    zone: str, interval: int, start_at: str, expected: list[str]
) -> None:
    """Each step is exactly `interval` real seconds, across either change, in every zone."""
    spec = ScheduleSpec(kind="interval", timezone=zone, interval_seconds=interval, start_at=utc(start_at))
    assert spec.occurrences(utc(start_at), len(expected)) == [utc(text) for text in expected]


@pytest.mark.parametrize(
    ("zone", "interval", "start_at", "after", "expected"),
    [
        # start_at is 02:15 CET, the second 02:15 of the night (the first was 00:15Z)
        (
            "Europe/Berlin",
            1800,
            "2026-10-25 01:15",
            "2026-10-25 00:00",
            ["2026-10-25 01:15", "2026-10-25 01:45", "2026-10-25 02:15"],
        ),
        # start_at is 01:20 EDT, the first 01:20 of the night
        (
            "America/New_York",
            3600,
            "2026-11-01 05:20",
            "2026-11-01 00:00",
            ["2026-11-01 05:20", "2026-11-01 06:20", "2026-11-01 07:20"],
        ),
        # start_at is 02:00 AEST, the second 02:00 of the night
        (
            "Australia/Sydney",
            3600,
            "2026-04-04 16:00",
            "2026-04-04 12:00",
            ["2026-04-04 16:00", "2026-04-04 17:00", "2026-04-04 18:00"],
        ),
        # start_at is 02:30 +11, the first minute after the half-hour jump
        (
            "Australia/Lord_Howe",
            600,
            "2026-10-03 15:30",
            "2026-10-03 00:00",
            ["2026-10-03 15:30", "2026-10-03 15:40", "2026-10-03 15:50"],
        ),
    ],
)
def test_interval_start_in_a_changed_hour_is_the_real_instant(
    zone: str, interval: int, start_at: str, after: str, expected: list[str]
) -> None:
    """A start_at inside a repeated or post-jump hour fires at that exact instant, then every step."""
    spec = ScheduleSpec(kind="interval", timezone=zone, interval_seconds=interval, start_at=utc(start_at))
    assert spec.occurrences(utc(after), len(expected)) == [utc(text) for text in expected]


@pytest.mark.parametrize(
    ("zone", "interval", "anchor", "expected"),
    [
        # 01:30 CET -> 03:30 CEST -> 04:30 CEST
        ("Europe/Berlin", 3600, "2026-03-29 00:30", ["2026-03-29 01:30", "2026-03-29 02:30"]),
        # 01:15 EDT -> 01:00 EST -> 01:45 EST -> 02:30 EST
        (
            "America/New_York",
            2700,
            "2026-11-01 05:15",
            ["2026-11-01 06:00", "2026-11-01 06:45", "2026-11-01 07:30"],
        ),
    ],
)
def test_interval_without_start_counts_from_the_anchor_across_dst(
    zone: str, interval: int, anchor: str, expected: list[str]
) -> None:
    """Without start_at the first firing is anchor + interval, in real seconds, across a change."""
    spec = ScheduleSpec(kind="interval", timezone=zone, interval_seconds=interval, anchor=utc(anchor))
    assert spec.occurrences(utc(anchor), len(expected)) == [utc(text) for text in expected]
