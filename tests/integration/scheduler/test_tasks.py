"""``execute_scheduled_trigger``: the claim, the counters and the ledger, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from rqflow.broker.timers import armed
from rqflow.db import session_scope
from rqflow.job_ids import fire_job_id
from rqflow.jobs.tasks import execute_scheduled_trigger
from rqflow.models import NodeRun, Schedule, ScheduleRun, WorkflowRun, utcnow
from rqflow.services.occurrences import claim_occurrence
from rqflow.settings import Settings
from rqflow.signals import NullSignals
from rqflow.timing.jitter import fire_at
from tests.integration.conftest import ApiUser, make_schedule, make_workflow


def _row(schedule_id: str) -> Schedule:
    with session_scope() as db:
        row = db.get(Schedule, schedule_id)
        assert row is not None
        return row


def _runs(schedule_id: str) -> list[ScheduleRun]:
    with session_scope() as db:
        query = select(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule_id).order_by(ScheduleRun.id)
        return list(db.scalars(query))


def _fire_due(schedule_id: str) -> dict:  # type: ignore[type-arg]
    return execute_scheduled_trigger(schedule_id, _row(schedule_id).next_run_at.isoformat())  # type: ignore[union-attr]


def test_an_occurrence_runs_once_records_everything_and_arms_the_next(
    settings: Settings, redis: Redis, alice: ApiUser
) -> None:
    created = utcnow() - timedelta(seconds=61)
    job = make_schedule(alice, make_workflow(alice), now=created)
    occurrence = job.next_run_at
    assert occurrence is not None

    result = execute_scheduled_trigger(job.id, occurrence.isoformat())
    duplicate = execute_scheduled_trigger(job.id, occurrence.isoformat())

    assert result["claimed"] and not duplicate["claimed"]
    row = _row(job.id)
    assert (row.run_count, row.error_count, row.status) == (1, 0, "active")
    assert row.next_run_at == occurrence + timedelta(seconds=60)
    assert set(armed(redis)) == {fire_job_id(job.id, row.next_run_at)}
    [run] = _runs(job.id)
    assert (run.status, run.scheduled_for, run.trigger_kind) == ("succeeded", occurrence, "schedule")
    with session_scope() as db:
        [workflow_run] = db.scalars(select(WorkflowRun)).all()
        nodes = db.scalars(select(NodeRun).order_by(NodeRun.id)).all()
    assert workflow_run.schedule_run_id == run.id and workflow_run.status == "succeeded"
    assert [(n.node_key, n.status) for n in nodes] == [("t", "succeeded"), ("echo", "succeeded")]
    assert nodes[1].output["scheduled_for"] == occurrence.isoformat()


def test_a_stale_timer_does_nothing(settings: Settings, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    stale = job.next_run_at - timedelta(seconds=60)  # type: ignore[operator]
    assert execute_scheduled_trigger(job.id, stale.isoformat()) == {"claimed": False}
    assert _runs(job.id) == [] and _row(job.id).run_count == 0


def test_a_paused_schedule_records_a_skip(settings: Settings, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    with session_scope() as db:
        db.get(Schedule, job.id).status = "paused"  # type: ignore[union-attr]
    assert execute_scheduled_trigger(job.id, job.next_run_at.isoformat()) == {"claimed": False}  # type: ignore[union-attr]
    [run] = _runs(job.id)
    assert (run.status, run.reason) == ("skipped", "schedule paused")


def test_max_runs_stops_the_schedule(settings: Settings, redis: Redis, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice), max_runs=2, now=utcnow() - timedelta(seconds=130))
    _fire_due(job.id)
    _fire_due(job.id)
    row = _row(job.id)
    assert (row.status, row.run_count, row.next_run_at) == ("stopped", 2, None)


def test_a_failing_workflow_is_recorded_and_counted(settings: Settings, alice: ApiUser) -> None:
    nodes = [{"key": "t", "component_type": "trigger_schedule", "config": {}},
             {"key": "boom", "component_type": "python_call",
              "config": {"callable": "tests.integration.conftest:explode"}}]
    job = make_schedule(alice, make_workflow(alice, nodes=nodes, edges=[{"source": "t", "target": "boom"}]))
    result = _fire_due(job.id)
    assert result["claimed"] and "boom" in result["error"]
    [run] = _runs(job.id)
    row = _row(job.id)
    assert run.status == "failed" and "boom" in run.error
    assert (row.error_count, row.run_count) == (1, 1) and "boom" in row.last_error


@pytest.mark.parametrize(("policy", "expected"), [
    # Four occurrences are due; the newest is 30 s late, within the 60 s misfire grace.
    ("latest", ["missed", "missed", "missed", "succeeded"]),
    ("skip", ["missed", "missed", "missed", "succeeded"]),
    ("all", ["succeeded", "enqueued", "waiting", "waiting"]),
])
def test_a_late_worker_applies_the_catchup_policy_and_moves_on(
    settings: Settings, alice: ApiUser, policy: str, expected: list[str]
) -> None:
    job = make_schedule(alice, make_workflow(alice), now=utcnow() - timedelta(seconds=60 * 4 + 30),
                        catchup_policy=policy)
    _fire_due(job.id)
    runs = sorted(_runs(job.id), key=lambda run: run.scheduled_for)
    assert [run.status for run in runs] == expected
    row = _row(job.id)
    assert row.next_run_at > utcnow()  # type: ignore[operator]
    assert row.missed_count == expected.count("missed")
    assert row.run_count == len(runs) - expected.count("missed")


def test_a_late_claim_leaves_the_next_occurrence_to_its_own_jittered_instant(
    settings: Settings, alice: ApiUser
) -> None:
    job = make_schedule(alice, make_workflow(alice), now=utcnow() - timedelta(seconds=61), jitter_seconds=50)
    first = job.next_run_at
    assert first is not None
    following = first + timedelta(seconds=60)
    # Claim so late that the following occurrence is nominally past, but its jittered instant is not.
    claimed_at = fire_at(job.id, following, 50) - timedelta(seconds=1)
    with session_scope() as db:
        claim = claim_occurrence(db=db, schedule_id=job.id, scheduled_for=first, rq_job_id=None, enqueued_at=None,
                                 now=claimed_at, signals=NullSignals())
    assert claim is not None and claim.scheduled_for == first, "the delivered occurrence runs; nothing is missed"
    assert claim.next_run_at == following
    assert claim.next_fire_at == fire_at(job.id, following, 50)
    assert [(r.scheduled_for, r.status) for r in _runs(job.id)] == [(first, "running")]
