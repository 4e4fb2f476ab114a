"""Startup sync: how long the scheduler takes to arm N active schedules, beside bare rq-scheduler.

Prints figures; asserts nothing. Usage::

    python bench/startup_sync.py --count 10000 --database sqlite
    python bench/startup_sync.py --count 10000 --database postgres

Each run uses a fresh database and a redis-server of its own on a free port.
The peer registers the same number of entries with rq-scheduler's ``cron()``,
one call at a time, as a plain rq-scheduler deployment would at startup.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from redis import Redis
from rq_scheduler import Scheduler
from sqlalchemy import create_engine, insert, text

from rqflow.db import get_sessionmaker
from rqflow.local_redis import start_redis_server
from rqflow.migrations import upgrade
from rqflow.models import ScheduledJob, UserProfile, Workflow, utcnow
from rqflow.scheduler.sync import reconcile
from rqflow.scheduler.timers import SCHEDULED_SET, TimerOptions
from tests.helpers import free_port

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def make_database(kind: str, workdir: Path) -> str:
    """A fresh, migrated database of the given kind."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        name = f"rqflow_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


def fill(url: str, count: int) -> None:
    """Insert ``count`` active interval schedules in bulk."""
    now = utcnow().replace(microsecond=0)
    with get_sessionmaker(url)() as db:
        user = UserProfile(name="bench")
        db.add(user)
        db.flush()
        workflow = Workflow(user_profile_id=user.id, name="bench")
        db.add(workflow)
        db.flush()
        rows = [
            {"id": str(uuid.uuid4()), "name": f"s{i}", "workflow_id": workflow.id, "user_profile_id": user.id,
             "schedule_type": "interval", "interval_seconds": 3600, "timezone": "UTC", "status": "active",
             "next_run_at": now + timedelta(seconds=60 + i % 3600), "run_count": 0, "error_count": 0,
             "last_error": "", "description": "", "created_at": now, "updated_at": now}
            for i in range(count)
        ]
        db.execute(insert(ScheduledJob), rows)
        db.commit()


def time_rqflow(url: str, redis: Redis, options: TimerOptions) -> float:
    redis.flushall()
    started = time.perf_counter()
    with get_sessionmaker(url)() as db:
        report = reconcile(db, redis, options)
    elapsed = time.perf_counter() - started
    assert report.armed == redis.zcard(SCHEDULED_SET)
    return elapsed


def time_peer(redis: Redis, count: int) -> float:
    redis.flushall()
    scheduler = Scheduler(queue_name="bench", connection=redis)
    started = time.perf_counter()
    for i in range(count):
        scheduler.cron("0 * * * *", func="json.dumps", args=[i], id=f"peer-{i}", use_local_timezone=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        server = start_redis_server(port, workdir)
        try:
            redis = Redis(port=port)
            url = make_database(args.database, workdir)
            fill(url, args.count)
            options = TimerOptions(queue_name="bench", job_timeout=600, result_ttl=3600)
            ours = [time_rqflow(url, redis, options) for _ in range(args.repeat)]
            peer = [] if args.no_peer else [time_peer(redis, args.count) for _ in range(1)]
        finally:
            server.terminate()
    print(f"startup sync of {args.count} active schedules ({args.database}):")
    print(f"  rqflow reconcile      median {statistics.median(ours):7.3f} s  (runs: {', '.join(f'{x:.3f}' for x in ours)})")
    if peer:
        print(f"  rq-scheduler cron()   median {statistics.median(peer):7.3f} s  (one call per schedule)")
        print(f"  ratio rqflow / peer   {statistics.median(ours) / statistics.median(peer):.3f}")


if __name__ == "__main__":
    main()
