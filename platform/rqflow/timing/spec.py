"""ScheduleSpec: everything that decides when a schedule fires, and its occurrences."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice, takewhile
from typing import Literal, NamedTuple

from rqflow.timing.cron import CronSchedule
from rqflow.timing.instants import require_aware, shifted
from rqflow.timing.occurrences import iter_occurrences
from rqflow.timing.validation import validate_spec

ScheduleKind = Literal["cron", "interval", "once"]

# A one-time schedule never repeats; this stands for "no second firing".
NEVER_REPEATS_SECONDS = 10**9


class Newest(NamedTuple):
    """The newest occurrences of a range (oldest first), and whether the range held older ones too."""

    occurrences: list[datetime]
    older_left_out: bool


@dataclass(frozen=True)
class ScheduleSpec:
    """When a schedule fires: a cron line, an interval or one instant, plus a window.

    Interval occurrences are ``start_at + k*interval`` (k >= 0) when start_at is
    set, otherwise ``anchor + k*interval`` (k >= 1), anchor being the creation
    instant. All returned instants are aware UTC with whole seconds.
    """

    kind: ScheduleKind
    timezone: str = "UTC"
    cron_expression: str | None = None
    interval_seconds: int | None = None
    run_at: datetime | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    anchor: datetime | None = None

    def validate(self) -> None:
        """Raise the rqflow.errors error (with its field) that stops this spec from working."""
        validate_spec(self)

    def next_after(self, after: datetime) -> datetime | None:
        """Return the first occurrence strictly after `after`, or None once the schedule ends."""
        return next(iter(self.occurrences(after, 1)), None)

    def occurrences(self, after: datetime, count: int) -> list[datetime]:
        """List the next `count` occurrences strictly after `after`, fewer if it ends first."""
        self.validate()
        require_aware(after, "after")
        return list(islice(iter_occurrences(self, after), max(count, 0)))

    def occurrences_between(self, start: datetime, end: datetime, limit: int = 10_000) -> list[datetime]:
        """List occurrences t with start < t <= end (at most `limit`), e.g. for catch-up."""
        return list(islice(self.iter_between(start, end), max(limit, 0)))

    def iter_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Yield occurrences t with start < t <= end, oldest first, computed one at a time."""
        self.validate()
        require_aware(start, "start")
        require_aware(end, "end")
        return takewhile(lambda instant: instant <= end, iter_occurrences(self, start))

    def newest_between(self, start: datetime, end: datetime, count: int) -> Newest:
        """The newest ``count`` occurrences t with start < t <= end, and whether older ones were left out.

        A schedule down for years must not be walked occurrence by occurrence from the
        start, so the search looks back ``count`` spacings from ``end`` and doubles that
        span until it holds ``count`` occurrences or reaches ``start``. Spacing is a lower
        bound of the gaps, so the first span rarely holds many more than ``count``; where
        the real gaps are wider (a yearly cron line), widening finds the ones it lacked.
        """
        span = count * self.min_spacing_seconds()
        while True:
            lower = max(start, shifted(end, -span))
            newest, seen = _tail(self.iter_between(lower, end), count)
            if seen >= count or lower == start:
                break
            span *= 2
        # A clock change can put more than ``count`` in the span (fixed-time firings moved to the jump's end).
        older_left_out = seen > count or (lower > start and bool(self.occurrences_between(start, lower, limit=1)))
        return Newest(newest, older_left_out)

    def min_spacing_seconds(self) -> int:
        """Give a lower bound on the gap between firings, to enforce a minimum frequency."""
        self.validate()
        if self.kind == "interval":
            assert self.interval_seconds is not None
            return self.interval_seconds
        if self.kind == "once":
            return NEVER_REPEATS_SECONDS
        return CronSchedule.parse(self.cron_expression).min_spacing_seconds()


def _tail(instants: Iterator[datetime], count: int) -> tuple[list[datetime], int]:
    """The last ``count`` instants, and how many there were in all."""
    last: deque[datetime] = deque(maxlen=count)
    seen = 0
    for instant in instants:
        last.append(instant)
        seen += 1
    return list(last), seen
