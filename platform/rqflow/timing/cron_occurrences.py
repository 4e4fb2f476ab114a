"""Walking a cron schedule forward day by day in its zone, yielding real UTC instants."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rqflow.timing.dst import fixed_time_instant, real_instants

if TYPE_CHECKING:
    from rqflow.timing.cron import CronSchedule

ONE_DAY = timedelta(days=1)
# Give up after this many years without a match (only odd leap-day lines come close).
SEARCH_YEARS = 100
_LAST_YEAR = 9998


def iter_cron_occurrences(cron: CronSchedule, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Yield firings strictly after `after`, increasing and without duplicates."""
    local_after = after.astimezone(zone)
    last = after
    for day in _matching_days(cron, local_after.date() - ONE_DAY):
        for instant in _day_instants(cron, zone, day, local_after):
            if instant > last:
                yield instant
                last = instant


def _matching_days(cron: CronSchedule, start: date) -> Iterator[date]:
    """Yield the local dates the line fires on, skipping whole months that cannot match."""
    day, give_up = start, _give_up_year(start)
    while day.year <= give_up:
        if day.month not in cron.months:
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            continue
        if cron.matches_date(day):
            yield day
            give_up = _give_up_year(day)
        day += ONE_DAY


def _give_up_year(day: date) -> int:
    """Bound the search for the next match, so a generator never spins for ever."""
    return min(day.year + SEARCH_YEARS, _LAST_YEAR)


def _day_instants(cron: CronSchedule, zone: ZoneInfo, day: date, local_after: datetime) -> Iterator[datetime]:
    """Yield one day's firings in order; days with a clock change take the careful path."""
    if not is_regular_day(zone, day):
        return iter(_changeover_instants(cron, zone, day))
    if day < local_after.date():
        return iter(())
    first = bisect_right(cron.times, local_after.time()) if day == local_after.date() else 0
    return (datetime.combine(day, moment, zone).astimezone(UTC) for moment in cron.times[first:])


def is_regular_day(zone: ZoneInfo, day: date) -> bool:
    """Tell whether a local day lasts exactly 24 hours, i.e. has no clock change."""
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + ONE_DAY, time(), zone).astimezone(UTC)
    return end - start == ONE_DAY


def _changeover_instants(cron: CronSchedule, zone: ZoneInfo, day: date) -> list[datetime]:
    """List a clock-change day's firings: fixed-time lines once each, others at every real match."""
    walls = [datetime.combine(day, moment) for moment in cron.times]
    if cron.fixed_time:
        found = {fixed_time_instant(wall, zone) for wall in walls}
    else:
        found = {instant for wall in walls for instant in real_instants(wall, zone)}
    return sorted(found)
