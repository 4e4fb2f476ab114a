"""However a started run ends, it ends the same way (``rqflow.services.occurrences.end_run``).

A run can end in the worker that ran it, through RQ's failure callback (the job raised, or its
worker was found dead), through the killed work horse's handler, or through the scheduler's
lost-run sweep. Each is fired here on a schedule with ``pause_after_failures=1``, and each must
leave the same ledger row, counters, pause and closed workflow runs. (The sweep once set the
fields by hand: the schedule stayed active, ``consecutive_failures`` 0, no duration.)
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from redis import Redis
from rq.job import Job

from rqflow.db import session_scope
from rqflow.jobs import failures
from rqflow.models import Schedule, ScheduleRun, WorkflowRun, utcnow
from rqflow.services import upkeep
from rqflow.services.occurrences import finish_run
from rqflow.services.overlap import STALE_MARGIN
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow

RQ_JOB_ID = "rqflow-outcome-test"


def _started_run(schedule_id: str, workflow_id: int) -> int:
    """A row ``running`` under RQ_JOB_ID since 5 s ago, with the workflow run it started."""
    started = utcnow() - timedelta(seconds=5)
    with session_scope() as db:
        run = ScheduleRun(scheduled_job_id=schedule_id, scheduled_for=started, status="running", started_at=started,
                          rq_job_id=RQ_JOB_ID)
        db.add(run)
        db.flush()
        db.add(WorkflowRun(workflow_id=workflow_id, schedule_run_id=run.id, event_type="schedule", event={}))
        return run.id


def _rq_job(redis: Redis) -> Job:
    return Job.create("rqflow.jobs.tasks.execute_run", args=(0,), id=RQ_JOB_ID, connection=redis)


def in_the_worker(settings: Settings, redis: Redis, run_id: int) -> None:
    with session_scope() as db:
        row = db.get(ScheduleRun, run_id)
        assert row is not None
        finish_run(db=db, run_id=run_id, schedule_id=row.scheduled_job_id, error="workflow run 1: boom", reason="",
                   now=utcnow(), signals=RecordingSignals())


def by_rq_failure_callback(settings: Settings, redis: Redis, run_id: int) -> None:
    failures.job_failed(_rq_job(redis), redis, ValueError, ValueError("boom"), None)


def by_killed_horse(settings: Settings, redis: Redis, run_id: int) -> None:
    failures.horse_killed(_rq_job(redis), 12345, signal.SIGKILL, None)  # wait status of a SIGKILLed child


def by_lost_run_sweep(settings: Settings, redis: Redis, run_id: int) -> None:
    later = utcnow() + timedelta(seconds=settings.job_timeout_seconds) + STALE_MARGIN
    with session_scope() as db:
        assert upkeep.fail_lost_runs(db, now=later, signals=RecordingSignals()) == 1


WAYS: dict[str, Callable[[Settings, Redis, int], None]] = {
    "worker": in_the_worker, "rq on_failure": by_rq_failure_callback, "killed horse": by_killed_horse,
    "lost-run sweep": by_lost_run_sweep,
}


def outcome(schedule_id: str, run_id: int) -> dict[str, Any]:
    """What a failed run leaves, with the error text left out (each way says how it ended)."""
    with session_scope() as db:
        run, schedule = db.get(ScheduleRun, run_id), db.get(Schedule, schedule_id)
        assert run is not None and schedule is not None
        workflow_runs = list(db.query(WorkflowRun).filter(WorkflowRun.schedule_run_id == run_id))
        return {
            "run": (run.status, bool(run.error), run.finished_at is not None, run.duration_seconds is not None
                    and run.duration_seconds >= 5),
            "workflow runs": [(w.status, w.finished_at is not None) for w in workflow_runs],
            "counters": (schedule.error_count, schedule.consecutive_failures, schedule.last_error == run.error),
            "status": (schedule.status, schedule.paused_reason.startswith("paused after 1 consecutive failed run")),
        }


@pytest.mark.parametrize("way", WAYS)
def test_every_way_a_run_ends_counts_and_pauses_alike(
    settings: Settings, redis: Redis, alice: ApiUser, way: str
) -> None:
    workflow_id = make_workflow(alice)
    schedule = make_schedule(alice, workflow_id, pause_after_failures=1)
    run_id = _started_run(schedule.id, workflow_id)

    WAYS[way](settings, redis, run_id)

    assert outcome(schedule.id, run_id) == {
        "run": ("failed", True, True, True),
        "workflow runs": [("failed", True)],
        "counters": (1, 1, True),
        "status": ("paused", True),
    }
