"""Cron occurrences across the 2026 DST changes, against hand-computed UTC instants.

Zone rules used to compute the expectations (2026):

- Europe/Berlin: CET +01 / CEST +02. Spring 2026-03-29 01:00Z (02:00 -> 03:00 local),
  autumn 2026-10-25 01:00Z (03:00 -> 02:00 local, 02:00-02:59 repeated).
- America/New_York: EST -05 / EDT -04. Spring 2026-03-08 07:00Z (02:00 -> 03:00),
  autumn 2026-11-01 06:00Z (02:00 -> 01:00, 01:00-01:59 repeated).
- Australia/Sydney: AEST +10 / AEDT +11. Autumn 2026-04-04 16:00Z (03:00 -> 02:00 on
  Apr 5, 02:00-02:59 repeated), spring 2026-10-03 16:00Z (02:00 -> 03:00 on Oct 4).
- Australia/Lord_Howe: +10:30 / +11 (30-minute shift). Autumn 2026-04-04 15:00Z (02:00 ->
  01:30 on Apr 5, 01:30-01:59 repeated), spring 2026-10-03 15:30Z (02:00 -> 02:30 on Oct 4).
- Asia/Kolkata: +05:30 all year, no DST.

Debian cron rule: fixed-time lines (minute and hour fields not starting with `*`) run a
skipped time once at the end of the jump and a repeated time once, at its first instance;
other lines run at every real instant whose local time matches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from rqflow.timing import ScheduleSpec


def utc(text: str) -> datetime:
    """Parse 'YYYY-MM-DD HH:MM' as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


BERLIN = [
    # spring forward, 2026-03-29
    ("30 2 * * *", "2026-03-28 00:00", ["2026-03-28 01:30", "2026-03-29 01:00", "2026-03-30 00:30"]),
    ("0 12 * * *", "2026-03-28 00:00", ["2026-03-28 11:00", "2026-03-29 10:00", "2026-03-30 10:00"]),
    ("0 * * * *", "2026-03-28 23:30", ["2026-03-29 00:00", "2026-03-29 01:00", "2026-03-29 02:00"]),
    ("*/15 * * * *", "2026-03-29 00:30", ["2026-03-29 00:45", "2026-03-29 01:00", "2026-03-29 01:15"]),
    ("0 9 * * 1-5", "2026-03-26 12:00", ["2026-03-27 08:00", "2026-03-30 07:00", "2026-03-31 07:00"]),
    ("0,30 2 * * *", "2026-03-28 12:00", ["2026-03-29 01:00", "2026-03-30 00:00", "2026-03-30 00:30"]),
    ("30 2,3 * * *", "2026-03-28 12:00", ["2026-03-29 01:00", "2026-03-29 01:30", "2026-03-30 00:30"]),
    ("0 */2 * * *", "2026-03-28 22:30", ["2026-03-28 23:00", "2026-03-29 02:00", "2026-03-29 04:00"]),
    ("* 2 * * *", "2026-03-28 01:58", ["2026-03-28 01:59", "2026-03-30 00:00", "2026-03-30 00:01"]),
    # fall back, 2026-10-25
    ("30 2 * * *", "2026-10-24 00:00", ["2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30"]),
    ("0 12 * * *", "2026-10-24 00:00", ["2026-10-24 10:00", "2026-10-25 11:00", "2026-10-26 11:00"]),
    (
        "0 * * * *",
        "2026-10-24 22:30",
        ["2026-10-24 23:00", "2026-10-25 00:00", "2026-10-25 01:00", "2026-10-25 02:00"],
    ),
    (
        "*/15 * * * *",
        "2026-10-24 23:45",
        [
            "2026-10-25 00:00",
            "2026-10-25 00:15",
            "2026-10-25 00:30",
            "2026-10-25 00:45",
            "2026-10-25 01:00",
            "2026-10-25 01:15",
            "2026-10-25 01:30",
            "2026-10-25 01:45",
            "2026-10-25 02:00",
        ],
    ),
    ("0 9 * * 1-5", "2026-10-22 12:00", ["2026-10-23 07:00", "2026-10-26 08:00", "2026-10-27 08:00"]),
    ("0,30 2 * * *", "2026-10-24 12:00", ["2026-10-25 00:00", "2026-10-25 00:30", "2026-10-26 01:00"]),
    (
        "0 */2 * * *",
        "2026-10-24 21:30",
        ["2026-10-24 22:00", "2026-10-25 00:00", "2026-10-25 01:00", "2026-10-25 03:00"],
    ),
    ("* 2 * * *", "2026-10-25 00:58", ["2026-10-25 00:59", "2026-10-25 01:00", "2026-10-25 01:01"]),
]

