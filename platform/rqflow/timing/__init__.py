"""Occurrence computation: cron, interval and one-time schedules, timezones and DST.

Knows nothing of databases or Redis. Time is always a parameter: every function
that decides what comes next takes the instant to count from.
"""

from __future__ import annotations

from rqflow.timing.cron import CronSchedule
from rqflow.timing.describe import describe_spec
from rqflow.timing.spec import ScheduleKind, ScheduleSpec
from rqflow.timing.timezones import resolve_timezone

__all__ = ["CronSchedule", "ScheduleKind", "ScheduleSpec", "describe_spec", "resolve_timezone"]
