"""The worker's side of an occurrence: claim it in the ledger, then record how it ended.

Exactly-once is enforced here, by the database. Every step runs under the
schedule's row lock; the claim checks that the schedule still expects the
delivered occurrence (``next_run_at``) and moves it on in the same transaction,
and the ledger's unique key ``(scheduled_job_id, scheduled_for)`` backs that up.
Any second delivery of the same occurrence (two schedulers, a restart between
enqueue and remove, a retried RQ job, a stale timer after a pause or an edit)
therefore does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from rqflow.events import ScheduleEvent, ScheduleTarget
from rqflow.models import NodeRun, Schedule, ScheduleRun, WorkflowRun
from rqflow.schemas.schedule import OverlapPolicy
from rqflow.services import concurrency, daily_budget, notifications
from rqflow.services.audit import SYSTEM_WORKER, snapshot
from rqflow.services.catchup import (
    advance_schedule,
    due_occurrences,
    misfire_grace,
    next_occurrence,
    set_next_run,
)
from rqflow.services.lifecycle import pause
from rqflow.services.overlap import hand_over, hand_over_places, lock_schedule, stale_before
from rqflow.services.run_deadlines import deadline_for
from rqflow.services.usual_path import (
    ClaimFacts,
    end_succeeded,
    quiet_success,
    read_for_claim,
    read_for_end,
    start_run,
)
from rqflow.signals import SchedulerSignals
from rqflow.timing.catchup import CatchupPolicy
from rqflow.timing.jitter import fire_at

log = logging.getLogger(__name__)

CATCHUP_POLICIES = get_args(CatchupPolicy)
OVERLAP_POLICIES = get_args(OverlapPolicy)

# The reason and the start of the error of an occurrence rqflow's own code failed to claim.
UNCLAIMABLE_REASON = "claim failed"
UNCLAIMABLE_ERROR = "rqflow could not claim this occurrence"


@dataclass(frozen=True)
class StartedRun:
    """A ledger row this worker has moved to ``running``, with what its workflows need from the schedule
    (read under the row lock, so running them reads the schedule no more)."""

    run_id: int
    scheduled_for: datetime
    trigger_kind: str
    started_at: datetime
    target: ScheduleTarget
    owner_id: int
    payload: dict[str, Any]
    deadline_at: datetime | None = None  # the run fails with reason "timeout" if not ended by then
    max_budget_usd: float | None = None  # the schedule's max_budget_per_run_usd
    max_tokens: int | None = None  # the schedule's max_tokens_per_run

    @property
    def schedule_id(self) -> str:
        return self.target.schedule_id

    def event(self, *, fired_at: datetime) -> ScheduleEvent:
        """The event its workflows receive."""
        return ScheduleEvent(target=self.target, scheduled_for=self.scheduled_for, fired_at=fired_at,
                             trigger_kind=self.trigger_kind, run_id=self.run_id, payload=self.payload)


@dataclass(frozen=True)
class Claim:
    """A claimed occurrence: the run this worker starts now (if the overlap policy let it) and the next
    occurrence to arm."""

    schedule_id: str
    started: StartedRun | None
    next_run_at: datetime | None
    next_fire_at: datetime | None
    claimed_at: datetime

    @property
    def run_id(self) -> int | None:
        """The ledger row this worker runs now, if any."""
        return self.started.run_id if self.started else None

    @property
    def scheduled_for(self) -> datetime | None:
        """The occurrence this worker runs now, if any."""
        return self.started.scheduled_for if self.started else None


def started_run(schedule: Schedule, run: ScheduleRun) -> StartedRun:
    """The running row ``run`` of ``schedule``, as the worker that runs it sees it."""
    assert run.started_at is not None, "a started run has its start"
    return StartedRun(run_id=run.id, scheduled_for=run.scheduled_for, trigger_kind=run.trigger_kind,
                      started_at=run.started_at, owner_id=schedule.user_profile_id,
                      target=ScheduleTarget(schedule.id, schedule.name, schedule.workflow_id, schedule.trigger_node_id),
                      payload=dict(schedule.trigger_payload or {}), deadline_at=run.deadline_at,
                      max_budget_usd=schedule.max_budget_per_run_usd, max_tokens=schedule.max_tokens_per_run)


def claim_occurrence(
    *, db: Session, schedule_id: str, scheduled_for: datetime, rq_job_id: str | None,
    enqueued_at: datetime | None, now: datetime, signals: SchedulerSignals,
) -> Claim | None:
    """Claim one timer's occurrence, or return None if it must not run (deleted, paused, stale, duplicate)."""
    facts = read_for_claim(db, schedule_id, scheduled_for, stale_before(now))
    if facts is None:
        log.info("occurrence %s of deleted schedule %s dropped", scheduled_for, schedule_id)
        return None
    if facts.status != "active":
        _record_skip(db, schedule_id, scheduled_for, reason=f"schedule {facts.status}", now=now)
        return None
    if facts.next_run_at != scheduled_for:
        log.info("stale or duplicate occurrence %s of %s (expects %s)", scheduled_for, schedule_id, facts.next_run_at)
        db.rollback()
        signals.duplicate_refused()  # after the rollback: nothing is told while the row lock is held
        return None
    # A worker whose clock runs behind the scheduler's still counts the delivered occurrence as due.
    now = max(now, fire_at(schedule_id, scheduled_for, facts.jitter_seconds))
    try:
        claim = _usual_claim(db, facts, scheduled_for, rq_job_id=rq_job_id, enqueued_at=enqueued_at, now=now)
        if claim is None:  # something for the rules to decide: the ORM path, under the lock already held
            claim = _advance_claimed(db, _locked(db, schedule_id), scheduled_for, rq_job_id=rq_job_id,
                                     enqueued_at=enqueued_at, now=now, signals=signals)
    except SQLAlchemyError:
        raise  # the database's trouble: RQ fails the job and the scheduler's overdue pass catches up later
    except Exception as exc:  # noqa: BLE001 - a defect in rqflow's own code fails this occurrence, loudly
        db.rollback()
        return fail_unclaimable(db, schedule_id=schedule_id, scheduled_for=scheduled_for, error=exc, now=now,
                                signals=signals, actor=SYSTEM_WORKER)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        log.info("occurrence %s of %s already claimed", scheduled_for, schedule_id)
        signals.duplicate_refused()
        return None
    return claim