NEW_YORK = [
    # spring forward, 2026-03-08
    ("30 2 * * *", "2026-03-07 00:00", ["2026-03-07 07:30", "2026-03-08 07:00", "2026-03-09 06:30"]),
    ("0 12 * * *", "2026-03-07 00:00", ["2026-03-07 17:00", "2026-03-08 16:00", "2026-03-09 16:00"]),
    ("0 * * * *", "2026-03-08 05:30", ["2026-03-08 06:00", "2026-03-08 07:00", "2026-03-08 08:00"]),
    ("*/15 * * * *", "2026-03-08 06:30", ["2026-03-08 06:45", "2026-03-08 07:00", "2026-03-08 07:15"]),
    ("0 9 * * 1-5", "2026-03-05 20:00", ["2026-03-06 14:00", "2026-03-09 13:00", "2026-03-10 13:00"]),
    # fall back, 2026-11-01
    ("30 2 * * *", "2026-10-31 00:00", ["2026-10-31 06:30", "2026-11-01 07:30", "2026-11-02 07:30"]),
    ("30 1 * * *", "2026-10-31 00:00", ["2026-10-31 05:30", "2026-11-01 05:30", "2026-11-02 06:30"]),
    ("0 12 * * *", "2026-10-31 00:00", ["2026-10-31 16:00", "2026-11-01 17:00", "2026-11-02 17:00"]),
    (
        "0 * * * *",
        "2026-11-01 03:30",
        ["2026-11-01 04:00", "2026-11-01 05:00", "2026-11-01 06:00", "2026-11-01 07:00"],
    ),
    (
        "*/15 * * * *",
        "2026-11-01 05:30",
        [
            "2026-11-01 05:45",
            "2026-11-01 06:00",
            "2026-11-01 06:15",
            "2026-11-01 06:30",
            "2026-11-01 06:45",
            "2026-11-01 07:00",
        ],
    ),
    ("0 9 * * 1-5", "2026-10-29 20:00", ["2026-10-30 13:00", "2026-11-02 14:00", "2026-11-03 14:00"]),
]

SYDNEY = [
    # fall back, 2026-04-05 local
    ("30 2 * * *", "2026-04-03 00:00", ["2026-04-03 15:30", "2026-04-04 15:30", "2026-04-05 16:30"]),
    ("0 12 * * *", "2026-04-03 00:00", ["2026-04-03 01:00", "2026-04-04 01:00", "2026-04-05 02:00"]),
    (
        "0 * * * *",
        "2026-04-04 13:30",
        ["2026-04-04 14:00", "2026-04-04 15:00", "2026-04-04 16:00", "2026-04-04 17:00"],
    ),
    (
        "*/15 * * * *",
        "2026-04-04 15:30",
        [
            "2026-04-04 15:45",
            "2026-04-04 16:00",
            "2026-04-04 16:15",
            "2026-04-04 16:30",
            "2026-04-04 16:45",
            "2026-04-04 17:00",
        ],
    ),
    ("0 9 * * 1-5", "2026-04-01 12:00", ["2026-04-01 22:00", "2026-04-02 22:00", "2026-04-05 23:00"]),
    # spring forward, 2026-10-04 local
    ("30 2 * * *", "2026-10-02 00:00", ["2026-10-02 16:30", "2026-10-03 16:00", "2026-10-04 15:30"]),
    ("0 12 * * *", "2026-10-02 00:00", ["2026-10-02 02:00", "2026-10-03 02:00", "2026-10-04 01:00"]),
    ("0 * * * *", "2026-10-03 14:30", ["2026-10-03 15:00", "2026-10-03 16:00", "2026-10-03 17:00"]),
    ("*/15 * * * *", "2026-10-03 15:30", ["2026-10-03 15:45", "2026-10-03 16:00", "2026-10-03 16:15"]),
    ("0 9 * * 1-5", "2026-10-01 12:00", ["2026-10-01 23:00", "2026-10-04 22:00", "2026-10-05 22:00"]),
]

