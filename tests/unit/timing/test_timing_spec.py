"""ScheduleSpec.next_after / occurrences / occurrences_between: windows, once, intervals."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rqflow.timing import ScheduleSpec


def utc(text: str) -> datetime:
    """Parse 'YYYY-MM-DD HH:MM[:SS[.ffffff]]' as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


DAILY_9: dict[str, Any] = {"kind": "cron", "cron_expression": "0 9 * * *"}
HOURLY_FROM: dict[str, Any] = {
    "kind": "interval",
    "interval_seconds": 3600,
    "start_at": utc("2026-01-01 00:00"),
}
EVERY_90_ANCHORED: dict[str, Any] = {
    "kind": "interval",
    "interval_seconds": 90,
    "anchor": utc("2026-01-01 00:00"),
}


@pytest.mark.parametrize(
    ("fields", "after", "expected"),
    [
        # cron: start_at is inclusive, end_at is inclusive
        ({**DAILY_9, "start_at": utc("2026-05-10 00:00")}, "2026-01-01 00:00", "2026-05-10 09:00"),
        ({**DAILY_9, "start_at": utc("2026-05-10 09:00")}, "2026-01-01 00:00", "2026-05-10 09:00"),
        ({**DAILY_9, "start_at": utc("2026-05-10 09:00:01")}, "2026-01-01 00:00", "2026-05-11 09:00"),
        ({**DAILY_9, "start_at": utc("2026-05-10 00:00")}, "2026-06-01 12:00", "2026-06-02 09:00"),
        ({**DAILY_9, "end_at": utc("2026-05-11 09:00")}, "2026-05-10 09:00", "2026-05-11 09:00"),
        ({**DAILY_9, "end_at": utc("2026-05-11 08:59")}, "2026-05-10 09:00", None),
        ({**DAILY_9}, "2026-05-10 09:00:00.500000", "2026-05-11 09:00"),
        ({**DAILY_9}, "2026-05-10 08:59:59.999999", "2026-05-10 09:00"),
        # interval with start_at: start_at + k*interval, k >= 0
        (HOURLY_FROM, "2025-12-31 00:00", "2026-01-01 00:00"),
        (HOURLY_FROM, "2026-01-01 00:00", "2026-01-01 01:00"),
        (HOURLY_FROM, "2026-01-01 00:30", "2026-01-01 01:00"),
        (HOURLY_FROM, "2026-01-01 01:00", "2026-01-01 02:00"),
        (HOURLY_FROM, "2026-01-01 01:00:00.000001", "2026-01-01 02:00"),
        (HOURLY_FROM, "2026-03-29 00:59:59", "2026-03-29 01:00"),
        ({**HOURLY_FROM, "end_at": utc("2026-01-01 05:00")}, "2026-01-01 04:00", "2026-01-01 05:00"),
        ({**HOURLY_FROM, "end_at": utc("2026-01-01 05:00")}, "2026-01-01 05:00", None),
        # interval with anchor only: anchor + k*interval, k >= 1
        (EVERY_90_ANCHORED, "2025-06-01 00:00", "2026-01-01 00:01:30"),
        (EVERY_90_ANCHORED, "2026-01-01 00:00", "2026-01-01 00:01:30"),
        (EVERY_90_ANCHORED, "2026-01-01 00:01:30", "2026-01-01 00:03:00"),
        (EVERY_90_ANCHORED, "2026-01-01 23:59:59", "2026-01-02 00:00"),  # 86400 = 960 * 90
        (EVERY_90_ANCHORED, "2026-01-02 00:00", "2026-01-02 00:01:30"),
        # start_at wins over anchor
        (
            {**EVERY_90_ANCHORED, "start_at": utc("2026-02-01 00:00:10")},
            "2026-01-01 00:00",
            "2026-02-01 00:00:10",
        ),
        # once
        ({"kind": "once", "run_at": utc("2026-12-01 08:00")}, "2026-11-30 00:00", "2026-12-01 08:00"),
        ({"kind": "once", "run_at": utc("2026-12-01 08:00")}, "2026-12-01 08:00", None),
        ({"kind": "once", "run_at": utc("2026-12-01 08:00")}, "2026-12-02 00:00", None),
        (
            {"kind": "once", "run_at": utc("2026-12-01 08:00:00.750000")},
            "2026-11-30 00:00",
            "2026-12-01 08:00",
        ),
    ],
)
def test_next_after(fields: dict[str, Any], after: str, expected: str | None) -> None:
    result = ScheduleSpec(**fields).next_after(utc(after))
    assert result == (None if expected is None else utc(expected))


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "cron", "timezone": "America/New_York", "cron_expression": "*/10 * * * *"},
        {
            "kind": "interval",
            "interval_seconds": 7,
            "anchor": datetime(2026, 1, 1, 3, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Kolkata")),
        },
        {"kind": "once", "run_at": datetime(2026, 12, 1, 9, 0, 0, 999, tzinfo=ZoneInfo("Europe/Berlin"))},
    ],
)
def test_results_are_aware_utc_whole_seconds(fields: dict[str, Any]) -> None:
    after = datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=ZoneInfo("Europe/Berlin"))
    for instant in ScheduleSpec(**fields).occurrences(after, 5):
        assert instant.tzinfo is UTC
        assert instant.microsecond == 0
        assert instant > after


