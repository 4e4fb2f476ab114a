"""Human-readable cadence of a schedule, for UIs, agent replies and logs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cron_descriptor import FormatException, MissingFieldException, Options, get_description

from rqflow.timing.cron import CronSchedule
from rqflow.timing.spec import ScheduleSpec
from rqflow.timing.timezones import resolve_timezone

# Fixed locale: the text must not depend on the server's locale settings.
_OPTIONS = Options(locale_code="en_US", use_24hour_time_format=False)
_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def describe_spec(spec: ScheduleSpec, *, with_zone: bool = True) -> str:
    """Say how often a schedule fires, in words, with its zone and window.

    ``with_zone=False`` leaves the zone's name out, for a table that shows it in a column of its own.
    """
    spec.validate()
    zone = resolve_timezone(spec.timezone)
    named = f" ({spec.timezone})" if with_zone else ""
    if spec.kind == "cron":
        text = _describe_cron(spec.cron_expression or "") + named
    elif spec.kind == "interval":
        text = _describe_interval(spec.interval_seconds or 0)
    else:
        text = f"Once at {_local_iso(spec.run_at, zone)}{named}"
    return text + _describe_window(spec, zone)


def _describe_cron(expression: str) -> str:
    """Describe the expanded five fields with cron-descriptor, falling back to the line."""
    fields = CronSchedule.parse(expression).expression
    try:
        return str(get_description(fields, _OPTIONS))
    except (FormatException, MissingFieldException, ValueError):
        return f"Cron {fields}"


def _describe_interval(seconds: int) -> str:
    """Say "Every 90 seconds" or "Every 2 hours", using the largest unit that divides evenly."""
    size, unit = next((size, unit) for size, unit in _UNITS if seconds % size == 0)
    count = seconds // size
    return f"Every {unit}" if count == 1 else f"Every {count} {unit}s"


def _describe_window(spec: ScheduleSpec, zone: ZoneInfo) -> str:
    """Mention start_at and end_at when set, in the schedule's zone."""
    parts = []
    if spec.start_at is not None and spec.kind != "once":
        parts.append(f", from {_local_iso(spec.start_at, zone)}")
    if spec.end_at is not None and spec.kind != "once":
        parts.append(f", until {_local_iso(spec.end_at, zone)}")
    return "".join(parts)


def _local_iso(instant: datetime | None, zone: ZoneInfo) -> str:
    """Show an instant in the schedule's zone, to the second."""
    assert instant is not None
    return instant.astimezone(zone).replace(microsecond=0).isoformat()
