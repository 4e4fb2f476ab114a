"""What workers record for ``/metrics``: how late occurrences start, and duplicate deliveries refused.

Workers are separate processes (and the default RQ worker forks a process per
job), so an in-process counter would die with the job. Each figure is kept in
Redis instead, as a histogram in one hash per trigger kind (one field per bucket,
plus ``sum`` and ``count``), written with HINCRBY in one pipelined round trip.
The web process reads the hashes at scrape time (:mod:`rqflow.observability.collector`).

Recording a metric must never fail or hold up a run: Redis gets a short timeout
here, and any error is logged at debug level and forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError

from rqflow.settings import get_settings

log = logging.getLogger(__name__)

LATENESS_KEY = "rqflow:metrics:lateness:"  # + trigger kind
COUNTERS_KEY = "rqflow:metrics:counters"
DUPLICATES_FIELD = "duplicates_suppressed"
# Model calls' tokens and cost: field "<kind>\t<model>" (kind: prompt | completion | cost_usd).
LLM_KEY = "rqflow:metrics:llm"
# Upper bounds in seconds: on-time starts land below 1 s; catch-up and buffered runs run minutes to hours late.
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
INF = "+Inf"
# A metric waits at most this long for Redis; a run is worth more than its metric.
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Histogram:
    """A histogram as Prometheus wants it: cumulative ``(upper bound, count)`` pairs, the sum and the count."""

    buckets: list[tuple[str, float]]
    sum: float
    count: float


def record_start(*, scheduled_for: datetime | None, started_at: datetime, trigger_kind: str,
                 connection: Redis | None = None) -> None:
    """Count a run that started ``started_at - scheduled_for`` late (nothing if no run started)."""
    if scheduled_for is None:
        return
    _send(lambda pipe: queue_start(pipe, scheduled_for=scheduled_for, started_at=started_at,
                                   trigger_kind=trigger_kind), connection)


def queue_start(pipe: Pipeline, *, scheduled_for: datetime, started_at: datetime, trigger_kind: str) -> None:
    """Add the commands that count one start to ``pipe`` (the caller executes it)."""
    seconds = max(0.0, (started_at - scheduled_for).total_seconds())
    key = LATENESS_KEY + trigger_kind
    pipe.hincrby(key, bucket_field(seconds), 1)
    pipe.hincrbyfloat(key, "sum", seconds)
    pipe.hincrby(key, "count", 1)


def record_duplicate(connection: Redis | None = None) -> None:
    """Count a delivery the exactly-once claim refused (stale, or already claimed)."""
    _send(lambda pipe: pipe.hincrby(COUNTERS_KEY, DUPLICATES_FIELD, 1), connection)


def record_llm_usage(connection: Redis, *, model: str, prompt_tokens: int, completion_tokens: int,
                     cost_usd: float) -> None:
    """Add one model call's tokens and cost to the totals ``/metrics`` reports."""
    def write(pipe: Pipeline) -> None:
        pipe.hincrby(LLM_KEY, f"prompt\t{model}", prompt_tokens)
        pipe.hincrby(LLM_KEY, f"completion\t{model}", completion_tokens)
        pipe.hincrbyfloat(LLM_KEY, f"cost_usd\t{model}", cost_usd)

    _send(write, connection)


def read_llm_usage(connection: Redis) -> dict[tuple[str, str], float]:
    """``(kind, model) -> total`` of every model call recorded so far."""
    stored = connection.hgetall(LLM_KEY)
    totals: dict[tuple[str, str], float] = {}
    for field, value in stored.items():
        kind, _, model = _text(field).partition("\t")
        totals[(kind, model)] = float(_text(value))
    return totals


def bucket_field(seconds: float) -> str:
    """The field of the smallest bucket holding ``seconds`` (buckets are stored per bucket, not cumulative)."""
    return next((_label(bound) for bound in LATENESS_BUCKETS if seconds <= bound), INF)


def _label(bound: float) -> str:
    return repr(float(bound))


def _send(write: Callable[[Pipeline], object], connection: Redis | None) -> None:
    try:
        with (connection or _connection()).pipeline(transaction=True) as pipe:  # all fields or none
            write(pipe)
            pipe.execute()
    except (RedisError, OSError) as exc:
        log.debug("metric not recorded: %s", exc)


@lru_cache(maxsize=4)
def _client(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)


def _connection() -> Redis:
    """A client of the configured Redis with short timeouts, shared by the process."""
    return _client(get_settings().redis_url)


# -- reading, for the collector -----------------------------------------------------------------


def read_lateness(connection: Redis, trigger_kinds: Iterable[str]) -> dict[str, Histogram]:
    """The lateness histogram of each trigger kind, in one round trip."""
    kinds = list(trigger_kinds)
    with connection.pipeline(transaction=False) as pipe:
        for kind in kinds:
            pipe.hgetall(LATENESS_KEY + kind)
        hashes = pipe.execute()
    return {kind: _histogram(stored) for kind, stored in zip(kinds, hashes, strict=True)}


def read_duplicates(connection: Redis) -> int:
    """How many deliveries the claim refused, since Redis last lost its data."""
    return int(connection.hget(COUNTERS_KEY, DUPLICATES_FIELD) or 0)


def _histogram(stored: dict[bytes | str, bytes | str]) -> Histogram:
    values = {_text(field): float(value) for field, value in stored.items()}
    running, buckets = 0.0, []
    for label in [*(_label(bound) for bound in LATENESS_BUCKETS), INF]:
        running += values.get(label, 0.0)
        buckets.append((label, running))
    return Histogram(buckets=buckets, sum=values.get("sum", 0.0), count=values.get("count", 0.0))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
