"""Dispatch: how long until N occurrences due at once are all on the RQ queue, beside bare rq-scheduler.

Prints figures; asserts nothing. Usage::

    python bench/dispatch.py --count 1000
    python bench/dispatch.py --count 10000

Each measurement starts from an empty redis-server of its own (on a free port):
N one-shot timers due one second ago, then one tick. rqflow's tick is
``RqflowScheduler.enqueue_jobs`` (pipelined batches); the peer is bare
rq-scheduler's ``Scheduler.enqueue_jobs`` over the same N entries registered with
``enqueue_at``, as a plain rq-scheduler deployment would hold them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from rq import Queue
from rq_scheduler import Scheduler

from rqflow.broker.timers import Timer, TimerOptions, arm
from rqflow.local_redis import start_redis_server
from rqflow.scheduler.process import RqflowScheduler
from rqflow.settings import Settings
from tests.helpers import free_port

QUEUE = "bench"


def arm_rqflow(redis: Redis, count: int) -> None:
    """N rqflow timers (one per schedule), due a second ago."""
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    options = TimerOptions(queue_name=QUEUE, job_timeout=600, result_ttl=3600)
    arm(redis, (Timer(f"bench-{i}", due, due) for i in range(count)), options)


def arm_peer(redis: Redis, count: int) -> None:
    """The same N entries through rq-scheduler's own API, one call each (not timed)."""
    scheduler = Scheduler(queue_name=QUEUE, connection=redis)
    due = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(count):
        scheduler.enqueue_at(due, "json.dumps", i, job_id=f"peer-{i}")


def tick_rqflow(redis: Redis, workdir: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{workdir / 'unused.db'}", queue=QUEUE)
    scheduler = RqflowScheduler(connection=redis, settings=settings)
    scheduler.lease.hold()  # only the lease holder moves timers
    scheduler.enqueue_jobs()


def tick_peer(redis: Redis, workdir: Path) -> None:
    Scheduler(queue_name=QUEUE, connection=redis).enqueue_jobs()


def measure(redis: Redis, workdir: Path, count: int, prepare: Callable[[Redis, int], None],
            tick: Callable[[Redis, Path], None]) -> float:
    """Seconds from the tick's start until all N jobs are on the queue."""
    redis.flushall()
    prepare(redis, count)
    queue = Queue(QUEUE, connection=redis)
    started = time.perf_counter()
    tick(redis, workdir)
    elapsed = time.perf_counter() - started
    if queue.count != count:
        raise RuntimeError(f"expected {count} queued jobs, found {queue.count}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        server = start_redis_server(port, workdir)
        try:
            redis = Redis(port=port)
            ours = [measure(redis, workdir, args.count, arm_rqflow, tick_rqflow) for _ in range(args.repeat)]
            peer = [measure(redis, workdir, args.count, arm_peer, tick_peer) for _ in range(args.repeat)]
        finally:
            server.terminate()
            server.wait(timeout=10)
    ours_median, peer_median = statistics.median(ours), statistics.median(peer)
    print(f"dispatch of {args.count} occurrences due at once (median of {args.repeat}):")
    print(f"  rqflow tick                {ours_median:7.3f} s  ({args.count / ours_median:9.0f} jobs/s)")
    print(f"  rq-scheduler enqueue_jobs  {peer_median:7.3f} s  ({args.count / peer_median:9.0f} jobs/s)")
    print(f"  ratio rqflow / peer        {ours_median / peer_median:.3f}  (speed-up x{peer_median / ours_median:.1f})")


if __name__ == "__main__":
    main()
