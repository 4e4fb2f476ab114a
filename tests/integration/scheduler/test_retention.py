"""The retention sweep deletes what outlived its retention, a batch at a time, and the totals stay exact.

Old rows of every ended status (with workflow and node runs), a run still going, a
schedule that keeps its runs longer, old and new audit rows: after the sweep only what
retention keeps is left, every figure ``/metrics`` shows from the ledger is what it was,
and each schedule's own counters are untouched.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rqflow.db import get_engine, session_scope
from rqflow.models import NodeRun, Schedule, ScheduleChange, ScheduleRun, WorkflowRun, utcnow
from rqflow.observability.ledger_figures import ledger_metrics
from rqflow.services import retention
from rqflow.settings import Settings, get_settings
from tests.bulk_ledger import load_old_runs
from tests.integration.conftest import ApiUser, make_schedule, make_workflow

OLD = 200


def figures(settings: Settings) -> dict[tuple[str, ...], float]:
    """Every sample of the ledger's /metrics families."""
    with get_engine(settings.database_url).connect() as connection:
        return {(metric.name, *sample.labels.values()): sample.value
                for metric in ledger_metrics(connection) for sample in metric.samples}


def counters(db: Session) -> list[tuple[str, int, int, int]]:
    return [(s.id, s.run_count, s.error_count, s.missed_count) for s in db.scalars(select(Schedule).order_by(Schedule.id))]


@pytest.fixture
def small_batches(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RQFLOW_RETENTION_BATCH_SIZE", "37")
    get_settings.cache_clear()


def test_the_sweep_deletes_only_what_outlived_its_retention(small_batches: None, settings: Settings,
                                                            alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    plain = make_schedule(alice, workflow_id)
    keeper = make_schedule(alice, workflow_id, run_retention_days=300)
    now = utcnow()
    load_old_runs(settings.database_url, [plain.id], OLD, before=now - timedelta(days=31), workflow_id=workflow_id,
                  with_workflow_runs=50)
    load_old_runs(settings.database_url, [keeper.id], 20, before=now - timedelta(days=100))
    load_old_runs(settings.database_url, [plain.id], 10, before=now - timedelta(days=29))  # young enough
    with session_scope() as db:
        db.execute(update(Schedule).values(run_count=Schedule.run_count + 7, missed_count=3))
        going = ScheduleRun(scheduled_job_id=plain.id, scheduled_for=now - timedelta(days=90), status="running",
                            started_at=now - timedelta(days=90), created_at=now - timedelta(days=90))
        db.add(going)
        db.add(ScheduleChange(scheduled_job_id=plain.id, user_profile_id=alice.id, actor="user:alice",
                              action="update", created_at=now - timedelta(days=366)))
    with session_scope() as db:
        before_counters = counters(db)
    before = figures(settings)

    with session_scope() as db:
        report = retention.sweep(db, now=now, budget_seconds=60)

    assert report.runs == OLD and report.workflow_runs == 50 and report.changes == 1
    assert sum(report.by_status.values()) == OLD
    with session_scope() as db:
        left = {(run.scheduled_job_id, run.status) for run in db.scalars(select(ScheduleRun))}
        assert db.scalar(select(func.count()).select_from(ScheduleRun)) == 20 + 10 + 1
        assert (plain.id, "running") in left  # a run still going is never swept, however old
        assert db.scalar(select(func.count()).select_from(ScheduleRun)
                         .where(ScheduleRun.scheduled_job_id == keeper.id)) == 20
        assert db.scalar(select(func.count()).select_from(WorkflowRun)) == 0
        assert db.scalar(select(func.count()).select_from(NodeRun)) == 0
        assert db.scalar(select(func.count()).select_from(ScheduleChange)
                         .where(ScheduleChange.created_at < now - timedelta(days=365))) == 0
        assert db.scalar(select(func.count()).select_from(ScheduleChange)) >= 2  # the schedules' own creates
        assert counters(db) == before_counters
    assert figures(settings) == before

    with session_scope() as db:
        again = retention.sweep(db, now=now, budget_seconds=60)
    assert again.rows == 0 and figures(settings) == before


def test_a_retention_above_the_ceiling_is_refused(settings: Settings, alice: ApiUser) -> None:
    from rqflow.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        make_schedule(alice, make_workflow(alice), run_retention_days=366)
    assert refused.value.field == "run_retention_days"
