"""Mapping local wall times to real instants across DST changes (Debian cron's rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rqflow.timing.instants import epoch_seconds, from_epoch_seconds


def real_instants(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """List every UTC instant whose local time is `wall`: none in a gap, two in a fold."""
    found: list[datetime] = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        shown = instant.astimezone(zone).replace(tzinfo=None)
        if shown == wall and instant not in found:
            found.append(instant)
    return sorted(found)


def fixed_time_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """Place a fixed-time firing: the first of repeated times, the jump's end for skipped ones."""
    instants = real_instants(wall, zone)
    return instants[0] if instants else gap_end(wall, zone)


def gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """Find the first whole local minute after the clock jump that skipped `wall`."""
    earlier, later = sorted(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    jump = from_epoch_seconds(_transition(epoch_seconds(earlier), epoch_seconds(later), zone))
    return jump + timedelta(seconds=-jump.astimezone(zone).second % 60)


def _transition(before: int, after: int, zone: ZoneInfo) -> int:
    """Bisect epoch seconds for the first one carrying the post-jump UTC offset."""
    target = _offset(after, zone)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset(middle, zone) == target:
            after = middle
        else:
            before = middle
    return after


def _offset(seconds: int, zone: ZoneInfo) -> timedelta | None:
    """Give the zone's UTC offset at an epoch second."""
    return from_epoch_seconds(seconds).astimezone(zone).utcoffset()