def _usual_claim(
    db: Session, facts: ClaimFacts, scheduled_for: datetime, *, rq_job_id: str | None, enqueued_at: datetime | None,
    now: datetime,
) -> Claim | None:
    """Claim the usual occurrence in three statements (:mod:`rqflow.services.usual_path`); None if it is not one.

    Usual means the ORM path would only write a ``running`` row and move the schedule on:
    the only due occurrence, on time, with no row yet, a free slot (or ``allow``), room
    under ``max_runs`` after it, and a next occurrence.
    """
    if facts.catchup_policy not in CATCHUP_POLICIES or facts.overlap_policy not in OVERLAP_POLICIES:
        return None  # a hand-edited row: the rules path fails it loudly
    if concurrency.limited() or daily_budget.limited():
        return None  # the user's places and daily budget are the rules' to count
    if facts.recorded or (facts.slot_taken and facts.overlap_policy != "allow"):
        return None
    if facts.max_runs is not None and facts.run_count + 1 >= facts.max_runs:
        return None
    if due_occurrences(facts, since=scheduled_for, now=now, include_since=True) != [scheduled_for]:
        return None
    if now - fire_at(facts.id, scheduled_for, facts.jitter_seconds) > misfire_grace():
        return None
    if facts.catchup_window_seconds is not None and (now - scheduled_for).total_seconds() > facts.catchup_window_seconds:
        return None
    next_run_at = next_occurrence(facts, after=now)
    if next_run_at is None:
        return None
    run_id = start_run(db, facts, scheduled_for, next_run_at=next_run_at, now=now, rq_job_id=rq_job_id,
                       enqueued_at=enqueued_at)
    target = ScheduleTarget(facts.id, facts.name, facts.workflow_id, facts.trigger_node_id)
    started = StartedRun(run_id=run_id, scheduled_for=scheduled_for, trigger_kind="schedule", started_at=now,
                         target=target, owner_id=facts.user_profile_id, payload=dict(facts.trigger_payload or {}),
                         deadline_at=deadline_for(facts.run_timeout_seconds, now),
                         max_budget_usd=facts.max_budget_per_run_usd, max_tokens=facts.max_tokens_per_run)
    return Claim(schedule_id=facts.id, started=started, next_run_at=next_run_at,
                 next_fire_at=fire_at(facts.id, next_run_at, facts.jitter_seconds), claimed_at=now)


