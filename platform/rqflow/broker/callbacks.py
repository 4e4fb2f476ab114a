"""How RQ tells rqflow that a job's process died: the failure callback every job carries, and the sweep
that makes RQ call it for jobs whose worker was lost.

The callback itself (:func:`rqflow.jobs.failures.job_failed`) records the failure in the
ledger; RQ finds it by its dotted path, which is stored with every job and so never changes.
"""

from __future__ import annotations

import time

from redis import Redis
from rq import Callback
from rq.registry import StartedJobRegistry

from rqflow.broker.tasks import FAILURE_CALLBACK

# How long the on_failure callback may take (one short transaction).
CALLBACK_TIMEOUT_SECONDS = 60


def on_failure() -> Callback:
    """The ``on_failure`` callback every job rqflow queues carries."""
    return Callback(FAILURE_CALLBACK, timeout=CALLBACK_TIMEOUT_SECONDS)


def sweep_abandoned(connection: Redis, queue_name: str, *, at: float | None = None) -> int:
    """Let RQ fail the jobs of ``queue_name`` whose execution heartbeat expired before ``at`` (default: now).

    RQ calls each one's ``on_failure`` callback; returns how many it found. RQ's own workers
    run this cleanup only every ten minutes, so the scheduler runs it on every reconcile pass.
    """
    registry = StartedJobRegistry(queue_name, connection=connection)
    cutoff = time.time() if at is None else at
    expired = len(registry.get_expired_job_ids(cutoff))
    if expired:
        registry.cleanup(cutoff)
    return expired
