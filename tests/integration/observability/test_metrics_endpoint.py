"""``GET /metrics`` against the real database and Redis: the exposed counts equal the ledger's.

The ledger is written through the real services and the worker's task (run
in-process, as RQ would): succeeded, failed, skipped, missed, enqueued and
manual rows, plus a duplicate delivery the claim refuses.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from sqlalchemy import select

from rqflow.app import create_app
from rqflow.broker.connection import get_queue
from rqflow.broker.timers import SCHEDULED_SET
from rqflow.db import session_scope
from rqflow.jobs.tasks import execute_run, execute_scheduled_trigger
from rqflow.models import Schedule, ScheduleRun, utcnow
from rqflow.services import upkeep
from rqflow.settings import Settings
from rqflow.signals import NullSignals
from tests.integration.conftest import ApiUser, make_schedule, make_workflow

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
FIRED = {"enqueued", "running", "succeeded", "failed"}


def explode(event: dict[str, Any], **kwargs: Any) -> None:
    """A python_call target that fails, for a failed run."""
    raise RuntimeError("exploded on purpose")


def lateness_of(run: ScheduleRun) -> float:
    """started_at - scheduled_for, as workers record it (an early start counts as on time)."""
    assert run.started_at is not None
    return max(0.0, (run.started_at - run.scheduled_for).total_seconds())


def scrape(client: TestClient) -> Samples:
    """GET /metrics, parsed as Prometheus would."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    families = text_string_to_metric_families(response.text)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in families for s in family.samples}


def ledger() -> list[ScheduleRun]:
    with session_scope() as db:
        return list(db.scalars(select(ScheduleRun)))


def fire_next(schedule_id: str) -> dict[str, Any]:
    """Deliver the schedule's expected occurrence to the worker's task."""
    with session_scope() as db:
        row = db.get(Schedule, schedule_id)
        assert row is not None and row.next_run_at is not None
        when = row.next_run_at
    return execute_scheduled_trigger(schedule_id, when.isoformat())


def build_ledger(client: TestClient, alice: ApiUser) -> int:
    """Rows of every outcome through the real services and task; returns how many duplicates were refused."""
    long_ago = utcnow() - timedelta(minutes=10)
    good = make_schedule(alice, make_workflow(alice), now=long_ago - timedelta(seconds=1))
    for _ in range(3):
        assert fire_next(good.id)["claimed"]  # the first is ten minutes late, the next on time
    assert execute_scheduled_trigger(good.id, good.next_run_at.isoformat()) == {"claimed": False}  # type: ignore[union-attr]

    bad_workflow = make_workflow(alice, nodes=[
        {"key": "t", "component_type": "trigger_schedule", "config": {}},
        {"key": "x", "component_type": "python_call",
         "config": {"callable": "tests.integration.observability.test_metrics_endpoint:explode"}},
    ], edges=[{"source": "t", "target": "x"}])
    bad = make_schedule(alice, bad_workflow, name="bad")
    assert fire_next(bad.id)["error"]

    paused = make_schedule(alice, make_workflow(alice), name="paused")
    with session_scope() as db:
        db.get(Schedule, paused.id).status = "paused"  # type: ignore[union-attr]
    assert fire_next(paused.id) == {"claimed": False}

    overdue = make_schedule(alice, make_workflow(alice), name="overdue", now=long_ago, catchup_policy="skip")
    with session_scope() as db:
        assert upkeep.catch_up_overdue(db, now=utcnow(), signals=NullSignals()) >= 1

    manual = client.post(f"/api/v1/schedules/{overdue.id}/trigger", headers=alice.headers)
    assert manual.status_code == 202, manual.text
    executed = client.post(f"/api/v1/schedules/{paused.id}/trigger", headers=alice.headers)
    assert executed.status_code == 202, executed.text
    execute_run(executed.json()["id"])
    return 1