def _locked(db: Session, schedule_id: str) -> Schedule:
    """The schedule whose row this transaction has locked, as an ORM object."""
    schedule = lock_schedule(db, schedule_id)
    assert schedule is not None, "a locked row cannot have gone"
    return schedule


def _advance_claimed(
    db: Session, schedule: Schedule, scheduled_for: datetime, *, rq_job_id: str | None, enqueued_at: datetime | None,
    now: datetime, signals: SchedulerSignals,
) -> Claim:
    """Apply the catch-up and overlap policies to what is due and move the schedule on (row lock held)."""
    before = snapshot(schedule)
    due = due_occurrences(schedule, since=scheduled_for, now=now, include_since=True)
    admission = advance_schedule(db, schedule, due=due, now=now, signals=signals, here=True, actor=SYSTEM_WORKER,
                                 before=before)
    here = admission.here
    if here is not None:
        here.rq_job_id, here.enqueued_at = rq_job_id, enqueued_at
    return Claim(schedule_id=schedule.id, started=started_run(schedule, here) if here else None,
                 next_run_at=schedule.next_run_at, next_fire_at=_next_fire_at(schedule), claimed_at=now)


def fail_unclaimable(
    db: Session, *, schedule_id: str, scheduled_for: datetime, error: Exception, now: datetime,
    signals: SchedulerSignals, actor: str,
) -> Claim | None:
    """Record as ``failed`` an occurrence that rqflow's own code could not claim, and point at the next one.

    Without this, an error in the claim (once: an overflow for every one-time
    schedule) wrote no row, left the schedule ``active`` and failed again at every
    re-arm: a schedule stuck in silence. The occurrence counts as a failed run
    (``error_count``, ``last_error``, ``pause_after_failures``), and the schedule moves to
    its first occurrence after ``now``; if even that cannot be computed, it is paused
    with the error as the reason, so a person sees it. The traceback goes to the log.
    """
    log.exception("occurrence %s of schedule %s could not be claimed", scheduled_for, schedule_id,
                  exc_info=error, extra={"schedule_id": schedule_id})
    schedule = lock_schedule(db, schedule_id)
    if schedule is None or schedule.status != "active" or schedule.next_run_at != scheduled_for:
        db.rollback()  # changed meanwhile: whoever changed it moved it on
        return None
    before = snapshot(schedule)
    message = f"{UNCLAIMABLE_ERROR}: {type(error).__name__}: {error}"
    run = ScheduleRun(scheduled_job_id=schedule.id, scheduled_for=scheduled_for, trigger_kind="schedule",
                      status="failed", reason=UNCLAIMABLE_REASON, error=message[:4000], started_at=now, finished_at=now,
                      duration_seconds=0.0, created_at=now)
    db.add(run)
    schedule.run_count += 1
    schedule.last_run_at = now
    _count_outcome(db, schedule, run, message, now, signals)
    if schedule.status == "active":
        _move_on_or_pause(db, schedule, now=now, actor=actor, before=before, signals=signals)
    db.commit()
    return Claim(schedule_id=schedule.id, started=None, next_run_at=schedule.next_run_at,
                 next_fire_at=_next_fire_at(schedule), claimed_at=now)


def _move_on_or_pause(
    db: Session, schedule: Schedule, *, now: datetime, actor: str, before: dict[str, Any], signals: SchedulerSignals,
) -> None:
    """Point the schedule at its first occurrence after ``now``; pause it if not even that can be computed."""
    try:
        set_next_run(db, schedule, after=now, actor=actor, before=before)
    except SQLAlchemyError:
        raise
    except Exception as exc:
        log.exception("schedule %s: no next occurrence could be computed; pausing it", schedule.id)
        pause(db, schedule, now=now, actor=actor, signals=signals,
              reason=f"paused: rqflow could not compute the next occurrence ({type(exc).__name__}: {exc})"[:1000])


