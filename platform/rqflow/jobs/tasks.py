"""The functions RQ workers run. Each is a thin shell over :mod:`rqflow.services.occurrences`.

``execute_scheduled_trigger`` claims the occurrence, arms the next one at once
(so a long workflow never delays the schedule), runs the matching workflows and
records the outcome.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from rqflow.components import load_components
from rqflow.db import session_scope
from rqflow.jobs.connection import WAKE_CHANNEL, get_redis
from rqflow.models import ScheduledJob, UserProfile, utcnow
from rqflow.scheduler.timers import TimerOptions, arm
from rqflow.services.occurrences import Claim, claim_manual_run, claim_occurrence, finish_run
from rqflow.settings import get_settings
from rqflow.triggers import dispatch_event

log = logging.getLogger(__name__)


def execute_scheduled_trigger(scheduled_job_id: str, scheduled_for: str) -> dict[str, Any]:
    """Run one scheduled occurrence of ``scheduled_job_id`` at most once."""
    when = datetime.fromisoformat(scheduled_for)
    rq_job = get_current_job()
    with session_scope() as db:
        claim = claim_occurrence(
            db=db, schedule_id=scheduled_job_id, scheduled_for=when,
            rq_job_id=rq_job.id if rq_job else None,
            enqueued_at=_aware(rq_job.enqueued_at) if rq_job else None, now=utcnow(),
        )
    if claim is None:
        return {"claimed": False}
    if claim.next_run_at is not None:
        _arm_next(claim)
    return _run_claimed(claim, when, trigger_kind="schedule")


def execute_manual_run(run_id: int) -> dict[str, Any]:
    """Run a "run now" request recorded in the ledger, once."""
    with session_scope() as db:
        claim = claim_manual_run(db=db, run_id=run_id, now=utcnow())
    if claim is None:
        return {"claimed": False}
    return _run_claimed(claim, utcnow(), trigger_kind="manual")


def _arm_next(claim: Claim) -> None:
    """Arm the following occurrence and wake the scheduler, so it need not wait for its next poll."""
    assert claim.next_run_at is not None
    connection = get_redis()
    arm(connection, [(claim.schedule_id, claim.next_run_at)], TimerOptions.from_settings(get_settings()))
    connection.publish(WAKE_CHANNEL, "armed")


def _run_claimed(claim: Claim, scheduled_for: datetime, *, trigger_kind: str) -> dict[str, Any]:
    """Dispatch the schedule event and record the outcome, whatever happens."""
    load_components()
    error, reason, workflow_runs = "", "", []
    try:
        with session_scope() as db:
            job = db.get(ScheduledJob, claim.schedule_id)
            user = db.get(UserProfile, job.user_profile_id) if job else None
            if job is None or user is None:
                return {"claimed": True, "workflow_runs": []}
            event = schedule_event(job, scheduled_for, trigger_kind=trigger_kind, run_id=claim.run_id)
            runs = dispatch_event("schedule", event, user, db, schedule_run_id=claim.run_id)
            workflow_runs = [run.id for run in runs]
            error = "; ".join(f"workflow run {run.id}: {run.error}" for run in runs if run.status == "failed")
            reason = "" if runs else "no workflow matched"
    except Exception as exc:  # recorded on the run; the worker itself carries on
        log.exception("schedule %s occurrence %s failed", claim.schedule_id, scheduled_for)
        error = f"{type(exc).__name__}: {exc}"
    with session_scope() as db:
        finish_run(db=db, run_id=claim.run_id, error=error, reason=reason, now=utcnow())
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