LORD_HOWE = [
    # fall back, 2026-04-05 local: 02:00 +11 -> 01:30 +10:30
    ("30 2 * * *", "2026-04-03 00:00", ["2026-04-03 15:30", "2026-04-04 16:00", "2026-04-05 16:00"]),
    ("45 1 * * *", "2026-04-03 00:00", ["2026-04-03 14:45", "2026-04-04 14:45", "2026-04-05 15:15"]),
    ("0 12 * * *", "2026-04-03 00:00", ["2026-04-03 01:00", "2026-04-04 01:00", "2026-04-05 01:30"]),
    (
        "0 * * * *",
        "2026-04-04 12:30",
        ["2026-04-04 13:00", "2026-04-04 14:00", "2026-04-04 15:30", "2026-04-04 16:30"],
    ),
    (
        "*/15 * * * *",
        "2026-04-04 14:00",
        [
            "2026-04-04 14:15",
            "2026-04-04 14:30",
            "2026-04-04 14:45",
            "2026-04-04 15:00",
            "2026-04-04 15:15",
            "2026-04-04 15:30",
            "2026-04-04 15:45",
            "2026-04-04 16:00",
        ],
    ),
    ("0 9 * * 1-5", "2026-04-01 12:00", ["2026-04-01 22:00", "2026-04-02 22:00", "2026-04-05 22:30"]),
    # spring forward, 2026-10-04 local: 02:00 +10:30 -> 02:30 +11
    ("30 2 * * *", "2026-10-02 00:00", ["2026-10-02 16:00", "2026-10-03 15:30", "2026-10-04 15:30"]),
    ("15 2 * * *", "2026-10-02 00:00", ["2026-10-02 15:45", "2026-10-03 15:30", "2026-10-04 15:15"]),
    ("15,30 2 * * *", "2026-10-03 00:00", ["2026-10-03 15:30", "2026-10-04 15:15", "2026-10-04 15:30"]),
    ("0 12 * * *", "2026-10-02 00:00", ["2026-10-02 01:30", "2026-10-03 01:30", "2026-10-04 01:00"]),
    (
        "0 * * * *",
        "2026-10-03 13:00",
        ["2026-10-03 13:30", "2026-10-03 14:30", "2026-10-03 16:00", "2026-10-03 17:00"],
    ),
    ("*/15 * * * *", "2026-10-03 15:00", ["2026-10-03 15:15", "2026-10-03 15:30", "2026-10-03 15:45"]),
    ("0 9 * * 1-5", "2026-10-01 12:00", ["2026-10-01 22:30", "2026-10-04 22:00", "2026-10-05 22:00"]),
]

KOLKATA = [
    # the Berlin change dates: nothing happens at +05:30
    ("30 2 * * *", "2026-03-28 00:00", ["2026-03-28 21:00", "2026-03-29 21:00", "2026-03-30 21:00"]),
    ("0 12 * * *", "2026-10-24 00:00", ["2026-10-24 06:30", "2026-10-25 06:30", "2026-10-26 06:30"]),
    ("0 * * * *", "2026-10-25 00:00", ["2026-10-25 00:30", "2026-10-25 01:30", "2026-10-25 02:30"]),
    ("*/15 * * * *", "2026-03-29 00:50", ["2026-03-29 01:00", "2026-03-29 01:15", "2026-03-29 01:30"]),
    ("0 9 * * 1-5", "2026-03-26 12:00", ["2026-03-27 03:30", "2026-03-30 03:30", "2026-03-31 03:30"]),
]

