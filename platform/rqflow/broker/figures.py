"""What ``/metrics`` reads from Redis at scrape time, as plain figures: the scheduler's lease, rqflow's
timers, the queues and their workers, and what workers recorded (:mod:`rqflow.broker.metrics`).

The scheduler's lease is its heartbeat: the leader renews it on every pass of its loop,
so the lease's remaining time says how long ago the leader last got round. Queue depth
and workers are RQ's own figures (``Queue.count``, ``Worker.all``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from redis import Redis
from rq import Queue, Worker

from rqflow.broker.lease import LEASE_KEY
from rqflow.broker.metrics import Histogram, read_duplicates, read_lateness, read_llm_usage
from rqflow.broker.timers import SCHEDULED_SET
from rqflow.job_ids import FIRE_PREFIX
from rqflow.models.schedule_run import TRIGGER_KINDS
from rqflow.settings import Settings

SCRAPE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class QueueFigures:
    """One RQ queue: jobs waiting, and its workers by state."""

    name: str
    jobs: int
    workers: dict[str, int]


@dataclass(frozen=True)
class RedisFigures:
    """Everything ``/metrics`` reads from Redis in one scrape."""

    lateness: dict[str, Histogram]
    duplicates: int
    lease_remaining_seconds: float | None  # None: no scheduler holds the lease
    timers: int
    queues: list[QueueFigures]
    llm_usage: dict[tuple[str, str], float] = field(default_factory=dict)  # (kind, model) -> total


@lru_cache(maxsize=4)
def scrape_client(url: str) -> Redis:
    """A client for scrapes: a Redis that is away fails the scrape's Redis part in seconds, not minutes."""
    return Redis.from_url(url, socket_timeout=SCRAPE_TIMEOUT_SECONDS, socket_connect_timeout=SCRAPE_TIMEOUT_SECONDS)


def read_figures(connection: Redis, settings: Settings) -> RedisFigures:
    """Read the figures of rqflow's queues and trigger kinds (raises RedisError when Redis cannot be reached)."""
    return read_figures_of(connection, trigger_kinds=TRIGGER_KINDS, queues=[settings.queue, settings.bulk_queue])


def read_figures_of(connection: Redis, *, trigger_kinds: Iterable[str], queues: Iterable[str]) -> RedisFigures:
    """The figures of the given trigger kinds and queues."""
    remaining_ms = connection.pttl(LEASE_KEY)  # -2: no lease, -1: a lease without expiry (never set so)
    return RedisFigures(
        lateness=read_lateness(connection, trigger_kinds),
        duplicates=read_duplicates(connection),
        lease_remaining_seconds=remaining_ms / 1000 if remaining_ms >= 0 else (None if remaining_ms == -2 else -1.0),
        timers=_timers(connection),
        queues=[_queue(connection, name) for name in queues],
        llm_usage=read_llm_usage(connection),
    )


def _timers(connection: Redis) -> int:
    """rqflow's own entries only: other rq-scheduler jobs may share the set."""
    return sum(1 for _ in connection.zscan_iter(SCHEDULED_SET, match=f"{FIRE_PREFIX}*", count=1000))


def _name(state: object) -> str:
    """A worker state as text (RQ gives an enum of strings)."""
    return str(getattr(state, "value", state))


def _queue(connection: Redis, name: str) -> QueueFigures:
    queue = Queue(name, connection=connection)
    states = Counter(_name(worker.get_state()) for worker in Worker.all(queue=queue))
    return QueueFigures(name=name, jobs=queue.count, workers=dict(states))
