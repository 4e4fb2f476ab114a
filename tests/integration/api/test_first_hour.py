"""The first hour with the API (issue "The first hour"): what a newcomer's first requests get back.

Each test pins one answer that used to puzzle: a body sent without its JSON type, a syntax error
reported at a character offset, a path id reported as a body field, a cron line stored with the
space pasted after it, a second pause wiping the reason, workflow runs that all said "schedule",
and an empty backfill with no word on why.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from rqflow.db import session_scope
from rqflow.models import Schedule, utcnow
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, in_future, make_schedule, make_workflow

API = "/api/v1/schedules"
WEEKDAYS = {"schedule_type": "cron", "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin",
            "interval_seconds": None}


def body(workflow_id: int, **overrides: Any) -> dict[str, Any]:
    return {"name": "nightly", "workflow_id": workflow_id, "schedule_type": "cron",
            "cron_expression": "30 2 * * *", "timezone": "Europe/Berlin", **overrides}


def schedule_count() -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(Schedule)) or 0


# 1. A body without `Content-Type: application/json`.

@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"],
                         ids=["no type", "curl -d's form type", "text/plain"])
def test_a_json_body_without_its_type_is_refused_saying_which_header_to_send(
    client: TestClient, alice: ApiUser, content_type: str | None
) -> None:
    headers = {**alice.headers, **({"content-type": content_type} if content_type else {})}
    response = client.post(API, content=json.dumps(body(make_workflow(alice))), headers=headers)
    assert response.status_code == 415, response.text
    answer = response.json()
    assert answer["field"] == "body" and answer["detail"][0]["loc"] == ["body"]
    assert "Content-Type: application/json" in answer["message"]
    assert "valid dictionary" not in answer["message"]
    assert schedule_count() == 0


def test_the_same_body_with_its_type_is_read(client: TestClient, alice: ApiUser) -> None:
    headers = {**alice.headers, "content-type": "application/json; charset=utf-8"}
    response = client.post(API, content=json.dumps(body(make_workflow(alice))), headers=headers)
    assert response.status_code == 201, response.text


def test_routes_whose_body_is_optional_still_take_none_and_the_tools_want_the_type_too(
    client: TestClient, alice: ApiUser
) -> None:
    job = make_schedule(alice, make_workflow(alice))
    assert client.post(f"{API}/{job.id}/pause", headers=alice.headers).status_code == 200
    tool = client.post("/api/v1/tools/schedule_list/invoke", content=b'{"status": "paused"}',
                       headers={**alice.headers, "content-type": "application/x-www-form-urlencoded"})
    assert tool.status_code == 415 and tool.json()["field"] == "body"


# 2. Malformed JSON.

def test_malformed_json_names_the_parsers_reason_line_and_column(client: TestClient, alice: ApiUser) -> None:
    text = '{\n  "name": "nightly",\n  "workflow_id": 1\n  "schedule_type": "cron"\n}'
    response = client.post(API, content=text, headers={**alice.headers, "content-type": "application/json"})
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["message"] == "the body is not valid JSON: Expecting ',' delimiter at line 4, column 3"
    assert answer["field"] == "body" and answer["detail"][0]["loc"] == ["body"]


# 3. A body over the limit: the limit, the setting, what to do, and the field.

def test_a_body_over_the_limit_names_the_limit_and_the_setting(
    client: TestClient, alice: ApiUser, settings: Settings
) -> None:
    blob = json.dumps({**body(make_workflow(alice)), "description": "x" * settings.max_request_body_bytes})
    response = client.post(API, content=blob, headers={**alice.headers, "content-type": "application/json"})
    assert response.status_code == 413
    message = response.json()["message"]
    assert f"{settings.max_request_body_bytes:,}" in message and "RQFLOW_MAX_REQUEST_BODY_BYTES" in message
    assert response.json()["field"] == "body"


# 4. Articles in the kind messages.

@pytest.mark.parametrize(("overrides", "message"), [
    ({"schedule_type": "interval", "cron_expression": None},
     "interval_seconds is required for an interval schedule"),
    ({"cron_expression": None}, "cron_expression is required for a cron schedule"),
    ({"schedule_type": "once", "cron_expression": None}, "run_at is required for a once schedule"),
    ({"schedule_type": "interval", "interval_seconds": 60},
     "cron_expression is only for cron schedules, not for an interval schedule"),
])
def test_kind_messages_read_as_english(
    client: TestClient, alice: ApiUser, overrides: dict[str, Any], message: str
) -> None:
    response = client.post(API, json=body(make_workflow(alice), **overrides), headers=alice.headers)
    assert response.status_code == 422 and response.json()["message"] == message


# 5. An unknown id in the path is the path parameter.

def test_an_unknown_schedule_id_is_reported_at_the_path_parameter(client: TestClient, alice: ApiUser) -> None:
    requests = [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume"),
                ("POST", "/trigger"), ("GET", "/runs"), ("GET", "/history"), ("GET", "/notifications")]
    for method, tail in requests:
        kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "PATCH" else {}
        response = client.request(method, f"{API}/no-such-schedule{tail}", headers=alice.headers, **kwargs)
        assert response.status_code == 404, (method, tail, response.text)
        answer = response.json()
        assert answer["field"] == "schedule_id", (method, tail, answer)
        assert answer["detail"][0]["loc"] == ["path", "schedule_id"], (method, tail, answer)
        assert answer["message"] == "schedule no-such-schedule not found"


def test_unknown_workflow_run_and_token_ids_are_reported_at_their_path_parameters(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    theirs = make_workflow(bob)
    for path, name in [(f"/api/v1/workflows/{theirs}", "workflow_id"),
                       (f"/api/v1/workflows/{theirs}/runs", "workflow_id"),
                       ("/api/v1/workflow-runs/987654", "run_id")]:
        answer = client.get(path, headers=alice.headers).json()
        assert (answer["field"], answer["detail"][0]["loc"]) == (name, ["path", name]), (path, answer)
    token = client.delete("/api/v1/tokens/987654", headers=alice.headers)
    assert token.status_code == 404
    assert (token.json()["field"], token.json()["detail"][0]["loc"]) == ("token_id", ["path", "token_id"])


def test_a_workflow_named_in_the_body_is_still_the_body_field(client: TestClient, alice: ApiUser) -> None:
    response = client.post(API, json=body(987654), headers=alice.headers)
    assert response.status_code == 422
    assert (response.json()["field"], response.json()["detail"][0]["loc"]) == ("workflow_id", ["body", "workflow_id"])


# 6. Spaces around a cron line and a zone name.

def test_create_trims_the_cron_line_and_the_zone_but_keeps_inner_spaces(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    created = client.post(API, json=body(workflow_id, cron_expression="  0 9 * * 1-5 ", timezone=" Europe/Berlin\t"),
                          headers=alice.headers)
    assert created.status_code == 201, created.text
    assert (created.json()["cron_expression"], created.json()["timezone"]) == ("0 9 * * 1-5", "Europe/Berlin")
    with session_scope() as db:
        stored = db.get(Schedule, created.json()["id"])
        assert stored is not None and (stored.cron_expression, stored.timezone) == ("0 9 * * 1-5", "Europe/Berlin")
    inner = client.post(API, json=body(workflow_id, cron_expression="0  9 * * 1-5 "), headers=alice.headers)
    assert inner.json()["cron_expression"] == "0  9 * * 1-5"


def test_update_and_preview_trim_them_too(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice), **WEEKDAYS)
    patched = client.patch(f"{API}/{job.id}", json={"cron_expression": "*/5 * * * * ", "timezone": " UTC"},
                           headers=alice.headers)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["cron_expression"], patched.json()["timezone"]) == ("*/5 * * * *", "UTC")
    preview = client.post(f"{API}/preview", json={"schedule_type": "cron", "cron_expression": " 0 9 * * 1-5 ",
                                                  "timezone": "Europe/Berlin ", "count": 2}, headers=alice.headers)
    assert preview.status_code == 200, preview.text
    assert preview.json()["description"] == "At 09:00 AM, Monday through Friday (Europe/Berlin)"


# 7. Pausing a paused schedule.

def pause_changes(client: TestClient, user: ApiUser, schedule_id: str) -> list[dict[str, Any]]:
    items = client.get(f"{API}/{schedule_id}/history", headers=user.headers).json()["items"]
    return [item for item in items if item["action"] == "pause"]


def test_pausing_again_without_a_reason_keeps_it_and_records_nothing(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    until = in_future(3600)
    first = client.post(f"{API}/{job.id}/pause", json={"reason": "maintenance", "until": until},
                        headers=alice.headers).json()
    again = client.post(f"{API}/{job.id}/pause", headers=alice.headers)
    assert again.status_code == 200
    assert (again.json()["paused_reason"], again.json()["paused_until"]) == ("maintenance", first["paused_until"])
    assert again.json()["updated_at"] == first["updated_at"]
    assert len(pause_changes(client, alice, job.id)) == 1
    tool = client.post("/api/v1/tools/schedule_pause/invoke", json={"schedule_id": job.id}, headers=alice.headers)
    assert tool.status_code == 200 and tool.json()["result"]["paused_reason"] == "maintenance"
    assert len(pause_changes(client, alice, job.id)) == 1


def test_pausing_again_with_a_new_reason_or_until_changes_them_and_says_so(
    client: TestClient, alice: ApiUser
) -> None:
    job = make_schedule(alice, make_workflow(alice))
    client.post(f"{API}/{job.id}/pause", json={"reason": "maintenance"}, headers=alice.headers)
    later = in_future(7200)
    moved = client.post(f"{API}/{job.id}/pause", json={"until": later}, headers=alice.headers).json()
    assert moved["paused_reason"] == "maintenance"
    assert datetime.fromisoformat(moved["paused_until"]) == datetime.fromisoformat(later)
    tool = client.post("/api/v1/tools/schedule_pause/invoke", json={"schedule_id": job.id, "reason": "migration"},
                       headers=alice.headers).json()["result"]
    assert (tool["paused_reason"], tool["paused_until"] is not None) == ("migration", True)
    changes = pause_changes(client, alice, job.id)
    assert len(changes) == 3
    assert set(changes[1]["changes"]) == {"paused_until"} and changes[1]["changes"]["paused_until"]["old"] is None
    assert changes[2]["changes"] == {"paused_reason": {"old": "maintenance", "new": "migration"}}


# 8. The trigger kind of workflow runs.

def test_workflow_runs_say_what_triggered_them(
    client: TestClient, alice: ApiUser, redis: Redis, settings: Settings
) -> None:
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id, schedule_type="cron", cron_expression="0 * * * *", interval_seconds=None,
                        overlap_policy="allow")
    assert client.post(f"{API}/{job.id}/trigger", headers=alice.headers).status_code == 202
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    window = {"start": (hour - timedelta(hours=2)).isoformat(), "end": (hour - timedelta(hours=1)).isoformat()}
    assert client.post(f"{API}/{job.id}/backfill", json=window, headers=alice.headers).json()["count"] == 2
    SimpleWorker([Queue(settings.bulk_queue, connection=redis)], connection=redis).work(burst=True)

    runs = client.get(f"/api/v1/workflows/{workflow_id}/runs", headers=alice.headers).json()["items"]
    assert sorted(run["trigger_kind"] for run in runs) == ["backfill", "backfill", "manual"]
    assert {run["event_type"] for run in runs} == {"schedule"}
    one = client.get(f"/api/v1/workflow-runs/{runs[0]['id']}", headers=alice.headers).json()
    assert one["trigger_kind"] == runs[0]["trigger_kind"] == runs[0]["event"]["trigger_kind"]


# 10. A backfill that queued nothing says why.

def test_a_backfill_over_a_range_without_occurrences_says_so_with_the_cadence(
    client: TestClient, alice: ApiUser
) -> None:
    job = make_schedule(alice, make_workflow(alice), **WEEKDAYS)
    sunday = {"start": "2025-11-02T00:00:00Z", "end": "2025-11-03T00:00:00Z"}  # 09:00 Monday in Berlin is 08:00Z
    answer = client.post(f"{API}/{job.id}/backfill", json=sunday, headers=alice.headers).json()
    assert (answer["count"], answer["runs"], answer["already_recorded"]) == (0, [], 0)
    assert answer["message"] == (
        "no occurrence of this schedule falls between 2025-11-02T00:00:00+00:00 and 2025-11-03T00:00:00+00:00 "
        "(its cadence: At 09:00 AM, Monday through Friday (Europe/Berlin)); nothing was queued")


def test_a_backfill_says_how_many_occurrences_already_had_a_row(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice), schedule_type="cron", cron_expression="0 * * * *",
                        interval_seconds=None)
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    first = {"start": (hour - timedelta(hours=3)).isoformat(), "end": (hour - timedelta(hours=1)).isoformat()}
    answer = client.post(f"{API}/{job.id}/backfill", json=first, headers=alice.headers).json()
    assert (answer["count"], answer["already_recorded"]) == (3, 0)
    assert answer["message"].startswith("queued 3 occurrences between ")
    wider = {**first, "start": (hour - timedelta(hours=4)).isoformat()}
    answer = client.post(f"{API}/{job.id}/backfill", json=wider, headers=alice.headers).json()
    assert (answer["count"], answer["already_recorded"]) == (1, 3)
    assert answer["message"].endswith("; skipped 3 that already had a ledger row")
    answer = client.post(f"{API}/{job.id}/backfill", json=wider, headers=alice.headers).json()
    assert (answer["count"], answer["already_recorded"]) == (0, 4)
    assert answer["message"].endswith("(4) already has a ledger row; nothing was queued")
