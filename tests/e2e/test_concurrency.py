"""Per-user concurrency through real processes: a limit of 2, six of one user's runs due at once, four workers.

Each run's workflow takes 2 s and records when it started and ended (``slow_record``), so
the concurrency is measured from the side effects themselves, not from the ledger: never
more than 2 at once, and all six run (the four beyond the limit wait and start as others
end; none is skipped or dropped).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rqflow.broker.signals import RedisSignals
from rqflow.db import session_scope
from rqflow.models import UserProfile, utcnow
from rqflow.schemas.schedule import ScheduleCreate
from rqflow.schemas.workflow import WorkflowCreate
from rqflow.services import schedules as schedule_service
from rqflow.services.concurrency import CONCURRENCY_REASON
from rqflow.services.workflows import create_workflow
from tests.e2e import side_effects
from tests.e2e.conftest import FINAL_STATUSES, Stack, workflow_body
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

LIMIT = 2
DUE = 6
WORKERS = 4
SECONDS = 3.0  # long enough that all six are claimed before the first two end


def test_six_due_at_once_never_run_more_than_two_at_a_time(stack: Stack, database_url: str) -> None:
    env = {"RQFLOW_MAX_CONCURRENT_RUNS_PER_USER": str(LIMIT)}
    scheduler = stack.start_scheduler(env=env)
    for _ in range(WORKERS):
        stack.start_worker(env=env)
    stack.wait_leader(scheduler)
    stack.wait_workers(WORKERS)
    at = utcnow().replace(microsecond=0) + timedelta(seconds=3)
    with session_scope(stack.database_url) as db:
        owner = db.get(UserProfile, stack.user())
        assert owner is not None
        body = workflow_body(target="tests.e2e.side_effects:slow_record", kwargs={"seconds": SECONDS})
        workflow = create_workflow(db=db, owner=owner, data=WorkflowCreate.model_validate(body))
        db.flush()
        ids = [schedule_service.create_schedule(
            db=db, owner=owner, now=utcnow(), signals=RedisSignals(stack.redis),
            data=ScheduleCreate.model_validate({"name": f"report-{i}", "workflow_id": workflow.id,
                                                "schedule_type": "once", "run_at": at})).id for i in range(DUE)]

    def all_final() -> list[str]:
        stack.assert_running()
        statuses = [run.status for schedule_id in ids for run in stack.runs(schedule_id)]
        return statuses if len(statuses) == DUE and set(statuses) <= FINAL_STATUSES else []

    statuses = wait_for(all_final, timeout=90, interval=0.2, what="all six runs to end")
    assert statuses == ["succeeded"] * DUE
    spans = [span for schedule_id in ids for span in side_effects.recorded_spans(stack.database_url, schedule_id)]
    assert len(spans) == DUE
    assert side_effects.max_concurrency(spans) == LIMIT
    waited = [run for schedule_id in ids for run in stack.runs(schedule_id) if run.reason == CONCURRENCY_REASON]
    assert len(waited) == DUE - LIMIT
    assert all(run.started_at is not None and run.started_at - at > timedelta(seconds=SECONDS * 0.9)
               for run in waited)  # they started as others ended, not at their instant
