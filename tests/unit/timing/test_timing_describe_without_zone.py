"""describe_spec(with_zone=False): the cadence for a table that shows the zone in a column of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rqflow.timing import ScheduleSpec, describe_spec

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"kind": "cron", "timezone": "Europe/Berlin", "cron_expression": "0 9 * * 1-5"},
         "At 09:00 AM, Monday through Friday"),
        ({"kind": "once", "timezone": "Europe/Berlin", "run_at": datetime(2026, 12, 1, 8, 0, tzinfo=UTC)},
         "Once at 2026-12-01T09:00:00+01:00"),
        ({"kind": "interval", "interval_seconds": 90, "anchor": START}, "Every 90 seconds"),
        ({"kind": "cron", "timezone": "Asia/Kolkata", "cron_expression": "30 2 * * *", "start_at": START},
         "At 02:30 AM, from 2026-03-01T13:30:00+05:30"),
    ],
)
def test_the_zone_is_left_out_and_nothing_else(fields: dict[str, Any], text: str) -> None:
    spec = ScheduleSpec(**fields)
    assert describe_spec(spec, with_zone=False) == text
    assert "(" + spec.timezone + ")" in describe_spec(spec) or spec.kind == "interval"