CASES = [
    pytest.param(zone, expression, after, expected, id=f"{zone}|{expression}|{after}")
    for zone, table in [
        ("Europe/Berlin", BERLIN),
        ("America/New_York", NEW_YORK),
        ("Australia/Sydney", SYDNEY),
        ("Australia/Lord_Howe", LORD_HOWE),
        ("Asia/Kolkata", KOLKATA),
    ]
    for expression, after, expected in table
]


@pytest.mark.parametrize(("zone", "expression", "after", "expected"), CASES)
def test_cron_occurrences_across_dst_changes(
    zone: str, expression: str, after: str, expected: list[str]
) -> None:
    spec = ScheduleSpec(kind="cron", timezone=zone, cron_expression=expression)
    assert spec.occurrences(utc(after), len(expected)) == [utc(text) for text in expected]


@pytest.mark.parametrize(("zone", "expression", "after", "expected"), CASES)
def test_next_after_walks_the_same_path(zone: str, expression: str, after: str, expected: list[str]) -> None:
    spec = ScheduleSpec(kind="cron", timezone=zone, cron_expression=expression)
    walked: list[datetime | None] = []
    cursor: datetime | None = utc(after)
    for _ in expected:
        assert cursor is not None
        cursor = spec.next_after(cursor)
        walked.append(cursor)
    assert walked == [utc(text) for text in expected]


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
    ],
)
def test_intervals_count_real_seconds_across_dst(
    zone: str, interval: int, start_at: str, expected: list[str]
) -> None:
    spec = ScheduleSpec(kind="interval", timezone=zone, interval_seconds=interval, start_at=utc(start_at))
    assert spec.occurrences(utc(start_at), len(expected)) == [utc(text) for text in expected]


YEAR_START, YEAR_END = utc("2026-01-01 00:00"), utc("2027-01-01 00:00")


@pytest.mark.parametrize(
    "zone",
    ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata"],
)
@pytest.mark.parametrize("expression", ["30 2 * * *", "45 1 * * *", "15 2 * * *", "0 12 * * *"])
def test_fixed_time_daily_lines_fire_once_per_local_day(zone: str, expression: str) -> None:
    spec = ScheduleSpec(kind="cron", timezone=zone, cron_expression=expression)
    fired = spec.occurrences_between(YEAR_START, YEAR_END)
    local_days = [instant.astimezone(ZoneInfo(zone)).date() for instant in fired]
    assert len(set(local_days)) == len(local_days)
    assert 364 <= len(fired) <= 366


@pytest.mark.parametrize(
    ("zone", "expression", "step_seconds"),
    [
        ("Europe/Berlin", "*/15 * * * *", 900),
        ("Europe/Berlin", "0 * * * *", 3600),
        ("America/New_York", "0 * * * *", 3600),
        ("Australia/Sydney", "*/15 * * * *", 900),
        ("Asia/Kolkata", "*/15 * * * *", 900),
    ],
)
def test_non_fixed_lines_follow_real_time_in_whole_hour_zones(
    zone: str, expression: str, step_seconds: int
) -> None:
    """With whole-hour (or aligned) shifts, `*/15` and `0 *` are every real 15 min / hour."""
    spec = ScheduleSpec(kind="cron", timezone=zone, cron_expression=expression)
    fired = spec.occurrences_between(YEAR_START, YEAR_END, limit=100_000)
    assert len(fired) == 365 * 86400 // step_seconds
    assert all((b - a).total_seconds() == step_seconds for a, b in pairwise(fired))