def test_once_in_another_zone_is_returned_in_utc() -> None:
    run_at = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    spec = ScheduleSpec(kind="once", timezone="Europe/Berlin", run_at=run_at)
    assert spec.next_after(utc("2026-01-01 00:00")) == utc("2026-12-01 08:00")


def test_occurrences_counts_and_stops_at_end() -> None:
    spec = ScheduleSpec(**{**HOURLY_FROM, "end_at": utc("2026-01-01 03:00")})
    assert spec.occurrences(utc("2025-01-01 00:00"), 10) == [
        utc("2026-01-01 00:00"),
        utc("2026-01-01 01:00"),
        utc("2026-01-01 02:00"),
        utc("2026-01-01 03:00"),
    ]
    assert spec.occurrences(utc("2025-01-01 00:00"), 2) == [utc("2026-01-01 00:00"), utc("2026-01-01 01:00")]
    assert spec.occurrences(utc("2025-01-01 00:00"), 0) == []


@pytest.mark.parametrize(
    ("start", "end", "limit", "expected"),
    [
        # start exclusive, end inclusive
        (
            "2026-01-01 00:00",
            "2026-01-01 03:00",
            100,
            ["2026-01-01 01:00", "2026-01-01 02:00", "2026-01-01 03:00"],
        ),
        ("2025-12-31 23:59", "2026-01-01 01:59", 100, ["2026-01-01 00:00", "2026-01-01 01:00"]),
        ("2026-01-01 00:00", "2026-01-01 10:00", 2, ["2026-01-01 01:00", "2026-01-01 02:00"]),
        ("2026-01-01 00:30", "2026-01-01 00:59", 100, []),
        ("2026-01-01 05:00", "2026-01-01 04:00", 100, []),
    ],
)
def test_occurrences_between(start: str, end: str, limit: int, expected: list[str]) -> None:
    spec = ScheduleSpec(**HOURLY_FROM)
    assert spec.occurrences_between(utc(start), utc(end), limit) == [utc(text) for text in expected]


def test_occurrences_between_default_limit_is_ten_thousand() -> None:
    spec = ScheduleSpec(kind="interval", interval_seconds=1, start_at=utc("2026-01-01 00:00"))
    found = spec.occurrences_between(utc("2026-01-01 00:00"), utc("2026-01-02 00:00"))
    assert len(found) == 10_000
    assert found[-1] == utc("2026-01-01 02:46:40")


def test_interval_next_after_is_constant_time() -> None:
    """A one-second interval asked about a date centuries ahead must not loop per step."""
    spec = ScheduleSpec(kind="interval", interval_seconds=1, start_at=utc("2000-01-01 00:00"))
    began = time.perf_counter()
    result = spec.next_after(utc("2999-06-01 12:00:00.250000"))
    assert time.perf_counter() - began < 1.0  # a per-step loop would need ~3e10 steps
    assert result == utc("2999-06-01 12:00:01")


def test_walking_next_after_never_drifts() -> None:
    """Feeding each occurrence back in gives anchor + k*interval exactly."""
    spec = ScheduleSpec(kind="interval", interval_seconds=90, anchor=utc("2026-03-29 00:00"))
    cursor: datetime | None = utc("2026-03-29 00:00")
    for _ in range(100):
        assert cursor is not None
        cursor = spec.next_after(cursor)
    assert cursor == utc("2026-03-29 00:00") + timedelta(seconds=9000)
