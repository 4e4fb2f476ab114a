"""Lateness: from an occurrence's instant to the moment a worker starts it, beside bare rq-scheduler.

Prints figures; asserts nothing. Usage::

    python bench/lateness.py --database sqlite postgres
    python bench/lateness.py --database postgres --steady-seconds 30 --burst 1000 --workers 2

Two scenarios, each run with real processes against a redis-server of the run's own:

- **steady**: one schedule every second for ``--steady-seconds``;
- **burst**: ``--burst`` schedules due in the same second, ``--workers`` workers; beside it,
  the time bare RQ needs to drain as many no-op jobs put on its queue at once, with as
  many idle ``rq worker`` processes waiting (no scheduler), and the ratio of the two.

rqflow runs ``rqflow scheduler`` and ``rqflow worker`` processes (forking workers,
as the Procfile does); lateness is the ledger's ``started_at - scheduled_for``,
stamped when the worker claims the occurrence. The peer is bare rq-scheduler's
own ``rqscheduler --interval 1`` and RQ's own ``rq worker`` (the same worker class)
with the same number of one-shot jobs registered with ``enqueue_at`` at the same
instants (rq-scheduler's periodic jobs re-arm at "now + interval" and drift, so
one-shots are the fair equivalent); each job records ``time.time() - due``
(``bench/peer_jobs.py``). Both sides are started, and their workers registered,
before the first instant is due.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from rq import Queue, Worker
from rq_scheduler import Scheduler
from sqlalchemy import select

from bench.common import add_schedules, fresh_database, machine, own_redis, percentile, print_table
from bench.peer_jobs import LATENESS_KEY
from rqflow.db import get_sessionmaker
from rqflow.models import ScheduleRun

QUEUE = "bench"
PEER_QUEUE = "bench-peer"
LEAD_SECONDS = 6.0  # processes start and workers register before the first instant
DEADLINE_SECONDS = 600.0


@contextmanager
def running(commands: Sequence[list[str]], env: dict[str, str], logs: Path) -> Iterator[None]:
    """Start every command, stop them all afterwards (their stderr goes to ``logs``)."""
    processes = []
    for index, command in enumerate(commands):
        log = (logs / f"{Path(command[2] if command[1] == '-m' else command[0]).name}-{index}.log").open("wb")
        processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until(condition: object, what: str, deadline: float = DEADLINE_SECONDS) -> None:
    """Poll ``condition()`` every 50 ms until true, or fail naming ``what``."""
    give_up = time.monotonic() + deadline
    while not condition():  # type: ignore[operator]
        if time.monotonic() > give_up:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def process_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of every benchmarked process."""
    return {**os.environ, "RQFLOW_DATABASE_URL": database_url, "RQFLOW_REDIS_URL": redis_url,
            "RQFLOW_QUEUE": QUEUE, "RQFLOW_MIN_INTERVAL_SECONDS": "1", "RQFLOW_LOG_LEVEL": "WARNING",
            "RQFLOW_MAX_SCHEDULES_PER_USER": "1000000", "PYTHONPATH": f"platform{os.pathsep}."}


def rqflow_lateness(kind: str, redis: Redis, redis_url: str, workdir: Path, *, count: int, every: int,
                    occurrences: int, workers: int) -> list[float]:
    """Lateness (s) of every occurrence of ``count`` schedules firing ``occurrences`` times."""
    with fresh_database(kind, workdir) as url:
        first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=LEAD_SECONDS + 1)
        add_schedules(url, count, first_run=first, interval_seconds=every)
        commands = [[sys.executable, "-m", "rqflow.cli", "scheduler"]]
        commands += [[sys.executable, "-m", "rqflow.cli", "worker"] for _ in range(workers)]
        with running(commands, process_env(url, redis_url), workdir):
            wait_until(lambda: Worker.count(connection=redis) >= workers, "rqflow workers")
            wait_until(lambda: len(started_runs(url)) >= count * occurrences, "rqflow runs")
            runs = started_runs(url)
        redis.flushall()
    last = first + timedelta(seconds=every * (occurrences - 1))
    return [(started - due).total_seconds() for due, started in runs if due <= last]


def started_runs(url: str) -> list[tuple[datetime, datetime]]:
    """(scheduled_for, started_at) of every started run in the ledger."""
    with get_sessionmaker(url)() as db:
        rows = db.execute(select(ScheduleRun.scheduled_for, ScheduleRun.started_at)
                          .where(ScheduleRun.started_at.is_not(None))).all()
    return [(due, started) for due, started in rows if started is not None]


