"""A job whose process dies fails its ledger row at once (``rqflow.jobs.failures``), on both databases."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

from redis import Redis
from rq import Worker
from rq.job import Job
from sqlalchemy import select

from rqflow.broker.callbacks import sweep_abandoned
from rqflow.broker.connection import get_queue
from rqflow.broker.signals import RedisSignals
from rqflow.db import session_scope
from rqflow.job_ids import run_job_id
from rqflow.jobs import failures
from rqflow.models import NodeRun, Schedule, ScheduleRun, WorkflowRun, utcnow
from rqflow.services import upkeep
from rqflow.services.occurrences import ABANDONED_REASON, fail_running_run
from rqflow.services.overlap import STALE_MARGIN
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow


def _running_row(schedule_id: str, workflow_id: int, rq_job_id: str) -> int:
    """A row ``running`` under ``rq_job_id``, a workflow run and a node run it started, and a row waiting after it."""
    started = utcnow() - timedelta(seconds=5)
    with session_scope() as db:
        run = ScheduleRun(scheduled_job_id=schedule_id, scheduled_for=started, status="running", started_at=started,
                          rq_job_id=rq_job_id)
        db.add(run)
        db.add(ScheduleRun(scheduled_job_id=schedule_id, scheduled_for=started + timedelta(seconds=1),
                           trigger_kind="manual", status="waiting"))
        db.flush()
        workflow_run = WorkflowRun(workflow_id=workflow_id, schedule_run_id=run.id, event_type="schedule", event={})
        db.add(workflow_run)
        db.flush()
        db.add(NodeRun(workflow_run_id=workflow_run.id, node_key="echo", component_type="python_call"))
        return run.id


def _ledger(schedule_id: str) -> list[ScheduleRun]:
    with session_scope() as db:
        return list(db.scalars(select(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule_id)
                               .order_by(ScheduleRun.scheduled_for)))


def test_a_run_whose_job_died_is_failed_its_history_closed_and_its_slot_handed_over(
    settings: Settings, alice: ApiUser
) -> None:
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id)
    run_id = _running_row(job.id, workflow_id, "rqflow-fire-x-1")
    signals = RecordingSignals()

    with session_scope() as db:
        failed = fail_running_run(db=db, rq_job_id="rqflow-fire-x-1", error="killed (signal 9)", now=utcnow(),
                                  signals=signals)

    assert failed == run_id
    dead, waiting = _ledger(job.id)
    assert (dead.status, dead.reason, dead.error) == ("failed", ABANDONED_REASON, "killed (signal 9)")
    assert dead.finished_at is not None and dead.duration_seconds is not None
    assert waiting.status == "enqueued" and signals.queued == [waiting.id]
    with session_scope() as db:
        schedule = db.get(Schedule, job.id)
        assert schedule is not None
        assert (schedule.error_count, schedule.consecutive_failures, schedule.last_error) == (1, 1, "killed (signal 9)")
        assert [r.status for r in db.scalars(select(WorkflowRun))] == ["failed"]
        assert [(n.status, n.error) for n in db.scalars(select(NodeRun))] == [("failed", "killed (signal 9)")]
    with session_scope() as db:  # a late or repeated report changes nothing
        assert fail_running_run(db=db, rq_job_id="rqflow-fire-x-1", error="again", now=utcnow(),
                                signals=signals) is None
    assert _ledger(job.id)[0].error == "killed (signal 9)"


def test_the_lost_run_sweep_closes_the_workflow_runs_too(settings: Settings, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id)
    _running_row(job.id, workflow_id, "rqflow-fire-y-1")
    later = utcnow() + timedelta(seconds=settings.job_timeout_seconds) + STALE_MARGIN

    with session_scope() as db:
        assert upkeep.fail_lost_runs(db, now=later, signals=RecordingSignals()) == 1

    dead = _ledger(job.id)[0]
    assert (dead.status, dead.reason, dead.error) == ("failed", ABANDONED_REASON, upkeep.LOST_RUN_ERROR)
    with session_scope() as db:
        assert [(r.status, r.error) for r in db.scalars(select(WorkflowRun))] == [("failed", upkeep.LOST_RUN_ERROR)]
        assert [r.status for r in db.scalars(select(NodeRun))] == ["failed"]


def test_the_horse_error_says_how_the_job_process_ended() -> None:
    def status_of(child: int) -> int:
        return os.waitpid(child, 0)[1]

    killed = os.fork()
    if killed == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    exited = os.fork()
    if exited == 0:
        os._exit(3)
    assert failures.horse_error(status_of(killed)) == "the worker's job process was killed (signal 9)"
    assert "exited with status 3" in failures.horse_error(status_of(exited))
    assert "ended before finishing" in failures.horse_error(None)


def test_rq_calls_the_failure_callback_of_an_abandoned_job(settings: Settings, redis: Redis, alice: ApiUser) -> None:
    """The path of a worker killed whole: RQ's StartedJobRegistry cleanup finds its execution expired."""
    workflow_id = make_workflow(alice)
    schedule = make_schedule(alice, workflow_id)
    run_id = _running_row(schedule.id, workflow_id, run_job_id(schedule.id, 1))
    RedisSignals(redis).run_now(schedule_id=schedule.id, run_id=1)
    queue = get_queue(redis)
    job = Job.fetch(run_job_id(schedule.id, 1), connection=redis)
    assert job.failure_callback is failures.job_failed, "every job rqflow queues carries the callback"
    worker = Worker([queue], connection=redis)  # takes the job, then "dies": nobody renews its heartbeat
    worker.register_birth()
    worker.prepare_execution(job)
    worker.prepare_job_execution(job)

    assert sweep_abandoned(redis, queue.name) == 0, "not abandoned while its heartbeat lasts"
    assert sweep_abandoned(redis, queue.name, at=time.time() + worker.get_heartbeat_ttl(job) + 1) == 1

    dead = _ledger(schedule.id)[0]
    assert (dead.id, dead.status, dead.error) == (run_id, "failed", failures.ABANDONED_ERROR)
