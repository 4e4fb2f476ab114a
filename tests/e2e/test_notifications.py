"""Notifications through real web, scheduler and worker processes, on both databases.

Two one-time schedules are created through the HTTP API. The first one's run fails; its
webhook entry's receiver (a real HTTP server on loopback) answers 503 to the first try and
200 to the second, which comes about RQFLOW_NOTIFY_RETRY_SECONDS later through the
notification's own timer; each request carries a valid signature under the user's secret,
and the run was recorded failed before the first try reached the receiver. The second one's
run succeeds and its email entry's message arrives at a real SMTP server (aiosmtpd), with
the schedule's name in the subject and the run's page in the body. The API lists both
deliveries with every try, and a test notification asked for through it arrives signed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from rqflow.models import utcnow
from rqflow.notify.webhook import verify
from tests.e2e.conftest import Stack
from tests.e2e.test_http_api import create_user_token
from tests.helpers import wait_for
from tests.smtp_sink import SmtpSink
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://rqflow.example.org"


def one_time(api: httpx.Client, name: str, node_config: dict[str, Any], notify: list[dict[str, Any]]) -> str:
    """A workflow (trigger -> python_call) and a one-time schedule on it 2 s from now, through the API."""
    workflow = api.post("/api/v1/workflows", json={
        "name": name, "nodes": [{"key": "trigger", "component_type": "trigger_schedule"},
                                {"key": "effect", "component_type": "python_call", "config": node_config}],
        "edges": [{"source": "trigger", "target": "effect"}]})
    assert workflow.status_code == 201, workflow.text
    schedule = api.post("/api/v1/schedules", json={
        "name": name, "workflow_id": workflow.json()["id"], "schedule_type": "once",
        "run_at": (utcnow() + timedelta(seconds=2)).isoformat(), "notify": notify})
    assert schedule.status_code == 201, schedule.text
    return str(schedule.json()["id"])


def notifications(api: httpx.Client, schedule_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/api/v1/schedules/{schedule_id}/notifications")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def delivered(stack: Stack, api: httpx.Client, schedule_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        stack.assert_running()
        items = notifications(api, schedule_id)
        return items[0] if items and items[0]["status"] == "delivered" else None
    return wait_for(done, timeout=60, interval=0.2, what="the notification to be delivered")


def test_a_failed_run_reaches_a_webhook_on_its_second_try_and_a_success_reaches_an_smtp_server(
    stack: Stack, database_url: str
) -> None:
    with WebhookReceiver(statuses=[503]) as receiver, SmtpSink() as sink:
        stack.env.update({"RQFLOW_SMTP_URL": sink.url, "RQFLOW_SMTP_FROM": "rqflow@example.org",
                          "RQFLOW_NOTIFY_RETRY_SECONDS": "1", "RQFLOW_PUBLIC_URL": PUBLIC_URL})
        base = stack.start_all()
        token = create_user_token(stack, "alice")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
            failing = one_time(api, "e2e-notify-failing",
                               {"callable": "tests.e2e.side_effects:flaky_record", "kwargs": {"failures": 5}},
                               [{"on": ["failed"], "webhook": receiver.url}])
            succeeding = one_time(api, "e2e-notify-report", {"callable": "tests.e2e.side_effects:record"},
                                  [{"on": ["succeeded"], "email": "ops@example.com"},
                                   {"on": ["failed"], "webhook": receiver.url}])

            hooked = delivered(stack, api, failing)
            mailed = delivered(stack, api, succeeding)
            secret = api.get("/api/v1/webhook-secret").json()["secret"]
            [run] = api.get(f"/api/v1/schedules/{failing}/runs").json()["items"]
            receiver.wait_for(2, timeout=5)
            tested = api.post(f"/api/v1/schedules/{failing}/notifications/test")
            assert tested.status_code == 202, tested.text

        first, second, test = receiver.wait_for(3, timeout=30)
        [(recipients, message)] = sink.wait_for(1, timeout=5)

    assert [(t["attempt"], t["ok"], t["status_code"]) for t in hooked["tries"]] == [(1, False, 503), (2, True, 200)]
    assert (hooked["outcome"], hooked["attempts"]) == ("failed", 2)
    for request in (first, second, test):
        assert verify(secret, request.headers, request.body), request.headers
    sent = json.loads(second.body)
    assert (sent["outcome"], sent["run"]["id"], sent["run"]["status"]) == ("failed", run["id"], "failed")
    assert "fails on purpose" in sent["run"]["error"]
    assert run["status"] == "failed"
    # The run was over before its notification was first tried: sending never holds it up.
    assert datetime.fromisoformat(run["finished_at"]) <= datetime.fromisoformat(hooked["tries"][0]["started_at"])
    assert json.loads(test.body)["outcome"] == "test" and test.headers["X-Rqflow-Event"] == "test"
    assert len(receiver.received) == 3  # the succeeding schedule's failed-only entry sent nothing

    assert (mailed["channel"], mailed["outcome"], mailed["attempts"]) == ("email", "succeeded", 1)
    assert recipients == ["ops@example.com"]
    assert message["Subject"] == "[rqflow] e2e-notify-report: succeeded"
    text = message.get_content()
    assert f"{PUBLIC_URL}/ui/runs/" in text and f"{PUBLIC_URL}/ui/schedules/{succeeding}" in text
    assert '"recorded"' in text  # the output of the workflow's last node (record's answer)
