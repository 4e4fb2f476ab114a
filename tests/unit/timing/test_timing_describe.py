"""describe_spec: the human-readable cadence shown in UIs and agent replies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rqflow.errors import InvalidCronExpression
from rqflow.timing import ScheduleSpec, describe_spec

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
END = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        (
            {"kind": "cron", "timezone": "Europe/Berlin", "cron_expression": "0 9 * * 1-5"},
            "At 09:00 AM, Monday through Friday (Europe/Berlin)",
        ),
        ({"kind": "cron", "cron_expression": "*/15 * * * *"}, "Every 15 minutes (UTC)"),
        ({"kind": "cron", "cron_expression": "@daily"}, "At 12:00 AM (UTC)"),
        (
            {"kind": "cron", "timezone": "Asia/Kolkata", "cron_expression": "30 2 * * *"},
            "At 02:30 AM (Asia/Kolkata)",
        ),
        ({"kind": "interval", "interval_seconds": 90, "anchor": START}, "Every 90 seconds"),
        ({"kind": "interval", "interval_seconds": 1, "anchor": START}, "Every second"),
        ({"kind": "interval", "interval_seconds": 60, "anchor": START}, "Every minute"),
        ({"kind": "interval", "interval_seconds": 300, "anchor": START}, "Every 5 minutes"),
        ({"kind": "interval", "interval_seconds": 7200, "anchor": START}, "Every 2 hours"),
        ({"kind": "interval", "interval_seconds": 86400, "anchor": START}, "Every day"),
        (
            {"kind": "once", "timezone": "Europe/Berlin", "run_at": datetime(2026, 12, 1, 8, 0, tzinfo=UTC)},
            "Once at 2026-12-01T09:00:00+01:00 (Europe/Berlin)",
        ),
        (
            {
                "kind": "interval",
                "timezone": "Europe/Berlin",
                "interval_seconds": 3600,
                "start_at": START,
                "end_at": END,
            },
            "Every hour, from 2026-03-01T09:00:00+01:00, until 2026-06-01T09:00:00+02:00",
        ),
    ],
)
def test_describe_spec(fields: dict[str, Any], text: str) -> None:
    assert describe_spec(ScheduleSpec(**fields)) == text


def test_describe_refuses_an_invalid_spec() -> None:
    with pytest.raises(InvalidCronExpression):
        describe_spec(ScheduleSpec(kind="cron", cron_expression="61 * * * *"))
