"""Metrics and logs of real processes: after a few runs of a 1 s schedule, ``/metrics`` equals the
ledger, and every line each process wrote is JSON, the worker's carrying the run's ids."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.models import ScheduleRun
from tests.e2e.conftest import LEASE_SECONDS, Proc, Stack

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
REQUEST_ID = "e2e-request-1"


def lateness_of(run: ScheduleRun) -> float:
    """started_at - scheduled_for, as workers record it (an early start counts as on time)."""
    assert run.started_at is not None
    return max(0.0, (run.started_at - run.scheduled_for).total_seconds())


def scrape(web: httpx.Client) -> Samples:
    response = web.get("/metrics")
    assert response.status_code == 200, response.text
    families = text_string_to_metric_families(response.text)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in families for s in family.samples}


def json_lines(proc: Proc) -> list[dict[str, Any]]:
    """Every line the process wrote, each parsed as JSON (the test fails on the first that is not)."""
    entries = []
    for number, line in enumerate(proc.log().splitlines(), start=1):
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"{proc.name} line {number} is not JSON: {line!r}")
    assert entries, f"{proc.name} wrote nothing"
    return entries


def all_runs(stack: Stack) -> list[ScheduleRun]:
    with Session(stack.observer) as db:
        return list(db.scalars(select(ScheduleRun)))


def test_metrics_equal_the_ledger_and_every_process_logs_json(stack: Stack, database_url: str) -> None:
    scheduler = stack.start_scheduler()
    worker = stack.start_worker()
    base = stack.start_web()
    stack.wait_leader()
    stack.wait_workers()
    schedule = stack.create_interval_schedule(1)
    stack.wait_succeeded(schedule, 3)

    with httpx.Client(base_url=base, timeout=10) as web:
        live = scrape(web)
        assert live[("rqflow_scheduler_leader", ())] == 1
        assert 0 <= live[("rqflow_scheduler_heartbeat_age_seconds", ())] <= LEASE_SECONDS
        for queue in (stack.queue, f"{stack.queue}-bulk"):  # the one worker listens to both queues
            workers = sum(v for (name, labels), v in live.items()
                          if name == "rqflow_workers" and ("queue", queue) in labels)
            assert workers == 1, queue
        assert web.get("/livez", headers={"X-Request-ID": REQUEST_ID}).headers["X-Request-ID"] == REQUEST_ID

        stack.stop(scheduler)  # no new firings, so the ledger and the metrics can settle
        stack.quiesce(schedule.id, schedule.interval)
        samples = scrape(web)

    runs = all_runs(stack)
    ledger = Counter((r.status, r.trigger_kind) for r in runs)
    exposed = {(dict(labels)["status"], dict(labels)["trigger"]): value
               for (name, labels), value in samples.items() if name == "rqflow_occurrences" and value}
    assert exposed == dict(ledger)
    started = [r for r in runs if r.status in {"succeeded", "failed"}]
    assert samples[("rqflow_occurrences_fired", (("trigger", "schedule"),))] == len(started) >= 3
    assert samples[("rqflow_fire_lateness_seconds_count", (("trigger", "schedule"),))] == len(started)
    lateness = pytest.approx(sum(lateness_of(r) for r in started), abs=1e-3)
    assert samples[("rqflow_fire_lateness_seconds_sum", (("trigger", "schedule"),))] == lateness
    assert samples[("rqflow_schedules", (("status", "active"),))] == 1
    assert samples[("rqflow_timers_registered", ())] == 1  # quiesce: the next occurrence's timer is armed
    assert samples[("rqflow_queue_jobs", (("queue", stack.queue),))] == 0
    assert samples[("rqflow_metrics_source_up", (("source", "database"),))] == 1
    assert samples[("rqflow_metrics_source_up", (("source", "redis"),))] == 1

    stack.stop_all()
    check_logs(stack, worker, runs, schedule.id)


def check_logs(stack: Stack, worker: Proc, runs: list[ScheduleRun], schedule_id: str) -> None:
    """Each process logged JSON only; the worker's lines about a run carry its ids; the web's its request id."""
    logs = {proc.name: json_lines(proc) for proc in stack.procs}
    assert any("is now the leader" in e["message"] for e in logs["scheduler-1"])
    about_runs = [e for e in logs[worker.name] if "run_id" in e]
    ids = {r.id: r for r in runs}
    assert {e["run_id"] for e in about_runs} == {r.id for r in runs if r.status in {"succeeded", "failed"}}
    for entry in about_runs:
        run = ids[entry["run_id"]]
        assert entry["schedule_id"] == schedule_id and entry["rq_job_id"] == run.rq_job_id
        assert entry["scheduled_for"] == run.scheduled_for.isoformat()
    assert any(e["logger"].startswith("rq.worker") for e in logs[worker.name])  # RQ's own lines, as JSON
    assert any(e.get("request_id") == REQUEST_ID and e["logger"] == "uvicorn.access" for e in logs["web-1"])
    assert not [e for e in logs["web-1"] if "color_message" in e]
