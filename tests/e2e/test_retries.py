"""Retries and run deadlines through real scheduler and worker processes.

- A node failing twice then succeeding (``retry: max_attempts 3``): three attempts, the run
  succeeds. The worker that ran the first attempt is killed while the run waits, and the
  timer of the third attempt is taken out of Redis while it waits: the new worker still runs
  each attempt once (the scheduler re-arms the lost timer from the database), and the
  side-effect table, which records every call, shows exactly three calls.
- A run past its schedule's ``run_timeout_seconds`` fails with reason ``timeout`` while its
  node is still going.
"""

from __future__ import annotations

from typing import Any

import pytest
from rq.job import Job
from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.broker.timers import SCHEDULED_SET
from rqflow.job_ids import continue_job_id
from rqflow.models import NodeRun, ScheduleRun, WorkflowRun
from tests.e2e.conftest import Stack
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

FLAKY = "tests.e2e.side_effects:flaky_record"
SLOW = "tests.e2e.side_effects:slow_record"


def once_soon(stack: Stack, node: dict[str, Any], **fields: Any) -> str:
    """A workflow (trigger -> ``node``) and a one-time schedule on it 2 s from now; the schedule's id."""
    body = {"name": "e2e-retries", "nodes": [{"key": "trigger", "component_type": "trigger_schedule"},
                                             {"key": "effect", **node}],
            "edges": [{"source": "trigger", "target": "effect"}]}
    return stack.create_once_schedule(body, **fields)


def ledger_row(stack: Stack, schedule_id: str) -> ScheduleRun | None:
    runs = stack.runs(schedule_id)
    assert len(runs) <= 1, [(r.status, r.scheduled_for) for r in runs]
    return runs[0] if runs else None


def wait_status(stack: Stack, schedule_id: str, status: str, timeout: float) -> ScheduleRun:
    def reached() -> ScheduleRun | None:
        stack.assert_running()
        row = ledger_row(stack, schedule_id)
        return row if row is not None and row.status == status else None

    return wait_for(reached, timeout=timeout, interval=0.05, what=f"the ledger row to be {status}")


def attempts(stack: Stack, schedule_run_id: int) -> list[tuple[int, str]]:
    with Session(stack.observer) as db:
        flows = select(WorkflowRun.id).where(WorkflowRun.schedule_run_id == schedule_run_id)
        query = (select(NodeRun.attempt, NodeRun.status)
                 .where(NodeRun.workflow_run_id.in_(flows), NodeRun.node_key == "effect").order_by(NodeRun.id))
        return [(attempt, status) for attempt, status in db.execute(query)]


def waiting_attempt(stack: Stack, schedule_run_id: int) -> tuple[int, int]:
    with Session(stack.observer) as db:
        flow = db.scalars(select(WorkflowRun).where(WorkflowRun.schedule_run_id == schedule_run_id)).one()
        assert flow.status == "retrying" and flow.resume_attempt is not None
        return flow.id, flow.resume_attempt


def test_a_node_failing_twice_then_succeeding_survives_a_killed_worker_and_a_lost_timer(
    stack: Stack, database_url: str
) -> None:
    scheduler = stack.start_scheduler()
    worker = stack.start_worker()
    stack.wait_leader(scheduler)
    stack.wait_workers()
    retry = {"max_attempts": 3, "initial_interval_seconds": 4, "backoff_coefficient": 2}
    schedule_id = once_soon(stack, {"component_type": "python_call", "retry": retry,
                                    "config": {"callable": FLAKY, "kwargs": {"failures": 2}}})

    first_wait = wait_status(stack, schedule_id, "retrying", timeout=30)
    assert first_wait.next_attempt_at is not None and first_wait.finished_at is None
    stack.kill(worker)  # between attempts: the run waits in the database, not in this worker
    stack.start_worker()
    stack.wait_workers()

    def second_failure() -> bool:
        stack.assert_running()
        return attempts(stack, first_wait.id) == [(1, "failed"), (2, "failed")] and \
            ledger_row(stack, schedule_id).status == "retrying"  # type: ignore[union-attr]

    wait_for(second_failure, timeout=30, interval=0.05, what="the second attempt to fail")
    workflow_run_id, attempt = waiting_attempt(stack, first_wait.id)
    assert attempt == 3
    lost = continue_job_id(workflow_run_id, attempt)
    wait_for(lambda: stack.redis.zscore(SCHEDULED_SET, lost) is not None, timeout=10, interval=0.05,
             what="the third attempt's timer")
    stack.redis.zrem(SCHEDULED_SET, lost)  # as a flushed or failed-over Redis would lose it
    stack.redis.delete(Job.key_for(lost))

    done = wait_status(stack, schedule_id, "succeeded", timeout=60)
    assert attempts(stack, done.id) == [(1, "failed"), (2, "failed"), (3, "succeeded")]
    assert len(stack.effects(schedule_id)) == 3  # each attempt called the node once: nothing lost, nothing doubled
    assert done.error == "" and done.resumed_at is not None and done.next_attempt_at is None
    row = stack.row(schedule_id)
    assert (row.run_count, row.error_count, row.status) == (1, 0, "stopped")
    assert "re-armed 1 retries" in stack.logs()


def test_a_run_past_its_deadline_fails_with_reason_timeout(stack: Stack, database_url: str) -> None:
    scheduler = stack.start_scheduler()
    stack.start_worker()
    stack.wait_leader(scheduler)
    stack.wait_workers()
    schedule_id = once_soon(stack, {"component_type": "python_call",
                                    "config": {"callable": SLOW, "kwargs": {"seconds": 60}}}, run_timeout_seconds=2)

    done = wait_status(stack, schedule_id, "failed", timeout=40)
    assert done.reason == "timeout" and "went past its deadline" in done.error
    assert done.duration_seconds is not None and 1.5 < done.duration_seconds < 30
    assert stack.effects(schedule_id) == []  # the node was stopped before it could write its effect
    assert attempts(stack, done.id) == [(1, "failed")]
