"""Figures read from Redis at scrape time: worker-recorded metrics, the scheduler, timers, queue and workers.

The scheduler's lease (:mod:`rqflow.scheduler.lease`) is its heartbeat: the
leader renews it on every pass of its loop, so the lease's remaining time says
how long ago the leader last got round. Queue depth and workers are RQ's own
figures (``Queue.count``, ``Worker.all``).
"""

from __future__ import annotations

from collections import Counter

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from redis import Redis
from rq import Queue, Worker

from rqflow.jobs.ids import FIRE_PREFIX
from rqflow.models.schedule_run import TRIGGER_KINDS
from rqflow.observability.firing import read_duplicates, read_lateness
from rqflow.scheduler.lease import LEASE_KEY
from rqflow.scheduler.timers import SCHEDULED_SET
from rqflow.settings import Settings

# Always reported, so dashboards see a zero rather than no series.
WORKER_STATES = ("busy", "idle")


def redis_metrics(connection: Redis, settings: Settings) -> list[Metric]:
    """Everything ``/metrics`` reads from Redis."""
    return [*_firing(connection), *_scheduler(connection, settings), _timers(connection),
            *_queues(connection, [settings.queue, settings.bulk_queue])]


def _firing(connection: Redis) -> list[Metric]:
    lateness = HistogramMetricFamily(
        "rqflow_fire_lateness_seconds",
        "How late runs started (started_at - scheduled_for), by trigger kind; recorded by workers in Redis.",
        labels=["trigger"])
    for kind, histogram in read_lateness(connection, TRIGGER_KINDS).items():
        lateness.add_metric([kind], histogram.buckets, histogram.sum)
    duplicates = CounterMetricFamily(
        "rqflow_duplicate_deliveries_suppressed",
        "Deliveries of an occurrence the exactly-once claim refused (stale or already claimed); kept in Redis.",
        value=read_duplicates(connection))
    return [lateness, duplicates]


def _scheduler(connection: Redis, settings: Settings) -> list[Metric]:
    remaining_ms = connection.pttl(LEASE_KEY)  # -2: no lease, -1: a lease without expiry (never set so)
    leader = GaugeMetricFamily("rqflow_scheduler_leader", "1 while a scheduler process holds the lease, else 0.",
                               value=1 if remaining_ms != -2 else 0)
    if remaining_ms < 0:
        return [leader]
    age = GaugeMetricFamily(
        "rqflow_scheduler_heartbeat_age_seconds",
        "Seconds since the leading scheduler last renewed its lease (RQFLOW_LEASE_SECONDS minus its time left).",
        value=max(0.0, settings.lease_seconds - remaining_ms / 1000))
    return [leader, age]


def _timers(connection: Redis) -> Metric:
    """rqflow's own entries only: other rq-scheduler jobs may share the set."""
    count = sum(1 for _ in connection.zscan_iter(SCHEDULED_SET, match=f"{FIRE_PREFIX}*", count=1000))
    return GaugeMetricFamily("rqflow_timers_registered",
                             "rqflow's timers in rq-scheduler's sorted set; compare with "
                             "rqflow_schedules{status=\"active\"}.", value=count)


def _queues(connection: Redis, names: list[str]) -> list[Metric]:
    """Depth and workers of the scheduled queue and the bulk one (manual runs, backfills)."""
    depth = GaugeMetricFamily("rqflow_queue_jobs", "Jobs waiting on the RQ queue (Queue.count).", labels=["queue"])
    workers = GaugeMetricFamily("rqflow_workers", "RQ workers listening on the queue, by state (Worker.all).",
                                labels=["queue", "state"])
    for name in names:
        queue = Queue(name, connection=connection)
        depth.add_metric([name], queue.count)
        states = Counter(worker.get_state() for worker in Worker.all(queue=queue))
        for state in [*WORKER_STATES, *sorted(set(states) - set(WORKER_STATES))]:
            workers.add_metric([name, state], states.get(state, 0))
    return [depth, workers]
