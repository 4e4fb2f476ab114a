"""The functions RQ workers run: each turns an RQ job into a call of :mod:`rqflow.worker.occurrence`.

``execute_scheduled_trigger`` is what a timer enqueues at an occurrence's instant;
``execute_run`` runs a ledger row that was queued on its own (run now, catch-up,
backfill, a buffered occurrence handed over when the previous run ended);
``execute_continuation`` takes up a run that waited for a retry; ``execute_notification``
makes one try at a notification. Their
names and arguments are what is stored in Redis, so they do not change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from rqflow.broker.connection import get_redis
from rqflow.broker.signals import RedisSignals
from rqflow.broker.timers import occurrence_of
from rqflow.jobs.task_context import task_context
from rqflow.worker.continuation import go_on
from rqflow.worker.notification import deliver
from rqflow.worker.occurrence import Delivery, fire, run_queued


@task_context(schedule_id="scheduled_job_id", scheduled_for="scheduled_for")
def execute_scheduled_trigger(scheduled_job_id: str, scheduled_for: str) -> dict[str, Any]:
    """Run one scheduled occurrence of ``scheduled_job_id`` at most once."""
    rq_job = get_current_job()
    delivery = Delivery(rq_job.id, _aware(rq_job.enqueued_at)) if rq_job else Delivery()
    outcome = fire(scheduled_job_id, occurrence_of(scheduled_for), delivery=delivery,
                   signals=RedisSignals(get_redis()))
    return outcome.as_result()


@task_context(run_id="run_id")
def execute_run(run_id: int) -> dict[str, Any]:
    """Run a ledger row handed to the queue, once."""
    return run_queued(run_id, signals=RedisSignals(get_redis())).as_result()


@task_context(workflow_run_id="workflow_run_id")
def execute_continuation(workflow_run_id: int, attempt: int) -> dict[str, Any]:
    """Run attempt ``attempt`` of the node a workflow run waits on, and the rest of the run, once."""
    rq_job = get_current_job()
    delivery = Delivery(rq_job.id, _aware(rq_job.enqueued_at)) if rq_job else Delivery()
    return go_on(workflow_run_id, attempt, delivery=delivery, signals=RedisSignals(get_redis())).as_result()


def execute_notification(delivery_id: int, attempt: int) -> dict[str, object]:
    """Make try ``attempt`` of a notification, once."""
    return deliver(delivery_id, attempt, signals=RedisSignals(get_redis()))


# Jobs queued by rqflow 0.1 name the task by its old name.
execute_manual_run = execute_run


def _aware(value: datetime | None) -> datetime | None:
    """RQ hands out naive UTC datetimes; rqflow only stores aware ones."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
