"""A failed node with a retry policy is tried again later, through a continuation, never in a sleeping worker.

The occurrence is fired as a worker fires it (:func:`rqflow.worker.occurrence.fire`) and the
retries are taken up as their timers would take them up (:func:`rqflow.worker.continuation.go_on`),
with signals that record the timers asked for. Checked: each attempt is a node run of its own,
the ledger row waits as ``retrying`` with its next attempt's time and holds the slot, a
continuation delivered twice runs once, the run's deadline ends it (``timeout``), and a
run that never gets its continuation is failed by the scheduler's deadline sweep.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from rqflow.db import session_scope
from rqflow.models import NodeRun, Schedule, ScheduleRun, WorkflowRun, utcnow
from rqflow.services import upkeep
from rqflow.services.overlap import slot_taken
from rqflow.settings import Settings
from rqflow.worker.continuation import go_on
from rqflow.worker.occurrence import Delivery, fire
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow, only_run

CALLS: Counter[str] = Counter()
RETRY = {"max_attempts": 3, "initial_interval_seconds": 0.1, "backoff_coefficient": 2.0}


def flaky(event: dict[str, Any], failures: int) -> dict[str, Any]:
    """A python_call target that fails the first ``failures`` calls of each occurrence, then succeeds."""
    key = f"{event['scheduled_job_id']} {event['scheduled_for']}"
    CALLS[key] += 1
    if CALLS[key] <= failures:
        raise ConnectionError(f"flaky: call {CALLS[key]} fails on purpose")
    return {"calls": CALLS[key]}


def flaky_workflow(alice: ApiUser, failures: int, retry: dict[str, Any] | None = RETRY, *,
                   on_workflow: bool = False) -> int:
    node: dict[str, Any] = {"key": "flaky", "component_type": "python_call",
                            "config": {"callable": "tests.integration.scheduler.test_retries:flaky",
                                       "kwargs": {"failures": failures}}}
    after = {"key": "after", "component_type": "python_call",
             "config": {"callable": "tests.integration.conftest:echo", "kwargs": {"saw": "{{ nodes.flaky.output }}"}}}
    if retry is not None and not on_workflow:
        node["retry"] = retry
    body: dict[str, Any] = {"name": "flaky", "nodes": [{"key": "t", "component_type": "trigger_schedule"}, node, after],
                            "edges": [{"source": "t", "target": "flaky"}, {"source": "flaky", "target": "after"}]}
    if on_workflow:
        body["retry"] = retry
    return make_workflow(alice, **body)


def fire_due(alice: ApiUser, workflow_id: int, signals: RecordingSignals, **overrides: Any) -> ScheduleRun:
    """Fire the occurrence of a new 60-s schedule that came due a moment ago; its ledger row."""
    schedule = make_schedule(alice, workflow_id, now=utcnow() - timedelta(seconds=60.5), **overrides)
    assert schedule.next_run_at is not None
    fire(schedule.id, schedule.next_run_at, delivery=Delivery("rq-fire"), signals=signals)
    return only_run(schedule.id)


def node_runs(schedule_run_id: int) -> list[NodeRun]:
    with session_scope() as db:
        flows = select(WorkflowRun.id).where(WorkflowRun.schedule_run_id == schedule_run_id)
        rows = list(db.scalars(select(NodeRun).where(NodeRun.workflow_run_id.in_(flows)).order_by(NodeRun.id)))
        db.expunge_all()
        return rows


def take_up_next(signals: RecordingSignals) -> dict[str, object]:
    """Deliver the last timer asked for, as the scheduler would when it comes due."""
    workflow_run_id, attempt, _ = signals.retries[-1]
    return go_on(workflow_run_id, attempt, delivery=Delivery(f"rq-continue-{attempt}"), signals=signals).as_result()


def test_a_node_failing_twice_then_succeeding_takes_three_attempts(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    before = utcnow()
    row = fire_due(alice, flaky_workflow(alice, failures=2), signals)

    assert row.status == "retrying" and row.finished_at is None
    assert len(signals.retries) == 1 and signals.retries[0][1] == 2
    assert row.next_attempt_at == signals.retries[0][2]
    assert timedelta(0) < row.next_attempt_at - before < timedelta(seconds=5)  # type: ignore[operator]
    with session_scope() as db:
        assert slot_taken(db, row.scheduled_job_id, utcnow())  # a waiting run still holds the slot

    assert take_up_next(signals) == {"taken_up": True, "status": "retrying"}
    assert only_run(row.scheduled_job_id).status == "retrying"
    waits = [at for _, _, at in signals.retries]
    assert signals.retries[-1][1] == 3 and waits[1] > waits[0]
    assert take_up_next(signals) == {"taken_up": True, "status": "succeeded"}

    done = only_run(row.scheduled_job_id)
    assert (done.status, done.error, done.next_attempt_at, done.rq_job_id) == ("succeeded", "", None, "rq-continue-3")
    assert done.resumed_at is not None and done.duration_seconds is not None
    nodes = node_runs(row.id)
    assert [(n.node_key, n.attempt, n.status) for n in nodes] == [
        ("t", 1, "succeeded"), ("flaky", 1, "failed"), ("flaky", 2, "failed"), ("flaky", 3, "succeeded"),
        ("after", 1, "succeeded")]
    assert "ConnectionError: flaky: call 1" in nodes[1].error and nodes[3].output == {"calls": 3}
    assert nodes[4].output["kwargs"] == {"saw": {"calls": 3}}  # the node after it saw the successful attempt
    with session_scope() as db:
        flow = db.scalars(select(WorkflowRun).where(WorkflowRun.schedule_run_id == row.id)).one()
        schedule = db.get(Schedule, row.scheduled_job_id)
        assert schedule is not None
        assert (flow.status, flow.resume_outputs, flow.next_attempt_at) == ("succeeded", None, None)
        assert (schedule.run_count, schedule.error_count, schedule.consecutive_failures) == (1, 0, 0)


def test_a_continuation_delivered_twice_runs_once(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    row = fire_due(alice, flaky_workflow(alice, failures=1), signals)
    workflow_run_id, attempt, _ = signals.retries[0]

    first = go_on(workflow_run_id, attempt, delivery=Delivery("a"), signals=signals).as_result()
    second = go_on(workflow_run_id, attempt, delivery=Delivery("b"), signals=signals).as_result()

    assert first == {"taken_up": True, "status": "succeeded"} and second == {"taken_up": False}
    assert CALLS[f"{row.scheduled_job_id} {row.scheduled_for.isoformat()}"] == 2
    assert [n.attempt for n in node_runs(row.id) if n.node_key == "flaky"] == [1, 2]


def test_the_workflow_default_applies_and_the_last_attempt_fails_the_run(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    row = fire_due(alice, flaky_workflow(alice, failures=5, on_workflow=True), signals, pause_after_failures=1)
    take_up_next(signals)
    assert take_up_next(signals) == {"taken_up": True, "status": "failed"}

    done = only_run(row.scheduled_job_id)
    assert done.status == "failed" and "flaky: call 3 fails" in done.error and len(signals.retries) == 2
    with session_scope() as db:
        schedule = db.get(Schedule, row.scheduled_job_id)
        assert schedule is not None
        assert (schedule.status, schedule.error_count, schedule.consecutive_failures) == ("paused", 1, 1)


def test_no_retry_is_planned_past_the_runs_deadline(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    slow = {"max_attempts": 3, "initial_interval_seconds": 30}
    row = fire_due(alice, flaky_workflow(alice, failures=1, retry=slow), signals, run_timeout_seconds=10)

    assert signals.retries == []
    assert row.status == "failed" and "would start after the run's deadline" in row.error
    assert row.deadline_at is not None and row.started_at is not None
    assert row.deadline_at - row.started_at == timedelta(seconds=10)


def test_a_node_running_into_the_runs_deadline_fails_it_with_reason_timeout(settings: Settings, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice, nodes=[
        {"key": "t", "component_type": "trigger_schedule"},
        {"key": "slow", "component_type": "python_call", "retry": {"max_attempts": 3},
         "config": {"callable": "tests.integration.conftest:pause_for", "kwargs": {"seconds": 30}}}],
        edges=[{"source": "t", "target": "slow"}])
    signals = RecordingSignals()
    row = fire_due(alice, workflow_id, signals, run_timeout_seconds=1)

    assert (row.status, row.reason) == ("failed", "timeout") and "went past its deadline" in row.error
    assert signals.retries == []  # a run out of time is never retried
    assert row.duration_seconds is not None and row.duration_seconds < 10


def test_a_run_waiting_past_its_deadline_is_failed_by_the_sweep(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    slow = {"max_attempts": 3, "initial_interval_seconds": 5}
    row = fire_due(alice, flaky_workflow(alice, failures=1, retry=slow), signals, run_timeout_seconds=60)
    assert row.status == "retrying" and row.deadline_at is not None

    with session_scope() as db:
        assert upkeep.fail_past_deadline(db, now=row.deadline_at - timedelta(seconds=1), signals=signals) == 0
        assert upkeep.fail_past_deadline(db, now=row.deadline_at + timedelta(seconds=1), signals=signals) == 1
    done = only_run(row.scheduled_job_id)
    assert (done.status, done.reason) == ("failed", "timeout")
    with session_scope() as db:
        flow = db.scalars(select(WorkflowRun).where(WorkflowRun.schedule_run_id == row.id)).one()
        assert flow.status == "failed" and flow.resume_outputs is None
    assert take_up_next(signals) == {"taken_up": False}  # the timer that comes late finds nothing to do


def test_the_scheduler_lists_every_run_waiting_for_a_retry(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    fire_due(alice, flaky_workflow(alice, failures=1), signals)
    with session_scope() as db:
        waiting = upkeep.waiting_for_retry(db)
    assert [(w.workflow_run_id, w.attempt, w.at) for w in waiting] == signals.retries
