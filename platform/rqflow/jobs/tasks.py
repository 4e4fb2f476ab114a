"""The functions RQ workers run. Each is a thin shell over :mod:`rqflow.services.occurrences`.

``execute_scheduled_trigger`` claims a timer's occurrence, arms the next one at
once (so a long workflow never delays the schedule), runs the matching workflows
if the overlap policy lets it start, and records the outcome. ``execute_run``
runs a ledger row that was queued on its own (run now, catch-up, backfill, a
buffered occurrence handed over when the previous run ended).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from rqflow.components import load_components
from rqflow.db import session_scope
from rqflow.jobs.connection import WAKE_CHANNEL, get_redis
from rqflow.jobs.signals import RedisSignals
from rqflow.models import ScheduledJob, UserProfile, utcnow
from rqflow.observability.context import bind
from rqflow.observability.firing import record_start  # for /metrics: how late each run started
from rqflow.observability.task_context import task_context
from rqflow.scheduler.timers import Timer, TimerOptions, arm
from rqflow.services.occurrences import StartedRun, claim_occurrence, claim_run, finish_run
from rqflow.settings import get_settings
from rqflow.triggers import dispatch_event

log = logging.getLogger(__name__)


@task_context(schedule_id="scheduled_job_id", scheduled_for="scheduled_for")
def execute_scheduled_trigger(scheduled_job_id: str, scheduled_for: str) -> dict[str, Any]:
    """Run one scheduled occurrence of ``scheduled_job_id`` at most once."""
    when = datetime.fromisoformat(scheduled_for)
    rq_job = get_current_job()
    signals = RedisSignals(get_redis())
    with session_scope() as db:
        db.connection()  # wait for the database (its write lock, a reconnect) before reading the clock
        claim = claim_occurrence(
            db=db, schedule_id=scheduled_job_id, scheduled_for=when,
            rq_job_id=rq_job.id if rq_job else None,
            enqueued_at=_aware(rq_job.enqueued_at) if rq_job else None, now=utcnow(), signals=signals,
        )
    if claim is None:
        return {"claimed": False}
    record_start(scheduled_for=claim.scheduled_for, started_at=claim.started_at, trigger_kind="schedule",
                 connection=signals.connection)
    if claim.next_run_at is not None and claim.next_fire_at is not None:
        _arm_next(claim.schedule_id, claim.next_run_at, claim.next_fire_at)
    if claim.run_id is None or claim.scheduled_for is None:
        return {"claimed": True, "started": False}
    started = StartedRun(run_id=claim.run_id, schedule_id=claim.schedule_id, scheduled_for=claim.scheduled_for,
                         trigger_kind="schedule")
    return _run_started(started, signals)


@task_context(run_id="run_id")
def execute_run(run_id: int) -> dict[str, Any]:
    """Run a ledger row handed to the queue (run now, catch-up, backfill, a buffered occurrence), once."""
    signals = RedisSignals(get_redis())
    with session_scope() as db:
        db.connection()  # wait for the database before reading the clock
        now = utcnow()
        started = claim_run(db=db, run_id=run_id, now=now, signals=signals)
    if started is None:
        return {"claimed": False}
    record_start(scheduled_for=started.scheduled_for, started_at=now, trigger_kind=started.trigger_kind,
                 connection=signals.connection)
    return _run_started(started, signals)


# Jobs queued by rqflow 0.1 name the task by its old name.
execute_manual_run = execute_run


def _arm_next(schedule_id: str, occurrence: datetime, fire_at: datetime) -> None:
    """Arm the following occurrence and wake the scheduler, so it need not wait for its next poll."""
    connection = get_redis()
    arm(connection, [Timer(schedule_id, occurrence, fire_at)], TimerOptions.from_settings(get_settings()))
    connection.publish(WAKE_CHANNEL, "armed")


def _run_started(started: StartedRun, signals: RedisSignals) -> dict[str, Any]:
    """Dispatch the schedule event and record the outcome, whatever happens."""
    bind(schedule_id=started.schedule_id, scheduled_for=started.scheduled_for, run_id=started.run_id)
    load_components()
    error, reason, workflow_runs = "", "", []
    try:
        with session_scope() as db:
            job = db.get(ScheduledJob, started.schedule_id)
            user = db.get(UserProfile, job.user_profile_id) if job else None
            if job is None or user is None:
                return {"claimed": True, "workflow_runs": []}
            event = schedule_event(job, started.scheduled_for, trigger_kind=started.trigger_kind,
                                   run_id=started.run_id)
            runs = dispatch_event("schedule", event, user, db, schedule_run_id=started.run_id, signals=signals)
            workflow_runs = [run.id for run in runs]
            error = "; ".join(f"workflow run {run.id}: {run.error}" for run in runs if run.status == "failed")
            reason = "" if runs else "no workflow matched"
    except Exception as exc:  # recorded on the run; the worker itself carries on
        log.exception("schedule %s occurrence %s failed", started.schedule_id, started.scheduled_for)
        error = f"{type(exc).__name__}: {exc}"
    with session_scope() as db:
        db.connection()  # wait for the database before reading the clock
        finish_run(db=db, run_id=started.run_id, error=error, reason=reason, now=utcnow(), signals=signals)
    return {"claimed": True, "workflow_runs": workflow_runs, "error": error}


def schedule_event(job: ScheduledJob, scheduled_for: datetime, *, trigger_kind: str, run_id: int) -> dict[str, Any]:
    """The ``"schedule"`` event a trigger_schedule node receives (and templates see as ``event``)."""
    return {
        "scheduled_job_id": job.id,
        "schedule_name": job.name,
        "workflow_id": job.workflow_id,
        "trigger_node_id": job.trigger_node_id,
        "scheduled_for": scheduled_for.isoformat(),
        "fired_at": utcnow().isoformat(),
        "trigger_kind": trigger_kind,
        "run_id": run_id,
        "payload": job.trigger_payload or {},
    }


def _aware(value: datetime | None) -> datetime | None:
    """RQ hands out naive UTC datetimes; rqflow only stores aware ones."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
