"""Worker cost per occurrence: ``execute_scheduled_trigger`` with a one-node workflow, beside a no-op RQ job.

Prints figures; asserts nothing. Usage::

    python bench/worker_cost.py --count 500 --database sqlite --worker simple
    python bench/worker_cost.py --count 200 --database postgres --worker fork

Both kinds of job are drained by the same worker class in burst mode, from a
redis-server of their own: N occurrences of N schedules (each claims its
occurrence, runs a workflow whose only node is its trigger, records the run,
arms its next timer), then N jobs of ``len(())``, RQ's cheapest possible job.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from redis import Redis
from rq import Queue, SimpleWorker, Worker
from sqlalchemy import create_engine, insert, text

from rqflow.db import get_sessionmaker
from rqflow.local_redis import start_redis_server
from rqflow.migrations import upgrade
from rqflow.models import ScheduledJob, UserProfile, Workflow, WorkflowNode, utcnow
from rqflow.settings import get_settings
from tests.helpers import free_port

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
QUEUE = "bench"
TASK = "rqflow.jobs.tasks.execute_scheduled_trigger"


def make_database(kind: str, workdir: Path) -> tuple[str, str | None]:
    """A fresh, migrated database; the PostgreSQL one's name, to drop afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade(url)
        return url, None
    name = f"rqflow_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    return url, name


def drop_database(name: str | None) -> None:
    if name is not None:
        with create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def due_schedules(url: str, count: int) -> list[tuple[str, str]]:
    """N active hourly schedules whose next occurrence is due now: (id, occurrence ISO)."""
    due = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    with get_sessionmaker(url)() as db:
        user = UserProfile(name="bench")
        db.add(user)
        db.flush()
        workflow = Workflow(user_profile_id=user.id, name="bench",
                            nodes=[WorkflowNode(key="t", component_type="trigger_schedule", config={})])
        db.add(workflow)
        db.flush()
        rows = [{"id": str(uuid.uuid4()), "name": f"s{i}", "workflow_id": workflow.id, "user_profile_id": user.id,
                 "schedule_type": "interval", "interval_seconds": 3600, "start_at": due, "timezone": "UTC",
                 "status": "active", "next_run_at": due, "run_count": 0, "error_count": 0, "last_error": "",
                 "description": "", "created_at": due, "updated_at": due} for i in range(count)]
        db.execute(insert(ScheduledJob), rows)
        db.commit()
    return [(row["id"], due.isoformat()) for row in rows]


def drain(redis: Redis, worker_class: type[Worker], enqueue: list[tuple[str, tuple[object, ...]]]) -> float:
    """Seconds for one burst worker to run every job given as (function, args)."""
    queue = Queue(QUEUE, connection=redis)
    with redis.pipeline() as pipe:
        for func, args in enqueue:
            queue.enqueue(func, *args, result_ttl=60, pipeline=pipe)
        pipe.execute()
    started = time.perf_counter()
    worker_class([queue], connection=redis).work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    if queue.count:
        raise RuntimeError(f"{queue.count} jobs left on the queue")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--worker", choices=["simple", "fork"], default="simple")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    worker_class = SimpleWorker if args.worker == "simple" else Worker
    ours: list[float] = []
    peer: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        server = start_redis_server(port, workdir)
        try:
            redis = Redis(port=port)
            for attempt in range(args.repeat):
                (workdir / str(attempt)).mkdir()
                url, name = make_database(args.database, workdir / str(attempt))
                os.environ.update(RQFLOW_DATABASE_URL=url, RQFLOW_REDIS_URL=f"redis://127.0.0.1:{port}/0",
                                  RQFLOW_QUEUE=QUEUE)
                get_settings.cache_clear()
                try:
                    jobs = [(TASK, pair) for pair in due_schedules(url, args.count)]
                    ours.append(drain(redis, worker_class, jobs))
                    peer.append(drain(redis, worker_class, [("builtins.len", ((),))] * args.count))
                finally:
                    drop_database(name)
                    redis.flushall()
        finally:
            server.terminate()
            server.wait(timeout=10)
    ours_rate, peer_rate = args.count / statistics.median(ours), args.count / statistics.median(peer)
    print(f"worker cost per occurrence ({args.count} jobs, {worker_class.__name__}, {args.database}, "
          f"median of {args.repeat}):")
    print(f"  execute_scheduled_trigger  {ours_rate:8.1f} jobs/s")
    print(f"  no-op RQ job               {peer_rate:8.1f} jobs/s")
    print(f"  ratio rqflow / peer        {ours_rate / peer_rate:.3f}")


if __name__ == "__main__":
    main()
