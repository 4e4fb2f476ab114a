"""Through the real HTTP API (``rqflow web``) with a token from ``rqflow user create``: runs appear,
pause stops the firing, resume restarts it."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from rqflow.broker.timers import armed
from rqflow.models import utcnow
from tests.e2e.conftest import REPO_ROOT, Stack, assert_effects_once, rqflow_command, workflow_body
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

INTERVAL = 1


def create_user_token(stack: Stack, name: str) -> str:
    """``rqflow user create NAME``; the token is the last line it prints."""
    done = subprocess.run([rqflow_command(), "user", "create", name], cwd=REPO_ROOT, env=stack.env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"rqflow user create failed:\n{done.stdout}\n{done.stderr}"
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("rqf_"), done.stdout
    return token


def runs_via_api(api: httpx.Client, schedule_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/schedules/{schedule_id}/runs", params={"limit": 500})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return list(body["items"])


def succeeded_after(api: httpx.Client, schedule_id: str, after: datetime) -> list[dict[str, Any]]:
    return [r for r in runs_via_api(api, schedule_id)
            if r["status"] == "succeeded" and datetime.fromisoformat(r["scheduled_for"]) > after]


def test_runs_pause_and_resume_through_the_http_api(stack: Stack) -> None:
    scheduler = stack.start_scheduler()
    stack.start_worker()
    base = stack.start_web()
    token = create_user_token(stack, "alice")
    stack.wait_leader()
    stack.wait_workers()

    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
        created = api.post("/api/v1/workflows", json=workflow_body("api-e2e"))
        assert created.status_code == 201, created.text
        workflow = created.json()
        trigger = next(n for n in workflow["nodes"] if n["component_type"] == "trigger_schedule")
        created = api.post("/api/v1/schedules", json={
            "name": "api-every-second", "workflow_id": workflow["id"], "trigger_node_id": trigger["id"],
            "schedule_type": "interval", "interval_seconds": INTERVAL,
        })
        assert created.status_code == 201, created.text
        schedule = created.json()
        assert schedule["status"] == "active" and len(schedule["next_runs"]) == 5
        schedule_id = schedule["id"]
        start = datetime.fromisoformat(schedule["created_at"])

        # Runs appear in the schedule's ledger and in the workflow's runs.
        def three_runs() -> list[dict[str, Any]]:
            stack.assert_running()
            done = succeeded_after(api, schedule_id, start)
            return done if len(done) >= 3 else []

        ledger = wait_for(three_runs, timeout=20, interval=0.25, what="3 succeeded runs in GET .../runs")
        # What fires is what the schedule and a preview of its cadence said would fire.
        promised = [datetime.fromisoformat(when) for when in schedule["next_runs"]]
        fired = sorted(datetime.fromisoformat(run["scheduled_for"]) for run in ledger)
        assert fired[:3] == promised[:3], (fired, promised)
        preview = api.post("/api/v1/schedules/preview", json={
            "schedule_type": "interval", "interval_seconds": INTERVAL, "after": schedule["created_at"], "count": 3})
        assert preview.status_code == 200, preview.text
        assert [datetime.fromisoformat(w) for w in preview.json()["occurrences"]] == fired[:3]
        workflow_runs = api.get(f"/api/v1/workflows/{workflow['id']}/runs", params={"limit": 500})
        assert workflow_runs.status_code == 200, workflow_runs.text
        by_schedule_run = {r["schedule_run_id"]: r for r in workflow_runs.json()["items"]}
        for run in ledger:
            assert run["trigger_kind"] == "schedule" and run["rq_job_id"].startswith("rqflow-fire-")
            assert by_schedule_run[run["id"]]["status"] == "succeeded"
            event_time = by_schedule_run[run["id"]]["event"]["scheduled_for"]
            assert datetime.fromisoformat(event_time) == datetime.fromisoformat(run["scheduled_for"])

        # Pause: the timer goes at once, and nothing due after the pause runs.
        paused = api.post(f"/api/v1/schedules/{schedule_id}/pause")
        assert paused.status_code == 200, paused.text
        paused_at = utcnow()
        assert paused.json()["status"] == "paused" and paused.json()["next_run_at"] is None
        wait_for(lambda: not [j for j in armed(stack.redis) if schedule_id in j], timeout=5,
                 what="the paused schedule's timer to be cancelled")
        time.sleep(3.5 * INTERVAL)  # let more than three occurrences' worth of time pass
        while_paused = [r for r in runs_via_api(api, schedule_id)
                        if datetime.fromisoformat(r["scheduled_for"]) > paused_at]
        assert all(r["status"] == "skipped" for r in while_paused), while_paused
        assert not [w for w, _pid in stack.effects(schedule_id) if w > paused_at]
        assert api.get(f"/api/v1/schedules/{schedule_id}").json()["status"] == "paused"

        # Resume: firing starts again from the next occurrence after now.
        resumed_at = utcnow()
        resumed = api.post(f"/api/v1/schedules/{schedule_id}/resume")
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "active"
        assert datetime.fromisoformat(resumed.json()["next_run_at"]) > resumed_at

        def three_more() -> list[dict[str, Any]]:
            stack.assert_running()
            done = succeeded_after(api, schedule_id, resumed_at)
            return done if len(done) >= 3 else []

        wait_for(three_more, timeout=20, interval=0.25, what="3 succeeded runs after resume")
        final = api.get(f"/api/v1/schedules/{schedule_id}").json()
        assert final["error_count"] == 0

    stack.stop(scheduler)  # no new firings, so the ledger can settle
    runs = stack.quiesce(schedule_id, timedelta(seconds=INTERVAL))
    instants = [r.scheduled_for for r in runs]
    assert len(instants) == len(set(instants))
    assert_effects_once(stack.effects(schedule_id), runs)
