"""What workers record in Redis: lateness per bucket with its sum and count, suppressed duplicates."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from rqflow.broker.metrics import (
    INF,
    LATENESS_BUCKETS,
    bucket_field,
    read_duplicates,
    read_lateness,
    record_duplicate,
    record_start,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def redis(server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=server)


@pytest.mark.parametrize(("seconds", "field"), [
    (0.0, "0.01"), (0.01, "0.01"), (0.011, "0.05"), (1.0, "1.0"), (3600.0, "3600.0"), (3600.5, INF),
])
def test_a_lateness_falls_in_the_smallest_bucket_that_holds_it(seconds: float, field: str) -> None:
    assert bucket_field(seconds) == field


def test_lateness_is_read_back_as_a_cumulative_histogram(redis: fakeredis.FakeRedis) -> None:
    for late in (0.02, 0.3, 0.3, 7200.0):
        record_start(scheduled_for=T0, started_at=T0 + timedelta(seconds=late), trigger_kind="schedule",
                     connection=redis)
    record_start(scheduled_for=T0, started_at=T0 + timedelta(seconds=2), trigger_kind="manual", connection=redis)
    histograms = read_lateness(redis, ["schedule", "manual", "backfill"])
    schedule = histograms["schedule"]
    assert schedule.count == 4 and schedule.sum == pytest.approx(7200.62)
    cumulative = dict(schedule.buckets)
    assert (cumulative["0.01"], cumulative["0.05"], cumulative["0.5"], cumulative["3600.0"], cumulative[INF]) == (
        0, 1, 3, 3, 4)
    assert [label for label, _ in schedule.buckets] == [*(repr(float(b)) for b in LATENESS_BUCKETS), INF]
    assert (histograms["manual"].count, histograms["backfill"].count) == (1, 0)


def test_a_start_before_its_occurrence_counts_as_on_time(redis: fakeredis.FakeRedis) -> None:
    record_start(scheduled_for=T0, started_at=T0 - timedelta(seconds=1), trigger_kind="schedule", connection=redis)
    histogram = read_lateness(redis, ["schedule"])["schedule"]
    assert (histogram.sum, dict(histogram.buckets)["0.01"]) == (0.0, 1)


def test_no_run_started_records_nothing(redis: fakeredis.FakeRedis) -> None:
    record_start(scheduled_for=None, started_at=T0, trigger_kind="schedule", connection=redis)
    assert read_lateness(redis, ["schedule"])["schedule"].count == 0


def test_duplicates_are_counted(redis: fakeredis.FakeRedis) -> None:
    assert read_duplicates(redis) == 0
    record_duplicate(redis)
    record_duplicate(redis)
    assert read_duplicates(redis) == 2


def test_redis_down_never_fails_the_caller(server: fakeredis.FakeServer, redis: fakeredis.FakeRedis,
                                           caplog: pytest.LogCaptureFixture) -> None:
    server.connected = False
    with caplog.at_level(logging.DEBUG, logger="rqflow.broker.metrics"):
        record_duplicate(redis)
        record_start(scheduled_for=T0, started_at=T0, trigger_kind="schedule", connection=redis)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG, logging.DEBUG]