def test_metrics_equal_the_ledger(settings: Settings, client: TestClient, alice: ApiUser, redis: Redis) -> None:
    duplicates = build_ledger(client, alice)
    rows = ledger()
    by_status = Counter((r.status, r.trigger_kind) for r in rows)
    # The scenario really produced every outcome, else the comparison below proves little.
    assert {s for s, _ in by_status} >= {"succeeded", "failed", "skipped", "missed", "enqueued"}, by_status
    assert {k for _, k in by_status} >= {"schedule", "manual"}

    samples = scrape(client)

    exposed = {(dict(labels)["status"], dict(labels)["trigger"]): value
               for (name, labels), value in samples.items() if name == "rqflow_occurrences" and value}
    assert exposed == dict(by_status)
    for kind in ("schedule", "manual", "backfill"):
        fired = sum(n for (status, k), n in by_status.items() if k == kind and status in FIRED)
        assert samples[("rqflow_occurrences_fired", (("trigger", kind),))] == fired

    started = [r for r in rows if r.status in {"succeeded", "failed"}]
    for kind in ("schedule", "manual"):
        mine = [r for r in started if r.trigger_kind == kind]
        late = sum(lateness_of(r) for r in mine)
        assert samples[("rqflow_fire_lateness_seconds_count", (("trigger", kind),))] == len(mine)
        assert samples[("rqflow_fire_lateness_seconds_sum", (("trigger", kind),))] == pytest.approx(late, abs=1e-3)
    assert samples[("rqflow_duplicate_deliveries_suppressed_total", ())] == duplicates

    with session_scope() as db:
        schedules = Counter(db.scalars(select(Schedule.status)))
    assert samples[("rqflow_schedules", (("status", "active"),))] == schedules["active"]
    assert samples[("rqflow_schedules", (("status", "paused"),))] == schedules["paused"]
    assert samples[("rqflow_timers_registered", ())] == redis.zcard(SCHEDULED_SET) > 0
    assert samples[("rqflow_queue_jobs", (("queue", settings.queue),))] == get_queue().count == 0
    assert samples[("rqflow_queue_jobs", (("queue", settings.bulk_queue),))] == get_queue(bulk=True).count == 1
    assert samples[("rqflow_scheduler_leader", ())] == 0
    assert samples[("rqflow_metrics_source_up", (("source", "database"),))] == 1
    assert samples[("rqflow_metrics_source_up", (("source", "redis"),))] == 1
    trigger_route = (("method", "POST"), ("route", "/api/v1/schedules/{schedule_id}/trigger"), ("status", "202"))
    assert samples[("rqflow_http_request_duration_seconds_count", trigger_route)] == 2


def test_metrics_answer_with_redis_down(settings: Settings, alice: ApiUser, unused_redis_url: str) -> None:
    make_schedule(alice, make_workflow(alice))
    with TestClient(create_app(settings.model_copy(update={"redis_url": unused_redis_url}))) as client:
        samples = scrape(client)
    assert samples[("rqflow_metrics_source_up", (("source", "redis"),))] == 0
    assert samples[("rqflow_metrics_source_up", (("source", "database"),))] == 1
    assert samples[("rqflow_schedules", (("status", "active"),))] == 1
    assert ("rqflow_timers_registered", ()) not in samples


def test_metrics_answer_with_the_database_down(settings: Settings, tmp_path: Any) -> None:
    broken = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/no/such/dir/db.sqlite"})
    with TestClient(create_app(broken)) as client:
        samples = scrape(client)
    assert samples[("rqflow_metrics_source_up", (("source", "database"),))] == 0
    assert samples[("rqflow_metrics_source_up", (("source", "redis"),))] == 1
    assert not [name for name, _ in samples if name.startswith("rqflow_occurrences")]


@pytest.fixture
def unused_redis_url() -> str:
    """A Redis URL nothing listens on."""
    from tests.helpers import free_port

    return f"redis://127.0.0.1:{free_port()}/0"