def _next_fire_at(schedule: Schedule) -> datetime | None:
    return fire_at(schedule.id, schedule.next_run_at, schedule.jitter_seconds) if schedule.next_run_at else None


def claim_run(*, db: Session, run_id: int, now: datetime, signals: SchedulerSignals) -> StartedRun | None:
    """Move an ``enqueued`` row to ``running``; None if it is gone, taken, or its schedule is paused."""
    found = db.get(ScheduleRun, run_id)
    if found is None:
        return None
    schedule = lock_schedule(db, found.scheduled_job_id)
    run = _reload(db, run_id)
    if schedule is None or run is None or run.status != "enqueued":
        db.rollback()
        return None
    if run.trigger_kind == "schedule" and schedule.status == "paused":
        run.status, run.reason, run.finished_at = "skipped", "schedule paused", now
        hand_over(db, schedule, now=now, signals=signals)
        db.commit()
        return None
    if daily_budget.exhausted(db, schedule.user_profile_id, now):
        run.status, run.reason, run.finished_at = "skipped", daily_budget.BUDGET_SKIP_REASON, now
        hand_over(db, schedule, now=now, signals=signals)
        db.commit()
        return None
    run.status, run.started_at = "running", now
    run.deadline_at = deadline_for(schedule.run_timeout_seconds, now)
    started = started_run(schedule, run)
    db.commit()
    return started


def finish_run(
    *, db: Session, run_id: int, schedule_id: str, error: str, reason: str, now: datetime, signals: SchedulerSignals,
    spent: tuple[int, float] = (0, 0.0),
) -> None:
    """Record how the worker's run ended (:func:`end_run`); nothing if the schedule or the row is gone.

    A quiet success (only the row changes, :func:`rqflow.services.usual_path.quiet_success`)
    is written in one statement; every other end goes through :func:`end_run`.
    """
    facts = read_for_end(db, schedule_id, run_id)
    if facts is None or facts.run_status != "running":
        db.rollback()
        return
    if not error and quiet_success(facts) and not concurrency.limited():
        end_succeeded(db, run_id, facts, reason=reason, now=now, spent=spent)
        daily_budget.add_spend(db, facts.user_profile_id, spent=spent, now=now, signals=signals,
                               schedule_id=schedule_id)
        db.commit()
        return
    schedule = lock_schedule(db, schedule_id)
    run = _reload(db, run_id)
    if schedule is None or run is None or run.status != "running":
        db.rollback()
        return
    run.total_tokens, run.total_cost_usd = spent
    end_run(db, schedule, run, error=error, reason=reason, now=now, signals=signals)
    db.commit()


def end_run(
    db: Session, schedule: Schedule, run: ScheduleRun, *, error: str, reason: str, now: datetime,
    signals: SchedulerSignals,
) -> None:
    """The one way a started run ends, whoever saw it end; the caller holds the schedule's row lock.

    The worker that ran it, RQ's failure callback, a killed work horse and the scheduler's
    lost-run sweep all come here, so a run counts the same however it ended: a failed one
    closes the workflow and node runs it left ``running``, the row gets its outcome and
    duration, the schedule its counters (and a pause after ``pause_after_failures``), and
    the slot goes to the next waiting run.
    """
    if error:
        fail_workflow_runs(db, schedule_run_id=run.id, error=error, now=now)
    run.status = "failed" if error else "succeeded"
    # A reason given at the end (none matched, abandoned) replaces the claim's (catch-up); none keeps it.
    run.error, run.reason, run.finished_at = error, reason or run.reason, now
    run.duration_seconds = (now - run.started_at).total_seconds() if run.started_at else None
    _count_outcome(db, schedule, run, error, now, signals)
    notifications.notify_run(db, schedule, run, now=now, signals=signals)
    daily_budget.add_spend(db, schedule.user_profile_id, spent=(run.total_tokens, run.total_cost_usd), now=now,
                           signals=signals, schedule_id=schedule.id)
    hand_over(db, schedule, now=now, signals=signals)
    hand_over_places(db, schedule, now=now, signals=signals)


