"""A parsed five-field cron line: which local dates and wall times it matches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from rqflow.errors import InvalidCronExpression
from rqflow.timing.cron_fields import FIELDS, CronSyntaxError, parse_field
from rqflow.timing.cron_macros import expand_macro
from rqflow.timing.cron_occurrences import iter_cron_occurrences

# The longest each month can be (February in a leap year), to spot lines that never fire.
_MAX_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class CronSchedule:
    """A validated five-field cron line (Debian cron semantics), evaluated in local time."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_and: bool
    fixed_time: bool
    times: tuple[time, ...] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, expression: object) -> CronSchedule:
        """Parse and check a cron line once, raising InvalidCronExpression with a hint."""
        if not isinstance(expression, str):
            raise InvalidCronExpression(f"cron expression must be a string, got {expression!r}")
        try:
            return _parse_cached(expression)
        except CronSyntaxError as error:
            raise InvalidCronExpression(f"invalid cron expression {expression!r}: {error}") from None

    def matches_date(self, day: date) -> bool:
        """Tell whether a local date is a firing day (dom OR dow unless either starts with *)."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.weekday() + 1) % 7 in self.weekdays
        return (dom and dow) if self.day_and else (dom or dow)

    def can_fire(self) -> bool:
        """Tell whether any calendar date matches, to reject lines such as `0 0 31 2 *`."""
        if not self.day_and:
            return True
        return any(day <= _MAX_DAYS[month] for month in self.months for day in self.days)

    def min_spacing_seconds(self) -> int:
        """Give a lower bound on the wall-clock gap between firings, for frequency limits."""
        marks = [moment.hour * 60 + moment.minute for moment in self.times]
        gaps = [later - earlier for earlier, later in pairwise(marks)]
        gaps.append(_MINUTES_PER_DAY - marks[-1] + marks[0])
        return min(gaps) * 60

    def occurrences_after(self, after: datetime, zone: ZoneInfo) -> Iterator[datetime]:
        """Yield firings strictly after `after` in `zone`, as UTC, applying the DST rule."""
        return iter_cron_occurrences(self, zone, after)

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """Return the first firing strictly after `after`, or None if none within a century."""
        return next(self.occurrences_after(after, zone), None)


@lru_cache(maxsize=1024)
def _parse_cached(expression: str) -> CronSchedule:
    """Build a CronSchedule; cached because schedules are re-evaluated on every firing."""
    parts = _split_fields(expression)
    minutes, hours, days, months, weekdays = (parse_field(spec, part) for spec, part in zip(FIELDS, parts))
    return CronSchedule(
        expression=" ".join(parts),
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset(value % 7 for value in weekdays),
        day_and=parts[2].startswith("*") or parts[4].startswith("*"),
        fixed_time=not (parts[0].startswith("*") or parts[1].startswith("*")),
        times=tuple(time(hour, minute) for hour in sorted(hours) for minute in sorted(minutes)),
    )


def _split_fields(expression: str) -> list[str]:
    """Expand macros and split into exactly five fields; seconds and years are not cron."""
    if not expression.strip():
        raise CronSyntaxError("cron expression is empty")
    parts = expand_macro(expression).split()
    if len(parts) != len(FIELDS):
        raise CronSyntaxError(f"expected {len(FIELDS)} cron fields, got {len(parts)}")
    return parts
