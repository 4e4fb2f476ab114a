"""The per-user concurrency limit: at most RQFLOW_MAX_CONCURRENT_RUNS_PER_USER of one user's runs at once.

A run counts from the moment it is handed to a worker until it ends: ``enqueued``,
``running``, and ``retrying`` (a run waiting for a retry is still going, and taking it up
again must not need a place it gave away). A run that may start by its schedule's slot
but finds the user at the limit waits (``waiting``) instead of being skipped; whenever one
of the user's runs ends, the oldest waiting runs of the user's schedules, in the order
their occurrences came due, start in the places it frees. None is dropped.

Every decision about a place is made under the user's row lock (``FOR NO KEY UPDATE`` on
PostgreSQL), taken after the schedule's (the order every path keeps), so two workers claiming two schedules of one user at the
same instant cannot both take the last place. With the setting unset (the default) none
of this runs.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rqflow.models import Schedule, ScheduleRun, UserProfile
from rqflow.settings import get_settings

# The reason a run that waited for a place says so (kept beside a catch-up's own reason).
CONCURRENCY_REASON = "waited for a place under the user's concurrent-run limit"
IN_FLIGHT = ("enqueued", "running", "retrying")


def limited() -> bool:
    """Whether the operator set a per-user limit."""
    return get_settings().max_concurrent_runs_per_user is not None


def places_left(db: Session, user_id: int) -> int | None:
    """How many more of the user's runs may start now (None: no limit); takes the user's row lock."""
    limit = get_settings().max_concurrent_runs_per_user
    if limit is None:
        return None
    # FOR NO KEY UPDATE, not FOR UPDATE: the transaction may already hold the weaker lock a foreign key takes on
    # the user's row (an audit row it wrote), and two transactions upgrading that lock deadlock each other.
    db.execute(select(UserProfile.id).where(UserProfile.id == user_id).with_for_update(key_share=True))
    going = (select(ScheduleRun.id).join(Schedule, Schedule.id == ScheduleRun.scheduled_job_id)
             .where(Schedule.user_profile_id == user_id, ScheduleRun.status.in_(IN_FLIGHT)).limit(limit))
    return limit - (db.scalar(select(func.count()).select_from(going.subquery())) or 0)


def has_room(db: Session, user_id: int) -> bool:
    """Whether one more of the user's runs may start now (always, without a limit)."""
    left = places_left(db, user_id)
    return left is None or left > 0


def note_wait(row: ScheduleRun) -> None:
    """Mark a row that waits for the user's limit (a reason it already has, such as a catch-up's, stays)."""
    row.reason = row.reason or CONCURRENCY_REASON


def waiting_schedules(db: Session, user_id: int, *, besides: str, limit: int) -> list[str]:
    """The user's other schedules with waiting runs, the one whose oldest waiting occurrence came due first
    first (ties: the one that began to wait first); at most ``limit``."""
    query = (select(ScheduleRun.scheduled_job_id, func.min(ScheduleRun.scheduled_for).label("first"),
                    func.min(ScheduleRun.id).label("first_id"))
             .join(Schedule, Schedule.id == ScheduleRun.scheduled_job_id)
             .where(Schedule.user_profile_id == user_id, ScheduleRun.status == "waiting",
                    ScheduleRun.scheduled_job_id != besides)
             .group_by(ScheduleRun.scheduled_job_id).order_by("first", "first_id").limit(limit))
    return [row.scheduled_job_id for row in db.execute(query)]
