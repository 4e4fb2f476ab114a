"""Redis connections and the RQ queue, built from settings."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue

from rqflow.settings import get_settings

# The channel on which services and workers wake the scheduler (see rqflow.scheduler.process).
WAKE_CHANNEL = "rqflow:scheduler:wake"


@lru_cache(maxsize=4)
def get_redis(url: str | None = None) -> Redis:
    """A shared client for ``url`` (default: the configured one); redis-py pools connections itself."""
    return Redis.from_url(url or get_settings().redis_url, health_check_interval=30, socket_timeout=10,
                          socket_connect_timeout=5)


def get_queue(connection: Redis | None = None) -> Queue:
    """The queue rqflow's jobs go to."""
    return Queue(get_settings().queue, connection=connection or get_redis())