def peer_lateness(redis: Redis, redis_url: str, workdir: Path, *, instants: list[float],
                  workers: int) -> list[float]:
    """Lateness (s) of one bare rq-scheduler one-shot job per instant (epoch seconds)."""
    scheduler = Scheduler(queue_name=PEER_QUEUE, connection=redis)
    for index, due in enumerate(instants):
        scheduler.enqueue_at(datetime.fromtimestamp(due, UTC), "bench.peer_jobs.record_lateness", due,
                             job_id=f"peer-{index}")
    bin_dir = Path(sys.executable).parent
    commands = [[str(bin_dir / "rqscheduler"), "--url", redis_url, "--interval", "1"]]
    commands += [[str(bin_dir / "rq"), "worker", "--url", redis_url, PEER_QUEUE] for _ in range(workers)]
    with running(commands, process_env("sqlite://", redis_url), workdir):
        wait_until(lambda: Worker.count(connection=redis) >= workers, "peer workers")
        wait_until(lambda: redis.llen(LATENESS_KEY) >= len(instants), "peer jobs")
    values = [float(value) for value in redis.lrange(LATENESS_KEY, 0, -1)]
    redis.flushall()
    return values


def peer_drain(redis: Redis, redis_url: str, workdir: Path, *, count: int, workers: int) -> list[float]:
    """Lateness (s) of ``count`` jobs put on a bare RQ queue at once, with ``workers`` idle ``rq worker``s waiting:
    the time bare RQ needs to drain them, with no scheduler in the way (the last one's lateness)."""
    bin_dir = Path(sys.executable).parent
    commands = [[str(bin_dir / "rq"), "worker", "--url", redis_url, PEER_QUEUE] for _ in range(workers)]
    with running(commands, process_env("sqlite://", redis_url), workdir):
        wait_until(lambda: Worker.count(connection=redis) >= workers, "peer workers")
        queue, due = Queue(PEER_QUEUE, connection=redis), time.time()
        with redis.pipeline() as pipe:
            for _ in range(count):
                queue.enqueue("bench.peer_jobs.record_lateness", due, pipeline=pipe)
            pipe.execute()
        wait_until(lambda: redis.llen(LATENESS_KEY) >= count, "peer jobs")
    values = [float(value) for value in redis.lrange(LATENESS_KEY, 0, -1)]
    redis.flushall()
    return values


def row(name: str, values: list[float]) -> list[object]:
    """One table row: p50 / p99 / max in milliseconds."""
    return [name, len(values), *(round(1000 * x) for x in
                                (percentile(values, 0.5), percentile(values, 0.99), max(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], nargs="+", default=["sqlite"])
    parser.add_argument("--steady-seconds", type=int, default=30)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    steady_name, burst_name = "steady 1/s, 1 worker", f"{args.burst} due at once, {args.workers} workers"
    rows = []
    with tempfile.TemporaryDirectory() as tmp, own_redis(Path(tmp)) as redis:
        workdir, client = Path(tmp), redis.client
        bursts: dict[str, float] = {}
        for kind in args.database:
            rows.append(row(f"{steady_name}: rqflow, {kind}", rqflow_lateness(
                kind, client, redis.url, workdir, count=1, every=1, occurrences=args.steady_seconds, workers=1)))
            burst = rqflow_lateness(kind, client, redis.url, workdir, count=args.burst, every=3600, occurrences=1,
                                    workers=args.workers)
            rows.append(row(f"{burst_name}: rqflow, {kind}", burst))
            bursts[kind] = max(burst)
        drain = peer_drain(client, redis.url, workdir, count=args.burst, workers=args.workers)
        rows.append(row(f"{args.burst} no-op jobs enqueued at once, {args.workers} rq workers (bare RQ drain)", drain))
        start = int(time.time() + LEAD_SECONDS + 1)
        rows.append(row(f"{steady_name}: rq-scheduler -i 1 + rq worker", peer_lateness(
            client, redis.url, workdir, workers=1, instants=[float(start + i) for i in range(args.steady_seconds)])))
        start = int(time.time() + LEAD_SECONDS + 1)
        rows.append(row(f"{burst_name}: rq-scheduler -i 1 + rq worker", peer_lateness(
            client, redis.url, workdir, workers=args.workers, instants=[float(start)] * args.burst)))
    print_table(f"lateness, due instant -> worker starts the job ({machine()})",
                ["scenario", "runs", "p50 ms", "p99 ms", "max ms"], rows)
    for kind, last in bursts.items():
        print(f"burst, {kind}: all {args.burst} started {last:.2f} s after the instant; bare RQ drains as many no-op "
              f"jobs in {max(drain):.2f} s: ratio {last / max(drain):.2f}")


if __name__ == "__main__":
    main()
