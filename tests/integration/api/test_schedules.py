"""/api/v1/schedules against the real database (SQLite and Postgres) and the real Redis."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from rqflow.db import session_scope
from rqflow.models import Schedule, ScheduleRun, WorkflowRun
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, in_future, make_schedule, make_workflow

API = "/api/v1/schedules"


def body(workflow_id: int, **overrides: Any) -> dict[str, Any]:
    return {"name": "nightly", "workflow_id": workflow_id, "schedule_type": "cron",
            "cron_expression": "30 2 * * *", "timezone": "Europe/Berlin", **overrides}


def count_rows(model: type) -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def test_create_returns_the_schedule_with_its_cadence_and_next_runs(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    response = client.post(API, json=body(workflow_id), headers=alice.headers)
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["status"] == "active" and data["run_count"] == 0 and data["timezone"] == "Europe/Berlin"
    assert "02:30" in data["cadence"]
    runs = [datetime.fromisoformat(value) for value in data["next_runs"]]
    assert len(runs) == 5
    assert all(run.utcoffset() in (timedelta(hours=1), timedelta(hours=2)) for run in runs)
    assert all((run.hour, run.minute) == (2, 30) or run.hour == 3 for run in runs)
    assert runs == sorted(runs) and datetime.fromisoformat(data["next_run_at"]) == runs[0]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"cron_expression": "* * *"}, "cron_expression", "5"),
        ({"cron_expression": "61 * * * *"}, "cron_expression", "61"),
        ({"cron_expression": "0 0 31 2 *"}, "cron_expression", ""),
        ({"timezone": "Mars/Phobos"}, "timezone", "Mars/Phobos"),
        ({"schedule_type": "interval", "cron_expression": None, "interval_seconds": 0}, "interval_seconds", ""),
        ({"schedule_type": "once", "cron_expression": None, "run_at": "2020-01-01T00:00:00Z"}, "run_at", "past"),
        ({"schedule_type": "once", "cron_expression": None, "run_at": "2030-01-01T00:00:00"}, "run_at", ""),
        ({"unknown": 1}, "unknown", ""),
        ({"name": ""}, "name", ""),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    client: TestClient, alice: ApiUser, overrides: dict[str, Any], field: str, words: str
) -> None:
    workflow_id = make_workflow(alice)
    response = client.post(API, json=body(workflow_id, **overrides), headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert words in response.json()["message"]
    assert count_rows(Schedule) == 0


def test_interval_below_the_minimum_names_the_limit(
    client: TestClient, alice: ApiUser, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "min_interval_seconds", 60)
    workflow_id = make_workflow(alice)
    response = client.post(API, json=body(workflow_id, cron_expression=None, schedule_type="interval",
                                          interval_seconds=30), headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["field"] == "interval_seconds"
    assert "RQFLOW_MIN_INTERVAL_SECONDS" in response.json()["message"]
    response = client.post(API, json=body(workflow_id, cron_expression="* * * * *"), headers=alice.headers)
    assert response.status_code == 201, response.text


def test_someone_elses_workflow_is_refused(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    response = client.post(API, json=body(make_workflow(alice)), headers=bob.headers)
    assert response.status_code == 422
    assert response.json()["field"] == "workflow_id"
    assert count_rows(Schedule) == 0


def test_a_missing_or_wrong_token_is_401(client: TestClient, alice: ApiUser) -> None:
    assert client.get(API).status_code == 401
    assert client.get(API, headers={"Authorization": "Bearer rqf_nope"}).status_code == 401
    assert client.get(API, headers=alice.headers).status_code == 200


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("delete", ""), ("post", "/pause"), ("post", "/resume"), ("post", "/trigger"),
     ("get", "/runs")],
)
def test_other_users_schedules_answer_404_and_stay_unchanged(
    client: TestClient, alice: ApiUser, bob: ApiUser, method: str, suffix: str
) -> None:
    job = make_schedule(alice, make_workflow(alice))
    kwargs: dict[str, Any] = {"json": {"name": "stolen"}} if method == "patch" else {}
    response = client.request(method.upper(), f"{API}/{job.id}{suffix}", headers=bob.headers, **kwargs)
    assert response.status_code == 404
    after = client.get(f"{API}/{job.id}", headers=alice.headers).json()
    assert (after["name"], after["status"]) == ("every-minute", "active")
    assert client.get(API, headers=bob.headers).json()["total"] == 0
    assert count_rows(ScheduleRun) == 0


def test_paths_work_with_and_without_a_trailing_slash(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    created = client.post(API + "/", json=body(workflow_id), headers=alice.headers)
    assert created.status_code == 201
    schedule_id = created.json()["id"]
    assert client.get(f"{API}/{schedule_id}/", headers=alice.headers).status_code == 200
    assert client.get(API + "/", headers=alice.headers).json()["total"] == 1
    assert client.post(f"{API}/{schedule_id}/pause/", headers=alice.headers).json()["status"] == "paused"


def test_list_filters_by_status_and_paginates(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    ids = [make_schedule(alice, workflow_id, name=f"s{i}").id for i in range(5)]
    client.post(f"{API}/{ids[0]}/pause", headers=alice.headers)
    page = client.get(API, params={"limit": 2, "offset": 0, "status": "active"}, headers=alice.headers).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    paused = client.get(API, params={"status": "paused"}, headers=alice.headers).json()
    assert [item["id"] for item in paused["items"]] == [ids[0]]
    assert client.get(API, params={"status": "bogus"}, headers=alice.headers).status_code == 422


def test_pause_and_resume(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    paused = client.post(f"{API}/{job.id}/pause", headers=alice.headers).json()
    assert paused["status"] == "paused" and paused["next_run_at"] is None and paused["next_runs"] == []
    assert client.post(f"{API}/{job.id}/pause", headers=alice.headers).json()["status"] == "paused"
    resumed = client.post(f"{API}/{job.id}/resume", headers=alice.headers).json()
    assert resumed["status"] == "active" and len(resumed["next_runs"]) == 5
    assert datetime.fromisoformat(resumed["next_run_at"]) > datetime.fromisoformat(paused["updated_at"])


def test_patch_changes_the_cadence_at_once(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    response = client.patch(f"{API}/{job.id}", json={"schedule_type": "cron", "cron_expression": "0 9 * * 1-5",
                                                       "timezone": "America/New_York"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["interval_seconds"] is None and data["cron_expression"] == "0 9 * * 1-5"
    first = datetime.fromisoformat(data["next_runs"][0])
    assert (first.hour, first.minute, first.weekday() < 5) == (9, 0, True)
    bad = client.patch(f"{API}/{job.id}", json={"timezone": "Nowhere/Land"}, headers=alice.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "timezone"
    assert client.get(f"{API}/{job.id}", headers=alice.headers).json()["timezone"] == "America/New_York"


def test_delete_removes_the_schedule(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    assert client.delete(f"{API}/{job.id}", headers=alice.headers).status_code == 204
    assert client.get(f"{API}/{job.id}", headers=alice.headers).status_code == 404


def test_max_runs_and_once_validation(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    once = client.post(API, json=body(workflow_id, schedule_type="once", cron_expression=None,
                                      run_at=in_future(3600)), headers=alice.headers)
    assert once.status_code == 201 and len(once.json()["next_runs"]) == 1
    assert client.post(API, json=body(workflow_id, max_runs=0), headers=alice.headers).status_code == 422


def test_trigger_runs_the_workflow_once_through_a_real_worker(
    client: TestClient, alice: ApiUser, redis: Redis, settings: Settings
) -> None:
    job = make_schedule(alice, make_workflow(alice), trigger_payload={"report": "daily"})
    response = client.post(f"{API}/{job.id}/trigger", headers=alice.headers)
    assert response.status_code == 202
    run = response.json()
    assert (run["status"], run["trigger_kind"]) == ("enqueued", "manual")
    queue = Queue(settings.bulk_queue, connection=redis)  # a manual run waits behind every scheduled occurrence
    assert queue.count == 1 and Queue(settings.queue, connection=redis).count == 0
    SimpleWorker([queue], connection=redis).work(burst=True)
    runs = client.get(f"{API}/{job.id}/runs", headers=alice.headers).json()
    assert runs["total"] == 1 and runs["items"][0]["status"] == "succeeded", runs
    assert count_rows(WorkflowRun) == 1
    # Running the same job again must not run the workflow twice.
    queue.enqueue("rqflow.jobs.tasks.execute_manual_run", run["id"])
    SimpleWorker([queue], connection=redis).work(burst=True)
    assert count_rows(WorkflowRun) == 1


def test_health(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "redis": "ok"}
