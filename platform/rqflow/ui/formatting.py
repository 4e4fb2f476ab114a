"""How the dashboard shows instants, durations and JSON: pure functions, used as template filters.

``now`` is always passed in (read once per request), so a page is consistent and
these functions are testable without a clock.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rqflow.timing import resolve_timezone

# (seconds in the unit, its short name), largest first: "in 3 min", "2 h ago".
_UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


def local_time(instant: datetime | None, zone: str = "UTC") -> str:
    """The instant in ``zone``, to the second, with the zone's abbreviation; a dash when unset."""
    if instant is None:
        return "—"
    return instant.astimezone(_zone(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def relative_time(instant: datetime | None, now: datetime) -> str:
    """"in 3 min" or "12 s ago", in the largest whole unit, so a glance tells how soon."""
    if instant is None:
        return ""
    seconds = round((instant - now).total_seconds())
    if seconds == 0:
        return "now"
    size, unit = next(((size, unit) for size, unit in _UNITS if abs(seconds) >= size), (1, "s"))
    amount = f"{abs(seconds) // size} {unit}"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


def seconds_text(value: float | None) -> str:
    """A duration or a lateness: milliseconds under a second, else seconds with one decimal."""
    if value is None:
        return "—"
    if abs(value) < 1:
        return f"{round(value * 1000)} ms"  # an int, so a hair below zero shows as 0, not -0
    return f"{value:.1f} s"


def lateness(scheduled_for: datetime, started_at: datetime | None) -> float | None:
    """How long after its occurrence a run started (None if it never did)."""
    return None if started_at is None else (started_at - scheduled_for).total_seconds()


def duration(started_at: datetime, finished_at: datetime | None) -> float | None:
    """How long a run or node run took (None while it runs).

    Clamped at zero: a node that finishes within the clock's resolution can be stamped a
    hair before its start, and "-1 ms" would only puzzle the reader.
    """
    return None if finished_at is None else max((finished_at - started_at).total_seconds(), 0.0)


def local_input(instant: datetime | None, zone: str) -> str:
    """The value of a ``datetime-local`` input showing ``instant`` in ``zone``."""
    if instant is None:
        return ""
    return instant.astimezone(_zone(zone)).strftime("%Y-%m-%dT%H:%M:%S")


def pretty_json(value: Any) -> str:
    """Indented JSON for inputs, outputs and events (non-JSON values shown as text)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def _zone(name: str) -> ZoneInfo:
    try:
        return resolve_timezone(name)
    except ValueError:
        return ZoneInfo("UTC")  # a stored row always has a valid zone; this only guards odd input
