"""The Redis implementation of :class:`rqflow.services.signals.SchedulerSignals`."""

from __future__ import annotations

import logging
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError

from rqflow.jobs.connection import WAKE_CHANNEL, get_queue
from rqflow.jobs.failures import on_failure
from rqflow.jobs.ids import run_job_id
from rqflow.observability.firing import record_duplicate
from rqflow.settings import get_settings

log = logging.getLogger(__name__)


class RedisSignals:
    """Publishes schedule changes to the scheduler and queues runs handed to workers."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def schedule_changed(self, schedule_id: str) -> None:
        """Wake the scheduler so it re-arms this schedule now rather than at the next reconcile."""
        try:
            self.connection.publish(WAKE_CHANNEL, f"changed:{schedule_id}")
        except RedisError as exc:  # the row is committed; the reconcile loop will catch up
            log.warning("could not notify the scheduler about %s: %s", schedule_id, exc)

    def run_now(self, *, schedule_id: str, run_id: int, scheduled_for: datetime, bulk: bool = False) -> None:
        """Enqueue a ledger row's run; its id makes a repeated enqueue harmless (the claim runs it once)."""
        settings = get_settings()
        get_queue(self.connection, bulk=bulk).enqueue(
            "rqflow.jobs.tasks.execute_run",
            run_id,
            job_id=run_job_id(schedule_id, run_id),
            job_timeout=settings.job_timeout_seconds,
            result_ttl=settings.job_result_ttl_seconds,
            on_failure=on_failure(),  # a run whose process dies is failed at once, not left running
        )

    def duplicate_refused(self) -> None:
        """Count the refused delivery in Redis, where the web process's /metrics reads it."""
        record_duplicate(self.connection)
