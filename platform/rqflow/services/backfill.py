"""Backfill: run the occurrences of a past range that have no ledger row yet, in order.

Backfilled rows are an explicit queue: under the ``skip`` and ``buffer_one``
overlap policies they run one after the other, each waiting for the slot; under
``allow`` they are all handed to workers at once, oldest first. They do not
count toward ``max_runs`` and run whether the schedule is active, paused or
stopped (a backfill is a deliberate request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from rqflow.errors import InvalidInput
from rqflow.models import Schedule, ScheduleRun, UserProfile
from rqflow.services import quotas
from rqflow.services.catchup import recorded_instants
from rqflow.services.overlap import admit
from rqflow.services.schedule_rules import spec_of
from rqflow.services.schedules import locked_schedule
from rqflow.signals import SchedulerSignals
from rqflow.timing import describe_spec

# One request backfills at most this many occurrences; a longer range is done in parts.
MAX_BACKFILL = 1000
BACKFILL_REASON = "backfill"


@dataclass(frozen=True)
class Backfill:
    """What a backfill did: the rows it queued, how many occurrences already had one, and that in words."""

    rows: list[ScheduleRun]
    already_recorded: int
    message: str


def backfill_range(
    *, db: Session, owner: UserProfile, schedule_id: str, start: datetime, end: datetime, now: datetime,
    signals: SchedulerSignals,
) -> Backfill:
    """Queue every occurrence in ``[start, end]`` without a ledger row (the new rows oldest first), and say what
    was done: an empty answer alone does not tell a range without occurrences (a Sunday for a weekday cron) from
    one whose occurrences all ran already."""
    schedule = locked_schedule(db, owner, schedule_id)
    _check_range(start, end, now)
    found = spec_of(schedule).occurrences_between(start - timedelta(microseconds=1), end, limit=MAX_BACKFILL + 1)
    if len(found) > MAX_BACKFILL:
        raise InvalidInput(
            f"the range holds more than {MAX_BACKFILL} occurrences; backfill it in parts", field="end"
        )
    existing = recorded_instants(db, schedule.id, found)
    missing = [when for when in found if when not in existing]
    quotas.check_queued_runs(db, owner, adding=len(missing), field="end")
    rows = [ScheduleRun(scheduled_job_id=schedule.id, scheduled_for=when, trigger_kind="backfill", status="waiting",
                        reason=BACKFILL_REASON, created_at=now) for when in missing]
    db.add_all(rows)
    db.flush()
    admit(db, schedule, rows, now=now, signals=signals, here=False, queue=True)
    already = len(found) - len(missing)
    return Backfill(rows=rows, already_recorded=already,
                    message=_summary(schedule, start, end, queued=len(rows), already=already))


def _summary(schedule: Schedule, start: datetime, end: datetime, *, queued: int, already: int) -> str:
    """The backfill in one line, naming the range and, when nothing fell in it, the cadence to check."""
    between = f"between {start.isoformat()} and {end.isoformat()}"
    if queued == already == 0:
        cadence = describe_spec(spec_of(schedule))
        return f"no occurrence of this schedule falls {between} (its cadence: {cadence}); nothing was queued"
    if queued == 0:
        return f"every occurrence {between} ({already}) already has a ledger row; nothing was queued"
    text = f"queued {_occurrences(queued)} {between}"
    return f"{text}; skipped {already} that already had a ledger row" if already else text


def _occurrences(count: int) -> str:
    return f"{count} occurrence" if count == 1 else f"{count} occurrences"


def _check_range(start: datetime, end: datetime, now: datetime) -> None:
    if start >= end:
        raise InvalidInput(f"start {start.isoformat()} must be before end {end.isoformat()}", field="start")
    if end > now:
        raise InvalidInput(f"end {end.isoformat()} is in the future; backfill only covers the past", field="end")
