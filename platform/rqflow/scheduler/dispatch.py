"""Moving due rqflow timers onto their RQ queues without unpickling them.

A timer's job hash is written complete when it is armed (:mod:`.timers`): the
function, its arguments, the timeout and the queue (``origin``). Enqueueing such
a job (no dependencies, no rate limit, no TTL) changes only its ``status`` and
``enqueued_at`` and pushes its id on the queue's list, which is all this module
does, for a whole batch in one transaction. rq-scheduler instead fetches,
unpickles, re-pickles and saves every job, one round trip after another: that is
the bulk of its cost per job (measured in docs/PERFORMANCE.md, "Dispatch"), and the reason this path
exists.
"""

from __future__ import annotations

from redis import Redis
from redis.exceptions import WatchError
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.utils import now, utcformat

from rqflow.broker.lease import Lease
from rqflow.broker.timers import SCHEDULED_SET, as_text


class LeaseLost(RuntimeError):
    """The lease changed hands before the batch moved; nothing was moved."""


def move_due(connection: Redis, job_ids: list[str], lease: Lease) -> list[str]:
    """Queue each timer job and take it out of rq-scheduler's set; return the ids queued.

    The move is one MULTI/EXEC fenced by the lease (:meth:`Lease.fence`): a scheduler
    frozen after reading these ids, woken after another took over, moves nothing and
    gets LeaseLost. A worker never pops an id whose hash does not yet say "queued".
    A timer whose job hash is gone is only taken out of the set: the reconcile pass
    re-arms it from the database.
    """
    if not job_ids:
        return []
    origins = _origins(connection, job_ids)
    stamp = utcformat(now())
    queued: list[str] = []
    with connection.pipeline(transaction=True) as pipe:
        if not lease.fence(pipe):
            raise LeaseLost()
        pipe.multi()
        for queue_key in {Queue.redis_queue_namespace_prefix + origin for origin in origins.values()}:
            pipe.sadd(Queue.redis_queues_keys, queue_key)
        for job_id in job_ids:
            origin = origins.get(job_id)
            if origin is None:
                continue
            pipe.hset(Job.key_for(job_id), mapping={"status": JobStatus.QUEUED.value, "enqueued_at": stamp})
            pipe.rpush(Queue.redis_queue_namespace_prefix + origin, job_id)
            queued.append(job_id)
        pipe.zrem(SCHEDULED_SET, *job_ids)
        try:
            pipe.execute()
        except WatchError:
            raise LeaseLost() from None
    return queued


def _origins(connection: Redis, job_ids: list[str]) -> dict[str, str]:
    """The queue each job hash names, in one round trip; jobs without a hash are left out."""
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id), "origin")
        values = pipe.execute()
    return {job_id: as_text(value) for job_id, value in zip(job_ids, values, strict=True) if value}
