"""Interval schedules: fixed steps of real elapsed seconds from an origin, blind to DST."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from rqflow.timing.instants import epoch_seconds, from_epoch_seconds

# 9999-12-31T00:00:00Z, the last instant a datetime can hold with a day to spare.
_LAST_EPOCH_SECOND = 253402214400


def interval_occurrences(origin: datetime, step: int, first_k: int, after: datetime) -> Iterator[datetime]:
    """Yield origin + k*step for k >= first_k, strictly after `after`; O(1) to the first."""
    base = epoch_seconds(origin)
    k = max(first_k, (epoch_seconds(after) - base) // step + 1)
    while base + k * step <= _LAST_EPOCH_SECOND:
        yield from_epoch_seconds(base + k * step)
        k += 1
