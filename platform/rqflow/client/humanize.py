"""Instants and durations in words for tables: "2026-11-24 10:00 CET (in 4 min)", "1.2 s".

``now`` is always a parameter, so the words are testable without a clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

NOTHING = "—"
# (unit, seconds); the largest unit that fits is used, so "in 3 h", not "in 187 min".
# Suffixes --interval accepts.
INPUT_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
UNITS = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]


def parse_instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant as the API writes it, or None."""
    return datetime.fromisoformat(value) if value else None


def zone_of(name: str | None) -> ZoneInfo | None:
    """The IANA zone, or None (show instants as sent) if this machine's tz database lacks it."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_time(value: str | None, zone: ZoneInfo | None) -> str:
    """The instant in ``zone`` to the minute (seconds only when set), with the zone's abbreviation."""
    when = parse_instant(value)
    if when is None:
        return NOTHING
    local = when.astimezone(zone) if zone else when
    pattern = "%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M"
    return f"{local.strftime(pattern)} {local.tzname() or ''}".rstrip()


def relative(value: str | None, now: datetime) -> str:
    """"in 4 min", "2 h ago" or "now"."""
    when = parse_instant(value)
    if when is None:
        return NOTHING
    seconds = (when - now).total_seconds()
    if abs(seconds) < 1:
        return "now"
    amount = span(abs(seconds))
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def span(seconds: float) -> str:
    """A length of time in its largest whole unit: "4 min", "3 h", "12 s"."""
    for unit, size in UNITS:
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:.1f} s"


def when(value: str | None, zone: ZoneInfo | None, now: datetime) -> str:
    """Local time plus relative words, as the ``next run`` column shows it."""
    if value is None:
        return NOTHING
    return f"{local_time(value, zone)} ({relative(value, now)})"


def duration(seconds: float | None) -> str:
    """A run's duration: "0.42 s", "3.1 s", "2 min"."""
    if seconds is None:
        return NOTHING
    if seconds < 10:
        return f"{seconds:.2f} s" if seconds < 1 else f"{seconds:.1f} s"
    return span(seconds)


def lateness(scheduled_for: str | None, started_at: str | None) -> str:
    """How long after its occurrence a run started ("+0.31 s"); a run that has not started has none."""
    due, started = parse_instant(scheduled_for), parse_instant(started_at)
    if due is None or started is None:
        return NOTHING
    late = (started - due).total_seconds()
    return ("+" if late >= 0 else "-") + duration(abs(late))


def parse_interval(text: str) -> int:
    """Seconds from "90", "90s", "5m", "2h" or "1d"; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text.lower())
    if match is None:
        raise ValueError(f"{text!r} is not a number of seconds or a number with s, m, h or d")
    return int(match[1]) * INPUT_UNITS[match[2]]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``90m``, ``12h``, ``30d``, ``2w`` or plain seconds, as a timedelta; ValueError naming the text otherwise."""
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in _UNITS else "s"
    number = value[:-1] if value[-1:] in _UNITS else value
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 90m, 12h or 30d")
    return timedelta(seconds=int(number) * _UNITS[unit])