def _count_outcome(
    db: Session, schedule: Schedule, run: ScheduleRun, error: str, now: datetime, signals: SchedulerSignals
) -> None:
    """Errors count for every run; consecutive failures only for the schedule's own occurrences."""
    if error:
        schedule.error_count += 1
        schedule.last_error = error[:4000]
    if run.trigger_kind != "schedule":
        return
    schedule.consecutive_failures = schedule.consecutive_failures + 1 if error else 0
    limit = schedule.pause_after_failures
    if error and limit is not None and schedule.consecutive_failures >= limit and schedule.status == "active":
        reason = f"paused after {schedule.consecutive_failures} consecutive failed runs (pause_after_failures={limit})"
        pause(db, schedule, now=now, actor=SYSTEM_WORKER, signals=signals, reason=reason)
        notifications.notify_auto_paused(db, schedule, reason=reason, now=now, signals=signals)


def _reload(db: Session, run_id: int) -> ScheduleRun | None:
    """Read the row again now that the schedule's lock is held."""
    query = select(ScheduleRun).where(ScheduleRun.id == run_id).execution_options(populate_existing=True)
    return db.execute(query).scalar_one_or_none()


def _record_skip(db: Session, schedule_id: str, scheduled_for: datetime, *, reason: str, now: datetime) -> None:
    """Write a ``skipped`` row for an occurrence that arrived while the schedule was not active."""
    exists = db.scalar(
        select(ScheduleRun.id).where(ScheduleRun.scheduled_job_id == schedule_id, ScheduleRun.scheduled_for == scheduled_for)
    )
    if exists is not None:
        db.rollback()
        return
    db.add(ScheduleRun(scheduled_job_id=schedule_id, scheduled_for=scheduled_for, status="skipped", reason=reason,
                       started_at=now, finished_at=now))
    try:
        db.commit()
    except IntegrityError:
        db.rollback()


# The reason on a row whose process died under it (its error says how).
ABANDONED_REASON = "abandoned"


def fail_running_run(
    *, db: Session, rq_job_id: str, error: str, now: datetime, signals: SchedulerSignals
) -> int | None:
    """Finish as ``failed`` the ``running`` row whose RQ job ``rq_job_id`` died; return its id (None: no such row).

    RQ reports a job whose process was killed (:mod:`rqflow.jobs.failures`). Only a row still
    ``running`` under that job id is touched, so a late or repeated report changes nothing. The
    row ends through :func:`end_run`, like every run.
    """
    found = db.execute(
        select(ScheduleRun.id, ScheduleRun.scheduled_job_id)
        .where(ScheduleRun.rq_job_id == rq_job_id, ScheduleRun.status == "running")
    ).first()
    db.rollback()
    if found is None:
        return None
    schedule = lock_schedule(db, found.scheduled_job_id)
    run = _reload(db, found.id)
    if schedule is None or run is None or run.status != "running" or run.rq_job_id != rq_job_id:
        db.rollback()  # finished meanwhile
        return None
    end_run(db, schedule, run, error=error, reason=ABANDONED_REASON, now=now, signals=signals)
    db.commit()
    log.warning("run %s of schedule %s (job %s) failed: %s", run.id, schedule.id, rq_job_id, error,
                extra={"schedule_id": schedule.id, "run_id": run.id, "rq_job_id": rq_job_id})
    return run.id


def fail_workflow_runs(db: Session, *, schedule_run_id: int, error: str, now: datetime) -> None:
    """Fail the workflow runs (and node runs) of a ledger row that were left ``running`` by a dead process or
    were waiting for a retry when the row ended (its deadline, a lost worker)."""
    unfinished = select(WorkflowRun.id).where(WorkflowRun.schedule_run_id == schedule_run_id,
                                              WorkflowRun.status.in_(("running", "retrying")))
    db.execute(update(NodeRun).where(NodeRun.workflow_run_id.in_(unfinished), NodeRun.status == "running")
               .values(status="failed", error=error, finished_at=now))
    db.execute(update(WorkflowRun).where(WorkflowRun.id.in_(unfinished))
               .values(status="failed", error=error, finished_at=now, next_attempt_at=None, resume_outputs=None))
