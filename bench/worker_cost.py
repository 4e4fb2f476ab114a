"""Worker cost per occurrence: ``execute_scheduled_trigger`` with a one-node workflow, beside a no-op RQ job.

Prints figures; asserts nothing. Usage::

    python bench/worker_cost.py --count 500 --database sqlite --worker simple
    python bench/worker_cost.py --count 200 --database postgres --worker fork
    python bench/worker_cost.py --count 500 --database sqlite --worker pool

Both kinds of job are drained by the same worker class (or the same pool of two
SimpleWorkers, as ``rqflow worker --pool 2`` runs) in burst mode, from a
redis-server of their own: N occurrences of N schedules (each claims its
occurrence, runs a workflow whose only node is its trigger, records the run,
arms its next timer), then N jobs of ``len(())``, RQ's cheapest possible job.

It also counts, over a further batch run in this process, the SQL statements and
the transactions one occurrence costs the database.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from redis import Redis
from rq import Queue, SimpleWorker
from rq.worker import BaseWorker
from rq.worker_pool import WorkerPool
from sqlalchemy import event

from bench.common import add_schedules, fresh_database, machine, median, own_redis, print_table
from rqflow.broker.connection import get_redis
from rqflow.broker.tasks import FIRE_TASK
from rqflow.db import get_engine
from rqflow.jobs.forking_worker import ForkingWorker
from rqflow.jobs.preload import preload_job_modules, warm_statement_cache
from rqflow.models import utcnow
from rqflow.settings import get_settings

QUEUE = "bench"
COUNTED = 50  # occurrences whose statements and transactions are counted
POOL = 2  # members of the pool (--worker pool)
TASK = FIRE_TASK


def due_occurrences(url: str, count: int) -> list[tuple[str, str]]:
    """N active hourly schedules whose next occurrence is due now: (id, occurrence ISO)."""
    due = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    return [(schedule_id, due.isoformat()) for schedule_id in add_schedules(url, count, first_run=due)]


def drain(redis: Redis, worker_class: type[BaseWorker] | None,
          enqueue: Sequence[tuple[str, tuple[object, ...]]]) -> float:
    """Seconds for one burst worker (``None``: a pool of POOL SimpleWorkers) to run every job given as
    (function, args)."""
    queue = Queue(QUEUE, connection=redis)
    with redis.pipeline() as pipe:
        for func, args in enqueue:
            queue.enqueue(func, *args, result_ttl=60, pipeline=pipe)
        pipe.execute()
    started = time.perf_counter()
    if worker_class is None:  # as `rqflow worker --pool POOL` runs
        WorkerPool([queue], connection=redis, num_workers=POOL, worker_class=SimpleWorker).start(
            burst=True, logging_level="WARNING")
    else:
        worker_class([queue], connection=redis).work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    if queue.count:
        raise RuntimeError(f"{queue.count} jobs left on the queue")
    return elapsed


def database_cost(url: str, redis: Redis) -> tuple[float, float]:
    """Statements and transactions per occurrence, counted on the engine while a SimpleWorker runs COUNTED."""
    engine = get_engine(url)
    counts = {"statements": 0, "transactions": 0}

    def statement(*_: object) -> None:
        counts["statements"] += 1

    def transaction(*_: object) -> None:
        counts["transactions"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", transaction)
    try:
        drain(redis, SimpleWorker, [(TASK, pair) for pair in due_occurrences(url, COUNTED)])
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", transaction)
    return counts["statements"] / COUNTED, counts["transactions"] / COUNTED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--worker", choices=["simple", "fork", "pool"], default="simple")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    worker_class: type[BaseWorker] | None = {"simple": SimpleWorker, "fork": ForkingWorker, "pool": None}[args.worker]
    preload_job_modules()  # as `rqflow worker` does before it forks its first work horse
    ours: list[float] = []
    peer: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, own_redis(Path(tmp)) as redis:
        for _ in range(args.repeat):
            with fresh_database(args.database, Path(tmp)) as url:
                os.environ.update(RQFLOW_DATABASE_URL=url, RQFLOW_REDIS_URL=redis.url, RQFLOW_QUEUE=QUEUE)
                get_settings.cache_clear()
                preload_job_modules()  # again, now that the settings name the benchmark's queue
                warm_statement_cache(url)  # as `rqflow worker` does at start
                jobs = [(TASK, pair) for pair in due_occurrences(url, args.count)]
                # The client `rqflow worker` gives its worker, which the tasks share (one pool per horse).
                connection = get_redis()
                ours.append(drain(connection, worker_class, jobs))
                peer.append(drain(connection, worker_class, [("builtins.len", ((),))] * args.count))
                statements, transactions = database_cost(url, connection)
            redis.client.flushall()
    ours_rate, peer_rate = args.count / median(ours), args.count / median(peer)
    print_table(
        f"worker cost per occurrence: {args.count} jobs, "
        f"{worker_class.__name__ if worker_class else f'a pool of {POOL} SimpleWorkers'}, {args.database} "
        f"(median of {args.repeat}; {machine()})",
        ["job", "jobs/s", "ratio to peer"],
        [["execute_scheduled_trigger (one-node workflow)", ours_rate, ours_rate / peer_rate],
         ["no-op RQ job (len(()))", peer_rate, 1.0]],
    )
    print(f"per occurrence: {statements:.1f} SQL statements in {transactions:.1f} transactions "
          f"(counted over {COUNTED} in this process)")


if __name__ == "__main__":
    main()
