"""Checking a ScheduleSpec field by field, raising the domain error that names the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rqflow.errors import InvalidCronExpression, InvalidInput, NeverFires
from rqflow.timing.cron import CronSchedule
from rqflow.timing.instants import require_aware
from rqflow.timing.timezones import resolve_timezone

if TYPE_CHECKING:
    from rqflow.timing.spec import ScheduleSpec

_DATETIME_FIELDS = ("run_at", "start_at", "end_at", "anchor")


def validate_spec(spec: ScheduleSpec) -> None:
    """Raise the first problem found, so callers can report one actionable message."""
    check = _KIND_CHECKS.get(spec.kind) if isinstance(spec.kind, str) else None
    if check is None:
        raise InvalidInput(f"kind must be one of {', '.join(_KIND_CHECKS)}; got {spec.kind!r}", field="kind")
    resolve_timezone(spec.timezone)
    for name in _DATETIME_FIELDS:
        if getattr(spec, name) is not None:
            require_aware(getattr(spec, name), name)
    _check_window(spec)
    check(spec)


def _check_window(spec: ScheduleSpec) -> None:
    """Refuse an empty window: end_at must come after start_at."""
    if spec.start_at is not None and spec.end_at is not None and spec.start_at >= spec.end_at:
        raise InvalidInput(
            f"end_at ({spec.end_at.isoformat()}) must be after start_at ({spec.start_at.isoformat()})",
            field="end_at",
        )


def _check_cron(spec: ScheduleSpec) -> None:
    """Require a parseable cron line that matches at least one calendar date."""
    if spec.cron_expression is None:
        raise InvalidCronExpression("cron_expression is required for cron schedules")
    cron = CronSchedule.parse(spec.cron_expression)
    if not cron.can_fire():
        raise NeverFires(
            f"cron expression {spec.cron_expression!r} never fires: "
            "no allowed month has any of its day-of-month values",
            field="cron_expression",
        )


def _check_interval(spec: ScheduleSpec) -> None:
    """Require a positive whole number of seconds and an origin to count from."""
    seconds = spec.interval_seconds
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        raise InvalidInput(
            f"interval_seconds must be a positive whole number for interval schedules, got {seconds!r}",
            field="interval_seconds",
        )
    if spec.start_at is None and spec.anchor is None:
        raise InvalidInput(
            "interval schedules need start_at or anchor (the creation instant) to count from",
            field="anchor",
        )


def _check_once(spec: ScheduleSpec) -> None:
    """Require run_at, inside the start/end window if one is given."""
    if spec.run_at is None:
        raise InvalidInput("run_at is required for one-time schedules", field="run_at")
    early = spec.start_at is not None and spec.run_at < spec.start_at
    late = spec.end_at is not None and spec.run_at > spec.end_at
    if early or late:
        raise NeverFires(
            f"run_at ({spec.run_at.isoformat()}) lies outside the start_at/end_at window",
            field="run_at",
        )


_KIND_CHECKS: dict[str, Callable[[ScheduleSpec], None]] = {
    "cron": _check_cron,
    "interval": _check_interval,
    "once": _check_once,
}
