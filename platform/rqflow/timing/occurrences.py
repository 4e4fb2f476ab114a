"""One schedule's occurrences, whatever its kind, clipped to its start/end window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rqflow.timing.cron import CronSchedule
from rqflow.timing.instants import to_utc_second
from rqflow.timing.interval import interval_occurrences
from rqflow.timing.timezones import resolve_timezone

if TYPE_CHECKING:
    from rqflow.timing.spec import ScheduleSpec

_JUST_BEFORE = timedelta(microseconds=1)


def iter_occurrences(spec: ScheduleSpec, after: datetime) -> Iterator[datetime]:
    """Yield occurrences strictly after `after`, never before start_at nor after end_at."""
    end = None if spec.end_at is None else to_utc_second(spec.end_at)
    for instant in _kind_occurrences(spec, _lower_bound(spec, after)):
        if end is not None and instant > end:
            return
        yield instant


def _lower_bound(spec: ScheduleSpec, after: datetime) -> datetime:
    """Move `after` up to just before start_at, so start_at itself may be an occurrence."""
    if spec.start_at is None:
        return after
    return max(after, to_utc_second(spec.start_at) - _JUST_BEFORE)


def _kind_occurrences(spec: ScheduleSpec, after: datetime) -> Iterator[datetime]:
    """Dispatch to the cron, interval or one-time computation."""
    if spec.kind == "cron":
        cron = CronSchedule.parse(spec.cron_expression)
        return cron.occurrences_after(after, resolve_timezone(spec.timezone))
    if spec.kind == "interval":
        return _interval_occurrences(spec, after)
    return _once_occurrences(spec, after)


def _interval_occurrences(spec: ScheduleSpec, after: datetime) -> Iterator[datetime]:
    """Count from start_at (k >= 0) or, lacking it, from the anchor (k >= 1)."""
    assert spec.interval_seconds is not None
    if spec.start_at is not None:
        return interval_occurrences(to_utc_second(spec.start_at), spec.interval_seconds, 0, after)
    assert spec.anchor is not None
    return interval_occurrences(to_utc_second(spec.anchor), spec.interval_seconds, 1, after)


def _once_occurrences(spec: ScheduleSpec, after: datetime) -> Iterator[datetime]:
    """Yield run_at if it is still ahead of `after`."""
    assert spec.run_at is not None
    run_at = to_utc_second(spec.run_at)
    if run_at > after:
        yield run_at
