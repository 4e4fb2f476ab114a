"""The scrape-time collector: Redis figures from fakeredis, and a source that is down costs only its figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, create_engine

from rqflow.broker.figures import read_figures
from rqflow.broker.lease import LEASE_KEY
from rqflow.broker.metrics import record_duplicate, record_start
from rqflow.broker.timers import SCHEDULED_SET
from rqflow.migrations import upgrade
from rqflow.observability.collector import RqflowCollector
from rqflow.settings import Settings

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def noop() -> None:
    """A job for the queue."""


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(settings: Settings, *, engine: Engine, redis: Redis) -> Samples:
    registry = CollectorRegistry()
    registry.register(RqflowCollector(settings, engine=lambda: engine, redis=lambda: read_figures(redis, settings)))
    return _samples(text_string_to_metric_families(generate_latest(registry).decode()))


def _samples(families: Iterable[Metric]) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in families for s in family.samples}


@pytest.fixture
def settings() -> Settings:
    return Settings(queue="q1", lease_seconds=15)


@pytest.fixture
def broken_engine(tmp_path: Path) -> Engine:
    """A database that cannot be opened."""
    return create_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite")


def test_redis_figures(settings: Settings, broken_engine: Engine) -> None:
    redis = fakeredis.FakeRedis()
    redis.set(LEASE_KEY, "token", px=12_000)
    redis.zadd(SCHEDULED_SET, {"rqflow-fire-a-1": 1, "rqflow-fire-b-1": 2, "someone-elses-job": 3})
    Queue("q1", connection=redis).enqueue(noop)
    record_start(scheduled_for=T0, started_at=T0 + timedelta(seconds=0.2), trigger_kind="schedule", connection=redis)
    record_duplicate(redis)

    samples = _scrape(settings, engine=broken_engine, redis=redis)

    assert samples[("rqflow_scheduler_leader", ())] == 1
    assert samples[("rqflow_scheduler_heartbeat_age_seconds", ())] == pytest.approx(3, abs=1)
    assert samples[("rqflow_timers_registered", ())] == 2, "another rq-scheduler user's entry is not rqflow's"
    assert samples[("rqflow_queue_jobs", (("queue", "q1"),))] == 1
    assert samples[("rqflow_workers", (("queue", "q1"), ("state", "busy")))] == 0
    assert samples[("rqflow_fire_lateness_seconds_count", (("trigger", "schedule"),))] == 1
    assert samples[("rqflow_fire_lateness_seconds_bucket", (("le", "0.25"), ("trigger", "schedule")))] == 1
    assert samples[("rqflow_fire_lateness_seconds_bucket", (("le", "0.1"), ("trigger", "schedule")))] == 0
    assert samples[("rqflow_duplicate_deliveries_suppressed_total", ())] == 1


def test_a_database_that_is_down_reports_redis_and_says_so(settings: Settings, broken_engine: Engine) -> None:
    samples = _scrape(settings, engine=broken_engine, redis=fakeredis.FakeRedis())
    assert samples[("rqflow_metrics_source_up", (("source", "database"),))] == 0
    assert samples[("rqflow_metrics_source_up", (("source", "redis"),))] == 1
    assert not [name for name, _ in samples if name.startswith("rqflow_occurrences")]
    assert samples[("rqflow_scheduler_leader", ())] == 0
    assert ("rqflow_scheduler_heartbeat_age_seconds", ()) not in samples


def test_a_redis_that_is_down_reports_the_database_and_says_so(settings: Settings, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ok.db"
    upgrade(url)
    server = fakeredis.FakeServer()
    server.connected = False
    samples = _scrape(settings, engine=create_engine(url), redis=fakeredis.FakeRedis(server=server))
    assert samples[("rqflow_metrics_source_up", (("source", "database"),))] == 1
    assert samples[("rqflow_metrics_source_up", (("source", "redis"),))] == 0
    assert samples[("rqflow_occurrences", (("status", "succeeded"), ("trigger", "schedule")))] == 0
    assert samples[("rqflow_schedules", (("status", "active"),))] == 0
    assert ("rqflow_timers_registered", ()) not in samples
