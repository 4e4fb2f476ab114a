"""An occurrence's life in a worker: claim it, arm the next, run its workflows, record how it ended.

This module is the one owner of that path. The RQ tasks (:mod:`rqflow.jobs.tasks`)
only translate an RQ job into a call here, and the worker's warm-up
(:mod:`rqflow.jobs.preload`) makes the same calls on a made-up schedule. How a run
ends is recorded by :func:`rqflow.services.occurrences.end_run`, which the other
ways a run can end (RQ's failure callback, a killed work horse, the scheduler's
lost-run sweep) go through too.

A timer's occurrence costs two sessions: the claim (one transaction, under the
schedule's row lock: the ledger row, the catch-up and overlap policies, the
schedule moved on), then the run and its outcome. The claim carries what the
workflows need from the schedule, so the run does not read the schedule again.
The next timer is armed right after the claim, so a long workflow never delays
the schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rqflow.components import load_components
from rqflow.db import session_scope
from rqflow.engine.records import FinishedRun
from rqflow.models import utcnow
from rqflow.models.schedule_run import BUDGET_REASON, TIMEOUT_REASON
from rqflow.observability.context import log_context
from rqflow.services.continuations import wait_for_retry
from rqflow.services.occurrences import StartedRun, claim_occurrence, claim_run, finish_run
from rqflow.signals import NextTimer, RunStart, SchedulerSignals
from rqflow.spend import RunBudget
from rqflow.worker.dispatch import dispatch_schedule_event

log = logging.getLogger(__name__)

# Where the steps get their database sessions (the warm-up passes savepoints of a transaction it rolls back).
Sessions = Callable[[], AbstractContextManager[Session]]

NO_WORKFLOW_REASON = "no workflow matched"


@dataclass(frozen=True)
class Delivery:
    """The RQ job that delivered an occurrence, as the ledger row records it (nothing in the warm-up)."""

    rq_job_id: str | None = None
    enqueued_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery, as the RQ job's result shows it."""

    claimed: bool
    started: bool = False
    workflow_runs: tuple[int, ...] = ()
    error: str = ""

    def as_result(self) -> dict[str, Any]:
        """Only what applies: ``{"claimed": False}``, ``{"claimed": True, "started": False}``, or all of it."""
        if not self.claimed:
            return {"claimed": False}
        if not self.started:
            return {"claimed": True, "started": False}
        return {"claimed": True, "started": True, "workflow_runs": list(self.workflow_runs), "error": self.error}


def fire(schedule_id: str, scheduled_for: datetime, *, delivery: Delivery, signals: SchedulerSignals,
         sessions: Sessions = session_scope) -> Outcome:
    """Run a timer's occurrence of ``schedule_id`` at most once; a stale or repeated delivery does nothing."""
    with sessions() as db:
        db.connection()  # wait for the database (its write lock, a reconnect) before reading the clock
        claim = claim_occurrence(db=db, schedule_id=schedule_id, scheduled_for=scheduled_for,
                                 rq_job_id=delivery.rq_job_id, enqueued_at=delivery.enqueued_at, now=utcnow(),
                                 signals=signals)
    if claim is None:
        return Outcome(claimed=False)
    started = claim.started
    next_timer = NextTimer(claim.next_run_at, claim.next_fire_at) if claim.next_run_at and claim.next_fire_at else None
    start = RunStart(started.scheduled_for, started.started_at, started.trigger_kind) if started else None
    signals.claimed(schedule_id=claim.schedule_id, next_timer=next_timer, start=start)
    if started is None:  # recorded (skipped, waiting, failed to claim): nothing runs here
        return Outcome(claimed=True)
    with log_context(schedule_id=started.schedule_id, scheduled_for=started.scheduled_for, run_id=started.run_id):
        return _run(started, signals=signals, sessions=sessions)


def run_queued(run_id: int, *, signals: SchedulerSignals, sessions: Sessions = session_scope) -> Outcome:
    """Run a ledger row handed to the queue (run now, catch-up, backfill, a buffered occurrence), once."""
    with sessions() as db:
        db.connection()  # wait for the database before reading the clock
        started = claim_run(db=db, run_id=run_id, now=utcnow(), signals=signals)
    if started is None:
        return Outcome(claimed=False)
    signals.run_started(scheduled_for=started.scheduled_for, started_at=started.started_at,
                        trigger_kind=started.trigger_kind)
    with log_context(schedule_id=started.schedule_id, scheduled_for=started.scheduled_for, run_id=started.run_id):
        return _run(started, signals=signals, sessions=sessions)


def _run(started: StartedRun, *, signals: SchedulerSignals, sessions: Sessions) -> Outcome:
    """Start the workflows the schedule's event matches, then record how the run ended, whatever happens.

    A workflow run whose node waits for a retry leaves the ledger row ``retrying`` instead of
    ending it; its timer (armed once that is committed) brings it back (:mod:`.continuation`).
    """
    load_components()
    with sessions() as db:
        runs, error, reason = _dispatch(db, started, signals)
        db.connection()  # wait for the database before reading the clock
        waiting = [run for run in runs if run.status == "retrying"]
        if waiting:
            wait_for_retry(db, schedule_id=started.schedule_id, schedule_run_id=started.run_id, now=utcnow(),
                           signals=signals)
            db.commit()
        else:
            finish_run(db=db, run_id=started.run_id, schedule_id=started.schedule_id, error=error,
                       reason=_reason(runs, error, reason), now=utcnow(), signals=signals, spent=_spent(runs))
    arm_retries(waiting, signals)
    return Outcome(claimed=True, started=True, workflow_runs=tuple(run.id for run in runs), error=error)


def arm_retries(waiting: list[FinishedRun], signals: SchedulerSignals) -> None:
    """Arm the timer of each workflow run that waits for its next attempt (after the commit that says so)."""
    for run in waiting:
        assert run.next_attempt_at is not None and run.attempt is not None, "a waiting run knows when it goes on"
        signals.retry_later(workflow_run_id=run.id, attempt=run.attempt, at=run.next_attempt_at)


def _reason(runs: list[FinishedRun], error: str, reason: str) -> str:
    """A run that went past its deadline ends with reason ``timeout``; one its budget stopped, ``budget_exceeded``."""
    for wanted in (TIMEOUT_REASON, BUDGET_REASON) if error else ():
        if any(run.ledger_reason == wanted for run in runs):
            return wanted
    return reason


def _spent(runs: list[FinishedRun]) -> tuple[int, float]:
    """What the workflow runs' model calls used together: tokens, US dollars."""
    return sum(run.total_tokens for run in runs), round(sum(run.total_cost_usd for run in runs), 10)


def _dispatch(db: Session, started: StartedRun, signals: SchedulerSignals) -> tuple[list[FinishedRun], str, str]:
    """Run the matching workflows; how each ended, the error to record (empty if all succeeded) and the reason."""
    try:
        budget = RunBudget(max_usd=started.max_budget_usd, max_tokens=started.max_tokens)
        runs = dispatch_schedule_event(started.event(fired_at=utcnow()), started.owner_id, db, signals=signals,
                                       deadline_at=started.deadline_at, budget=budget)
    except Exception as exc:  # recorded on the run; the worker itself carries on
        db.rollback()
        log.exception("schedule %s occurrence %s failed", started.schedule_id, started.scheduled_for)
        return [], f"{type(exc).__name__}: {exc}", ""
    error = "; ".join(f"workflow run {run.id}: {run.error}" for run in runs if run.status == "failed")
    return runs, error, "" if runs else NO_WORKFLOW_REASON
