"""Jitter: a per-occurrence delay that spreads load away from the top of the hour.

The delay is a hash of the schedule id and the occurrence, not a random draw, so
every process (a restarted scheduler, a reconcile pass, the worker arming the
next timer) computes the same firing instant and a re-sync never moves a timer.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from rqflow.timing.instants import epoch_seconds, shifted


def jitter_delay(schedule_id: str, occurrence: datetime, max_seconds: int) -> timedelta:
    """The delay, between 0 and ``max_seconds`` whole seconds, of this occurrence of this schedule."""
    if max_seconds <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{schedule_id}:{epoch_seconds(occurrence)}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % (max_seconds + 1))


def fire_at(schedule_id: str, occurrence: datetime, max_seconds: int) -> datetime:
    """The instant the timer of this occurrence goes off: the occurrence plus its jitter (at most the calendar's end)."""
    return shifted(occurrence, jitter_delay(schedule_id, occurrence, max_seconds).total_seconds())
