"""POST /api/v1/schedules/preview on both databases: a cadence's occurrences, stored nowhere."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, in_future, make_workflow

API = "/api/v1/schedules"
PREVIEW = f"{API}/preview"
AUTUMN_EVE = "2026-10-24T00:00:00Z"  # the day before Berlin's clocks go back (2026-10-25, 03:00 -> 02:00)
# Overrides that turn the cron body below into another kind, dropping its cron_expression.
INTERVAL: dict[str, Any] = {"schedule_type": "interval", "cron_expression": None}
ONCE: dict[str, Any] = {"schedule_type": "once", "cron_expression": None}


def cron(expression: str, **overrides: Any) -> dict[str, Any]:
    return {"schedule_type": "cron", "cron_expression": expression, "timezone": "Europe/Berlin",
            "after": AUTUMN_EVE, **overrides}


def preview(client: TestClient, user: ApiUser, body: dict[str, Any], path: str = PREVIEW) -> dict[str, Any]:
    response = client.post(path, json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_fixed_time_cron_runs_once_on_the_autumn_change_at_the_first_instant(
    client: TestClient, alice: ApiUser
) -> None:
    data = preview(client, alice, cron("30 2 * * *", count=3))
    assert data["occurrences"] == [
        "2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00",
    ]
    assert data["description"] == "At 02:30 AM (Europe/Berlin)"


def test_an_hourly_cron_runs_at_both_instants_of_the_repeated_hour(
    client: TestClient, alice: ApiUser
) -> None:
    data = preview(client, alice, cron("30 * * * *", after="2026-10-24T23:00:00Z", count=4))
    assert data["occurrences"] == [
        "2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00",
    ]


def test_an_interval_counts_from_start_at_including_it(client: TestClient, alice: ApiUser) -> None:
    body = {"schedule_type": "interval", "interval_seconds": 5400, "timezone": "Europe/Berlin",
            "start_at": "2026-10-25T01:00:00+02:00", "after": AUTUMN_EVE, "count": 3}
    data = preview(client, alice, body)
    # Real seconds, not wall-clock: the repeated hour makes 01:00+02:00 -> 02:30+02:00 -> 03:00+01:00.
    assert data["occurrences"] == [
        "2026-10-25T01:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00",
    ]
    assert data["description"] == "Every 90 minutes, from 2026-10-25T01:00:00+02:00"


def test_an_interval_without_start_at_counts_from_the_whole_second_of_after(
    client: TestClient, alice: ApiUser
) -> None:
    body = {"schedule_type": "interval", "interval_seconds": 60, "after": "2026-05-01T12:00:00.750Z",
            "count": 2}
    assert preview(client, alice, body)["occurrences"] == ["2026-05-01T12:01:00Z", "2026-05-01T12:02:00Z"]


def test_end_at_cuts_the_list_short(client: TestClient, alice: ApiUser) -> None:
    data = preview(client, alice, cron("30 2 * * *", end_at="2026-10-25T12:00:00Z"))
    assert data["occurrences"] == ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00"]
    assert data["description"] == "At 02:30 AM (Europe/Berlin), until 2026-10-25T13:00:00+01:00"


def test_count_defaults_to_ten_and_allows_up_to_a_thousand(client: TestClient, alice: ApiUser) -> None:
    assert len(preview(client, alice, cron("0 * * * *"))["occurrences"]) == 10
    assert len(preview(client, alice, cron("* * * * *", count=1000))["occurrences"]) == 1000


def test_after_defaults_to_now(client: TestClient, alice: ApiUser) -> None:
    body = {"schedule_type": "once", "run_at": in_future(3600)}
    assert len(preview(client, alice, body)["occurrences"]) == 1
    past = client.post(PREVIEW, json={**body, "run_at": in_future(-60)}, headers=alice.headers)
    assert past.status_code == 422 and past.json()["field"] == "run_at"


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"cron_expression": "* * *"}, "cron_expression", "5"),
        ({"cron_expression": "61 * * * *"}, "cron_expression", "61"),
        ({"cron_expression": "0 0 31 2 *"}, "cron_expression", "never fires"),
        ({"cron_expression": None}, "cron_expression", "required"),
        ({"interval_seconds": 60}, "interval_seconds", "only for interval"),
        (INTERVAL, "interval_seconds", "required"),
        (INTERVAL | {"interval_seconds": 0}, "interval_seconds", ""),
        ({"timezone": "Mars/Phobos"}, "timezone", "Mars/Phobos"),
        (ONCE | {"run_at": "2026-10-23T23:59:59Z"}, "run_at", "past"),
        (ONCE | {"run_at": "2030-01-01T00:00:00"}, "run_at", ""),
        ({"end_at": "2026-10-23T00:00:00Z"}, "end_at", "no occurrence"),
        ({"start_at": "2026-12-01T00:00:00Z", "end_at": "2026-11-01T00:00:00Z"}, "end_at", "after start_at"),
        ({"after": "2026-10-24T00:00:00"}, "after", ""),
        ({"count": 0}, "count", ""),
        ({"count": 1001}, "count", "1000"),
        ({"name": "nightly"}, "name", ""),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    client: TestClient, alice: ApiUser, overrides: dict[str, Any], field: str, words: str
) -> None:
    response = client.post(PREVIEW, json=cron("30 2 * * *", **overrides), headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert words in response.json()["message"]


def test_spacing_below_the_minimum_is_refused_as_create_refuses_it(
    client: TestClient, alice: ApiUser, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "min_interval_seconds", 120)
    for body, field in [(cron("* * * * *"), "cron_expression"),
                        ({"schedule_type": "interval", "interval_seconds": 60}, "interval_seconds")]:
        response = client.post(PREVIEW, json=body, headers=alice.headers)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
        assert "RQFLOW_MIN_INTERVAL_SECONDS" in response.json()["message"]
    every_two_minutes = preview(client, alice, cron("*/2 * * * *", count=1))
    assert every_two_minutes["occurrences"] == ["2026-10-24T02:02:00+02:00"]


def test_a_token_is_required(client: TestClient) -> None:
    response = client.post(PREVIEW, json=cron("30 2 * * *"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "cadence",
    [
        {"schedule_type": "cron", "cron_expression": "30 2 * * *", "timezone": "Europe/Berlin"},
        {"schedule_type": "cron", "cron_expression": "*/7 * * * *", "timezone": "America/New_York"},
        {"schedule_type": "interval", "interval_seconds": 90},
        {"schedule_type": "interval", "interval_seconds": 3600, "start_at": "2026-01-01T00:00:00+05:30",
         "timezone": "Asia/Kolkata"},
        {"schedule_type": "once", "run_at": "2031-01-01T00:00:00Z", "timezone": "Pacific/Auckland"},
    ],
)
def test_preview_agrees_with_a_created_schedule_and_stores_nothing(
    client: TestClient, alice: ApiUser, cadence: dict[str, Any]
) -> None:
    created = client.post(API, json={"name": "probe", "workflow_id": make_workflow(alice), **cadence},
                          headers=alice.headers)
    assert created.status_code == 201, created.text
    before = client.get(API, headers=alice.headers).json()
    data = preview(client, alice, {**cadence, "after": created.json()["created_at"]})
    assert data["occurrences"][:5] == created.json()["next_runs"]
    assert data["description"] == created.json()["cadence"]
    assert client.get(API, headers=alice.headers).json() == before


def test_preview_is_not_taken_for_a_schedule_id_with_or_without_a_slash(
    client: TestClient, alice: ApiUser
) -> None:
    created = client.post(API, json={"name": "probe", "workflow_id": make_workflow(alice),
                                     "schedule_type": "cron", "cron_expression": "30 2 * * *"},
                          headers=alice.headers)
    schedule_id = created.json()["id"]
    body = cron("30 2 * * *", count=1)
    assert preview(client, alice, body) == preview(client, alice, body, path=PREVIEW + "/")
    assert client.get(f"{API}/{schedule_id}", headers=alice.headers).json()["name"] == "probe"
    renamed = client.patch(f"{API}/{schedule_id}/", json={"name": "renamed"}, headers=alice.headers)
    assert renamed.status_code == 200
    assert client.get(API, headers=alice.headers).json()["total"] == 1
