"""The overlap policy: whether a run may start while another run of the same schedule is going.

A schedule has one *slot*. Rows that are ``enqueued`` (handed to a worker) or
``running`` hold it; ``waiting`` rows queue for it. Every decision about the
slot (admit a run, hand the slot over when a run ends) is made while holding the
schedule's row lock (:func:`lock_schedule`), so a run that ends and an occurrence
that arrives at the same moment cannot both miss each other: the waiting run is
always handed over, and no two runs ever take a free slot at once.

- ``skip`` (default): an occurrence that arrives while the slot is taken is
  recorded as ``skipped`` with reason ``overlap``.
- ``buffer_one``: it waits, but at most one arriving occurrence waits; a
  further one is skipped.
- ``allow``: runs never wait for each other.

Catch-up backlogs and backfills are explicit queues: under ``skip`` and
``buffer_one`` their rows wait their turn, in order, instead of being skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from rqflow.db import on_commit
from rqflow.job_ids import run_job_id
from rqflow.models import Schedule, ScheduleRun
from rqflow.services.concurrency import note_wait, places_left, waiting_schedules
from rqflow.services.daily_budget import BUDGET_SKIP_REASON, exhausted
from rqflow.services.run_deadlines import deadline_for
from rqflow.settings import get_settings
from rqflow.signals import SchedulerSignals

OVERLAP_REASON = "overlap: the previous run is still going"
BUFFER_FULL_REASON = "overlap: a run is already waiting"
# A running row older than the job timeout plus this is a lost worker's, not a live run. The
# margin only covers a run that hit its timeout recording its own failure (and clock skew between
# workers and the scheduler); the scheduler's sweep runs every reconcile period, so a lost row is
# failed at most job timeout + this + one reconcile period after it started.
STALE_MARGIN = timedelta(seconds=10)


@dataclass
class Admission:
    """What became of the rows offered for the slot."""

    here: ScheduleRun | None = None  # started by the caller itself (a worker already holding the job)
    enqueued: list[ScheduleRun] = field(default_factory=list)


def lock_schedule(db: Session, schedule_id: str) -> Schedule | None:
    """Read the schedule under its row lock (PostgreSQL ``FOR UPDATE``; SQLite's write lock is already held)."""
    query = select(Schedule).where(Schedule.id == schedule_id).with_for_update()
    return db.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def stale_before(now: datetime) -> datetime:
    """Runs started before this instant have outlived any worker's job timeout."""
    return now - timedelta(seconds=get_settings().job_timeout_seconds) - STALE_MARGIN


def holds_slot(started_after: Any) -> ColumnElement[bool]:
    """A ledger row that holds its schedule's slot: enqueued, waiting for a retry, or running since after
    ``started_after`` (a datetime, or a bound parameter in a statement built once)."""
    return or_(ScheduleRun.status.in_(("enqueued", "retrying")),
               (ScheduleRun.status == "running") & (last_taken_up() > started_after))


def last_taken_up() -> ColumnElement[Any]:
    """When a worker last took the run up: its start, or its latest resumption after a retry's wait."""
    return func.coalesce(ScheduleRun.resumed_at, ScheduleRun.started_at)


def slot_taken(db: Session, schedule_id: str, now: datetime) -> bool:
    """True while a run of the schedule is enqueued or (not stale and) running."""
    query = select(func.count()).select_from(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule_id,
                                                                holds_slot(stale_before(now)))
    return bool(db.scalar(query))


def admit(
    db: Session, schedule: Schedule, rows: list[ScheduleRun], *, now: datetime, signals: SchedulerSignals,
    here: bool, queue: bool,
) -> Admission:
    """Place new rows (flushed, in order) under the overlap policy; the caller holds the row lock.

    ``here``: the caller is a worker that runs the first row itself if it may start.
    ``queue``: the rows are an explicit queue (catch-up backlog, backfill) that waits rather than skips.
    """
    admission = Admission()
    if not rows:
        return admission
    if exhausted(db, schedule.user_profile_id, now):
        for row in rows:
            _skip(row, BUDGET_SKIP_REASON, now)  # the user's model spending for today is used up
        return admission
    left = places_left(db, schedule.user_profile_id)  # the user's lock before the slot is looked at
    if schedule.overlap_policy == "allow" or not slot_taken(db, schedule.id, now):
        if left is not None and left <= 0:
            for row in rows:
                note_wait(row)  # the slot is free but the user's places are not: wait, never skip
            return admission
        first, *rest = rows
        if here:
            _start(first, schedule, now)
            admission.here = first
        else:
            admission.enqueued.append(_enqueue(db, first, now, signals))
        if schedule.overlap_policy == "allow":
            room = len(rest) if left is None else left - 1
            admission.enqueued += [_enqueue(db, row, now, signals) for row in rest[:room]]
            for row in rest[room:]:
                note_wait(row)
        return admission
    [row, *_] = rows
    if queue or len(rows) > 1:
        return admission  # every row stays waiting; a finishing run hands the slot over
    if schedule.overlap_policy == "buffer_one" and not _has_buffered(db, schedule.id, row.id):
        return admission  # it waits in the buffer
    reason = OVERLAP_REASON if schedule.overlap_policy == "skip" else BUFFER_FULL_REASON
    _skip(row, reason, now)
    return admission


def hand_over(db: Session, schedule: Schedule, *, now: datetime, signals: SchedulerSignals) -> list[ScheduleRun]:
    """Give a free slot to the oldest waiting row (every waiting row under ``allow``), as far as the user's
    places allow; the caller holds the schedule's lock."""
    waiting = (select(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule.id, ScheduleRun.status == "waiting")
               .order_by(ScheduleRun.id))
    if schedule.overlap_policy != "allow":
        waiting = waiting.limit(1)
    rows = list(db.scalars(waiting))
    if not rows:  # nothing waits, most of the time: then neither the slot nor the user's places are looked at
        return []
    left = places_left(db, schedule.user_profile_id)
    if schedule.overlap_policy != "allow" and slot_taken(db, schedule.id, now):
        return []
    return [_enqueue(db, row, now, signals) for row in (rows if left is None else rows[:max(left, 0)])]


def hand_over_places(db: Session, schedule: Schedule, *, now: datetime, signals: SchedulerSignals) -> int:
    """A run of ``schedule`` ended: under a per-user limit, start the oldest waiting runs of the user's other
    schedules in the places left; how many started. The caller holds ``schedule``'s lock and has handed its
    own slot over first."""
    left = places_left(db, schedule.user_profile_id)
    if not left or left <= 0:
        return 0
    started = 0
    for schedule_id in waiting_schedules(db, schedule.user_profile_id, besides=schedule.id, limit=left):
        other = db.get(Schedule, schedule_id)
        if other is not None:  # its decisions all take the user's lock, which this transaction holds
            started += len(hand_over(db, other, now=now, signals=signals))
    return started


def _has_buffered(db: Session, schedule_id: str, new_row_id: int) -> bool:
    """Whether an arriving occurrence (not a backfill) already waits, besides the new row itself."""
    query = select(func.count()).select_from(ScheduleRun).where(
        ScheduleRun.scheduled_job_id == schedule_id, ScheduleRun.status == "waiting",
        ScheduleRun.trigger_kind != "backfill", ScheduleRun.id != new_row_id,
    )
    return bool(db.scalar(query))


def _start(row: ScheduleRun, schedule: Schedule, now: datetime) -> None:
    row.status, row.started_at = "running", now
    row.deadline_at = deadline_for(schedule.run_timeout_seconds, now)


def _skip(row: ScheduleRun, reason: str, now: datetime) -> None:
    row.status, row.reason, row.started_at, row.finished_at = "skipped", reason, now, now


def _enqueue(db: Session, row: ScheduleRun, now: datetime, signals: SchedulerSignals) -> ScheduleRun:
    """Hand the row to a worker once the transaction commits (its job id makes a repeat harmless)."""
    row.status, row.enqueued_at = "enqueued", now
    row.rq_job_id = run_job_id(row.scheduled_job_id, row.id)
    schedule_id, run_id, bulk = row.scheduled_job_id, row.id, is_bulk(row.trigger_kind)
    on_commit(db, lambda: signals.run_now(schedule_id=schedule_id, run_id=run_id, bulk=bulk))
    return row


def is_bulk(trigger_kind: str) -> bool:
    """Runs someone asked for (run now, backfill) wait behind every schedule's own occurrences."""
    return trigger_kind in BULK_TRIGGER_KINDS


BULK_TRIGGER_KINDS = ("manual", "backfill")
