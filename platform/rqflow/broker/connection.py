"""Redis connections and the RQ queue, built from settings."""

from __future__ import annotations

from functools import lru_cache

import redis
from redis import Redis
from redis.driver_info import DriverInfo
from redis.exceptions import RedisError
from rq import Queue

from rqflow.settings import get_settings

# What a call to Redis raises when Redis is away or answers an error (callers above the broker catch this).
BrokerError = RedisError


@lru_cache(maxsize=4)
def get_redis(url: str | None = None) -> Redis:
    """A shared client for ``url`` (default: the configured one); redis-py pools connections itself.

    The driver's version is given, not looked up: redis-py otherwise reads its package
    metadata from disk for every new connection, 2 ms in each forked work horse.
    """
    return Redis.from_url(url or get_settings().redis_url, health_check_interval=30, socket_timeout=10,
                          socket_connect_timeout=5, driver_info=DriverInfo(lib_version=redis.__version__))


def get_queue(connection: Redis | None = None, *, bulk: bool = False) -> Queue:
    """The queue of scheduled occurrences, or (``bulk``) the one of manual runs and backfills."""
    settings = get_settings()
    return Queue(settings.bulk_queue if bulk else settings.queue, connection=connection or get_redis())


def worker_queues(connection: Redis | None = None) -> list[Queue]:
    """What a worker listens to, in order: RQ takes from the first queue that has a job, so scheduled
    occurrences never wait behind anyone's bulk work (at most behind the one job a worker is running)."""
    return [get_queue(connection), get_queue(connection, bulk=True)]


def ping(url: str) -> None:
    """Check that Redis answers (raises :data:`BrokerError` or OSError)."""
    get_redis(url).ping()

