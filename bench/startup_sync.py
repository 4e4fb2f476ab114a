"""Startup sync: how long until N active schedules are armed, and the scheduler's peak memory.

Prints figures; asserts nothing. Usage::

    python bench/startup_sync.py --count 10000 --database sqlite
    python bench/startup_sync.py --count 100000 --database postgres --peer-count 10000

Two rqflow figures, from one fresh database and a redis-server of the run's own:

- ``reconcile``: the bulk sync alone (``rqflow.scheduler.sync.reconcile``), in this
  process, median of ``--repeat`` runs on an emptied Redis;
- ``rqflow scheduler``: a real scheduler process started on an empty Redis, from
  its start until every timer is in rq-scheduler's set (imports, lease, sync and
  upkeep included), with its peak resident memory (``VmHWM``) at that moment.

The peer registers the same entries with rq-scheduler's ``cron()``, one call at a
time, as a plain rq-scheduler deployment would at startup. It takes about a
millisecond a call, so for large N ``--peer-count`` measures a smaller N and
scales it linearly (the table says so).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from redis import Redis
from rq_scheduler import Scheduler

from bench.common import add_schedules, fresh_database, machine, median, own_redis, print_table
from rqflow.broker.timers import SCHEDULED_SET, TimerOptions
from rqflow.db import get_sessionmaker
from rqflow.scheduler.sync import reconcile

OPTIONS = TimerOptions(queue_name="bench", job_timeout=600, result_ttl=3600)


def time_reconcile(url: str, redis: Redis, count: int) -> float:
    """Seconds for one bulk sync of every schedule into an empty Redis."""
    redis.flushall()
    started = time.perf_counter()
    with get_sessionmaker(url)() as db:
        report = reconcile(db, redis, OPTIONS)
    elapsed = time.perf_counter() - started
    if report.armed != count or redis.zcard(SCHEDULED_SET) != count:
        raise RuntimeError(f"armed {report.armed}, set holds {redis.zcard(SCHEDULED_SET)}, expected {count}")
    return elapsed


def time_process(url: str, redis: Redis, redis_url: str, count: int) -> tuple[float, float]:
    """A real ``rqflow scheduler`` from start to all armed: (seconds, peak RSS in MB)."""
    redis.flushall()
    env = {**os.environ, "RQFLOW_DATABASE_URL": url, "RQFLOW_REDIS_URL": redis_url, "RQFLOW_QUEUE": "bench",
           "RQFLOW_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "rqflow.cli", "scheduler"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = started + 300
        while redis.zcard(SCHEDULED_SET) < count:
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"scheduler exited or timed out: {process.stderr.read() if process.stderr else ''!r}")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        return elapsed, peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size so far (Linux ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def time_peer(redis: Redis, count: int) -> float:
    """Seconds for rq-scheduler's ``cron()``, one call per entry."""
    # rq-scheduler's crontab dependency warns about its own future default on every call.
    warnings.filterwarnings("ignore", category=FutureWarning, module="rq_scheduler")
    redis.flushall()
    scheduler = Scheduler(queue_name="bench", connection=redis)
    started = time.perf_counter()
    for i in range(count):
        scheduler.cron("0 * * * *", func="json.dumps", args=[i], id=f"peer-{i}", use_local_timezone=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-count", type=int, default=None, help="measure the peer at this N and scale")
    args = parser.parse_args()
    peer_count = min(args.peer_count or args.count, args.count)
    with tempfile.TemporaryDirectory() as tmp, own_redis(Path(tmp)) as redis, \
            fresh_database(args.database, Path(tmp)) as url:
        add_schedules(url, args.count, spread_seconds=3600)
        ours = [time_reconcile(url, redis.client, args.count) for _ in range(args.repeat)]
        process = [time_process(url, redis.client, redis.url, args.count) for _ in range(args.repeat)]
        peer = time_peer(redis.client, peer_count) * args.count / peer_count
    process_seconds = median([seconds for seconds, _ in process])
    scaled = "" if peer_count == args.count else f" (measured at {peer_count}, scaled)"
    print_table(
        f"startup sync of {args.count} active schedules, {args.database} (median of {args.repeat}; {machine()})",
        ["what", "seconds", "peak RSS MB", "ratio to peer"],
        [["rqflow reconcile (bulk sync alone)", median(ours), "", median(ours) / peer],
         ["rqflow scheduler process, start to all armed", process_seconds,
          max(rss for _, rss in process), process_seconds / peer],
         [f"rq-scheduler cron(), one call each{scaled}", peer, "", 1.0]],
    )


if __name__ == "__main__":
    main()
