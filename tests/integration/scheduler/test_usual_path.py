"""The usual occurrence's Core statements write what the rules' ORM path writes, and only the usual case takes them.

``services.usual_path`` is a shortcut: when none of the rules (catch-up, overlap,
``max_runs``, a failure streak, a waiting run) has anything to decide, the claim and the
end are a few Core statements instead of ORM loads and flushes. Here the same occurrence
is fired twice, on twin schedules, once with the shortcut and once with it switched off,
and both must leave the same ledger row, schedule, workflow run and node run; and each
case the shortcut must not take is checked to go the rules' way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rqflow.db import session_scope
from rqflow.models import NodeRun, Schedule, ScheduleRun, WorkflowRun, utcnow
from rqflow.services import occurrences
from rqflow.settings import Settings
from rqflow.worker.occurrence import Delivery, fire
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow


def due_schedule(alice: ApiUser, workflow_id: int, **overrides: Any) -> Schedule:
    """A schedule every 60 s whose next occurrence came due a moment ago."""
    return make_schedule(alice, workflow_id, now=utcnow() - timedelta(seconds=60.5), **overrides)


def written(schedule_id: str) -> dict[str, Any]:
    """What an occurrence left behind, without ids and instants that differ between twins."""
    with session_scope() as db:
        schedule = db.get(Schedule, schedule_id)
        assert schedule is not None
        anchor = schedule.created_at.replace(microsecond=0)  # an interval counts from the second it was made
        runs = list(db.scalars(select(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule_id)))
        workflow_runs = list(db.scalars(select(WorkflowRun).where(
            WorkflowRun.schedule_run_id.in_([run.id for run in runs]))))
        node_runs = list(db.scalars(select(NodeRun).where(
            NodeRun.workflow_run_id.in_([run.id for run in workflow_runs]))))
        return {
            "runs": [(r.status, r.trigger_kind, r.reason, r.error, r.rq_job_id, r.started_at is not None,
                      r.finished_at is not None, r.duration_seconds is not None,
                      r.scheduled_for - anchor) for r in runs],
            "schedule": (schedule.status, schedule.run_count, schedule.error_count, schedule.missed_count,
                         schedule.consecutive_failures, schedule.last_run_at is not None,
                         schedule.next_run_at - anchor if schedule.next_run_at else None,
                         schedule.rq_job_id is not None),
            "workflow runs": [(w.status, w.error, w.event_type, sorted(w.event), w.finished_at is not None)
                              for w in workflow_runs],
            "node runs": [(n.node_key, n.status, n.error, n.input, sorted(n.output), n.finished_at is not None)
                          for n in node_runs],
        }


def fire_due(schedule: Schedule, signals: RecordingSignals) -> dict[str, Any]:
    assert schedule.next_run_at is not None
    return fire(schedule.id, schedule.next_run_at, delivery=Delivery("rq-job-1"), signals=signals).as_result()


def test_the_shortcut_writes_what_the_rules_path_writes(
    settings: Settings, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow_id = make_workflow(alice)
    usual, ruled = due_schedule(alice, workflow_id), due_schedule(alice, workflow_id)
    taken: list[bool] = []
    real = occurrences._usual_claim

    def spy(*args: Any, **kwargs: Any) -> occurrences.Claim | None:
        claim = real(*args, **kwargs)
        taken.append(claim is not None)
        return claim

    monkeypatch.setattr(occurrences, "_usual_claim", spy)
    usual_signals = RecordingSignals()
    usual_result = fire_due(usual, usual_signals)
    monkeypatch.setattr(occurrences, "_usual_claim", lambda *args, **kwargs: None)
    monkeypatch.setattr(occurrences, "quiet_success", lambda facts: False)
    ruled_signals = RecordingSignals()
    ruled_result = fire_due(ruled, ruled_signals)

    assert taken == [True], "the first twin took the shortcut"
    assert usual_result["started"] and usual_result["error"] == "" and len(usual_result["workflow_runs"]) == 1
    assert {**usual_result, "workflow_runs": None} == {**ruled_result, "workflow_runs": None}
    assert written(usual.id) == written(ruled.id)
    assert written(usual.id)["runs"][0][0] == "succeeded"
    assert [kind for kind in usual_signals.started] == [kind for kind in ruled_signals.started] == ["schedule"]
    assert len(usual_signals.armed) == len(ruled_signals.armed) == 1


def test_a_late_occurrence_goes_the_rules_way_and_is_marked_catch_up(settings: Settings, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    late = make_schedule(alice, workflow_id, interval_seconds=3600, catchup_policy="latest",
                         now=utcnow() - timedelta(seconds=3600 + settings.misfire_grace_seconds + 5))
    fire_due(late, RecordingSignals())
    [run] = written(late.id)["runs"]
    assert (run[0], run[2]) == ("succeeded", "catch-up")


def test_a_taken_slot_goes_the_rules_way_and_skips(settings: Settings, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    busy = due_schedule(alice, workflow_id)
    with session_scope() as db:
        db.add(ScheduleRun(scheduled_job_id=busy.id, scheduled_for=utcnow() - timedelta(hours=1), status="running",
                           started_at=utcnow()))
    result = fire_due(busy, RecordingSignals())
    assert result == {"claimed": True, "started": False}
    statuses = sorted((run[0], run[2]) for run in written(busy.id)["runs"])
    assert statuses == [("running", ""), ("skipped", "overlap: the previous run is still going")]


def test_the_last_run_under_max_runs_goes_the_rules_way_and_stops_the_schedule(
    settings: Settings, alice: ApiUser
) -> None:
    workflow_id = make_workflow(alice)
    last = due_schedule(alice, workflow_id, max_runs=1)
    fire_due(last, RecordingSignals())
    state = written(last.id)
    assert state["schedule"][:2] == ("stopped", 1) and state["runs"][0][0] == "succeeded"


def test_a_success_after_failures_resets_the_streak_the_rules_way(settings: Settings, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    streak = due_schedule(alice, workflow_id)
    with session_scope() as db:
        row = db.get(Schedule, streak.id)
        assert row is not None
        row.consecutive_failures = 2
    fire_due(streak, RecordingSignals())
    assert written(streak.id)["schedule"][4] == 0
