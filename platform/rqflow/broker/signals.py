"""The Redis implementation of :class:`rqflow.signals.SchedulerSignals`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError

from rqflow.broker.callbacks import on_failure
from rqflow.broker.connection import get_queue
from rqflow.broker.metrics import queue_start, record_duplicate, record_llm_usage, record_start
from rqflow.broker.tasks import RUN_TASK
from rqflow.broker.timers import (
    Continuation,
    NotificationTry,
    Timer,
    TimerOptions,
    queue_continuations,
    queue_notifications,
    queue_timers,
)
from rqflow.broker.wake import ScheduleChanged, TimerArmed, publish
from rqflow.job_ids import run_job_id
from rqflow.settings import get_settings
from rqflow.signals import NextTimer, RunStart

log = logging.getLogger(__name__)


class RedisSignals:
    """Publishes schedule changes to the scheduler and queues runs handed to workers."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def schedule_changed(self, schedule_id: str) -> None:
        """Wake the scheduler so it re-arms this schedule now rather than at the next reconcile."""
        try:
            publish(self.connection, ScheduleChanged(schedule_id))
        except RedisError as exc:  # the row is committed; the reconcile loop will catch up
            log.warning("could not notify the scheduler about %s: %s", schedule_id, exc)

    def run_now(self, *, schedule_id: str, run_id: int, bulk: bool = False) -> None:
        """Enqueue a ledger row's run; its id makes a repeated enqueue harmless (the claim runs it once)."""
        settings = get_settings()
        get_queue(self.connection, bulk=bulk).enqueue(
            RUN_TASK,
            run_id,
            job_id=run_job_id(schedule_id, run_id),
            job_timeout=settings.job_timeout_seconds,
            result_ttl=settings.job_result_ttl_seconds,
            on_failure=on_failure(),  # a run whose process dies is failed at once, not left running
        )

    def duplicate_refused(self) -> None:
        """Count the refused delivery in Redis, where the web process's /metrics reads it."""
        record_duplicate(self.connection)

    def run_started(self, *, scheduled_for: datetime, started_at: datetime, trigger_kind: str) -> None:
        """Add the run's lateness to the histogram in Redis (never fails the run)."""
        record_start(scheduled_for=scheduled_for, started_at=started_at, trigger_kind=trigger_kind,
                     connection=self.connection)

    def claimed(self, *, schedule_id: str, next_timer: NextTimer | None, start: RunStart | None) -> None:
        """Arm the next timer and wake the scheduler (so it need not wait for its next poll to see it), and
        count the run's lateness, in one round trip."""
        try:
            with self.connection.pipeline(transaction=True) as pipe:  # a figure's fields all or none
                if next_timer is not None:
                    timer = Timer(schedule_id, next_timer.occurrence, next_timer.fire_at)
                    queue_timers(pipe, [timer], TimerOptions.from_settings(get_settings()))
                    publish(pipe, TimerArmed())
                if start is not None:
                    queue_start(pipe, scheduled_for=start.scheduled_for, started_at=start.started_at,
                                trigger_kind=start.trigger_kind)
                pipe.execute()
        except RedisError as exc:  # the claim is committed; the scheduler's reconcile pass arms it
            log.warning("could not arm the next occurrence of %s: %s", schedule_id, exc)

    def retry_later(self, *, workflow_run_id: int, attempt: int, at: datetime) -> None:
        """Arm the retry's timer and wake the scheduler, in one round trip."""
        entry = Continuation(workflow_run_id, attempt, at)
        self._arm_one_shot(lambda pipe, options: queue_continuations(pipe, [entry], options),
                           what=f"the retry of workflow run {workflow_run_id}")

    def notify_later(self, *, delivery_id: int, attempt: int, at: datetime) -> None:
        """Arm the notification try's timer and wake the scheduler, in one round trip."""
        entry = NotificationTry(delivery_id, attempt, at)
        self._arm_one_shot(lambda pipe, options: queue_notifications(pipe, [entry], options),
                           what=f"notification {delivery_id}")

    def _arm_one_shot(self, queue: Callable[[Pipeline, TimerOptions], None], *, what: str) -> None:
        """Queue one timer's commands and a wake-up in one transaction; a Redis error is only logged (the row is
        committed, and the scheduler's reconcile pass arms what is missing)."""
        try:
            with self.connection.pipeline(transaction=True) as pipe:
                queue(pipe, TimerOptions.from_settings(get_settings()))
                publish(pipe, TimerArmed())
                pipe.execute()
        except RedisError as exc:
            log.warning("could not arm %s: %s", what, exc)

    def llm_used(self, *, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        """Add the call to the totals in Redis, where the web process's /metrics reads them (never fails the run)."""
        record_llm_usage(self.connection, model=model, prompt_tokens=prompt_tokens,
                         completion_tokens=completion_tokens, cost_usd=cost_usd)
