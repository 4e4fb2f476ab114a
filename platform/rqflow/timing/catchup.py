"""Catch-up: given the occurrences that came due without running, decide which run now.

Pure and clock-free: the caller passes ``now``. The rules, per policy:

- ``skip``: only the future. The most recent due occurrence still runs if it is
  merely late (started within the misfire grace of its firing instant); every
  other one is missed.
- ``latest`` (the default): the most recent due occurrence runs once; the older
  ones are missed.
- ``all``: every due occurrence runs, oldest first.

Under every policy an occurrence older than the schedule's catch-up window is
missed, never run. In the normal case exactly one occurrence is due and it is on
time, so every policy runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

CatchupPolicy = Literal["skip", "latest", "all"]

MISSED_SKIP = "catch-up policy skip: not run after downtime"
MISSED_SUPERSEDED = "catch-up policy latest: superseded by a later occurrence"
MISSED_WINDOW = "older than the catch-up window"


@dataclass(frozen=True)
class CatchupPlan:
    """Which due occurrences run (oldest first) and which are missed, each with its reason."""

    run: list[datetime] = field(default_factory=list)
    missed: list[tuple[datetime, str]] = field(default_factory=list)


def plan_catchup(
    due: list[datetime], *, now: datetime, policy: CatchupPolicy, window_seconds: int | None,
    grace: timedelta, fire_at: Callable[[datetime], datetime] = lambda occurrence: occurrence,
) -> CatchupPlan:
    """Split ``due`` (ascending, all at or before ``now``) into occurrences to run and missed ones."""
    window = None if window_seconds is None else timedelta(seconds=window_seconds)
    expired = [t for t in due if window is not None and now - t > window]
    candidates = due[len(expired):]
    missed = [(t, MISSED_WINDOW) for t in expired]
    if not candidates:
        return CatchupPlan(missed=missed)
    if policy == "all":
        return CatchupPlan(run=candidates, missed=missed)
    *older, latest = candidates
    if policy == "skip":
        on_time = now - fire_at(latest) <= grace
        missed += [(t, MISSED_SKIP) for t in older]
        return CatchupPlan(run=[latest], missed=missed) if on_time else CatchupPlan(
            missed=[*missed, (latest, MISSED_SKIP)])
    return CatchupPlan(run=[latest], missed=missed + [(t, MISSED_SUPERSEDED) for t in older])
