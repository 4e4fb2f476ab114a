"""An RQ task's ids are bound while it runs, and only then."""

from __future__ import annotations

import fakeredis
from rq import Queue, SimpleWorker

from rqflow.jobs.task_context import task_context
from rqflow.observability.context import bind, current

seen: list[dict[str, str | int]] = []


@task_context(schedule_id="schedule", run_id="run")
def task(schedule: str, run: int | None = None, other: str = "") -> str:
    bind(scheduled_for="2026-01-01T00:00:00+00:00")
    seen.append(current())
    return other


def test_arguments_are_bound_by_name_or_position_and_unbound_afterwards() -> None:
    seen.clear()
    assert task("s1", other="x") == "x"
    task(schedule="s2", run=9)
    assert seen == [
        {"schedule_id": "s1", "scheduled_for": "2026-01-01T00:00:00+00:00"},
        {"schedule_id": "s2", "run_id": 9, "scheduled_for": "2026-01-01T00:00:00+00:00"},
    ]
    assert current() == {}


def test_under_a_worker_the_rq_job_id_is_bound_too() -> None:
    seen.clear()
    connection = fakeredis.FakeRedis()
    queue = Queue("t", connection=connection)
    job = queue.enqueue(task, "s3", job_id="rqflow-fire-s3-1")
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert job.get_status(refresh=True) == "finished"
    assert seen == [{"schedule_id": "s3", "rq_job_id": "rqflow-fire-s3-1",
                     "scheduled_for": "2026-01-01T00:00:00+00:00"}]
