"""The dashboard's routes through the real app and database: sign-in, CSRF, ownership, the forms."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rqflow.app import create_app
from rqflow.db import session_scope
from rqflow.engine.runner import run_workflow
from rqflow.models import Schedule, ScheduleRun, utcnow
from rqflow.services.workflow_graphs import load_graph
from rqflow.settings import Settings, get_settings
from tests.integration.conftest import ApiUser, make_schedule, make_workflow

ORIGIN = {"Origin": "http://testserver"}


def sign_in(client: TestClient, user: ApiUser) -> None:
    """Sign in through the form; the client keeps the session cookie."""
    response = client.post("/ui/signin", data={"token": user.token}, headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303, response.text


def schedule_row(schedule_id: str) -> Schedule:
    with session_scope() as db:
        job = db.get(Schedule, schedule_id)
        assert job is not None
        db.expunge(job)
        return job


def schedule_count() -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(Schedule)) or 0


def make_run(user: ApiUser, workflow_id: int) -> int:
    """Run the workflow (trigger -> echo) in this process; return the workflow run's id."""
    with session_scope() as db:
        graph = load_graph(db, workflow_id)
        assert graph is not None
        trigger = next(node for node in graph.nodes if node.component_type == "trigger_schedule")
        run = run_workflow(db=db, graph=graph, trigger=trigger, event_type="schedule",
                           event={"scheduled_for": utcnow().isoformat(), "payload": {"note": "<script>"}},
                           owner_id=user.id)
        return run.id


def test_no_ui_route_is_in_the_api_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]


def test_pages_redirect_to_sign_in_without_a_session(client: TestClient) -> None:
    for path in ("/ui/schedules", "/ui/workflows", "/ui/schedules/new", "/ui/schedules/some-id"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/ui/signin?next=")
    response = client.post("/ui/schedules/x/pause", headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/signin")


def test_a_wrong_token_is_refused_with_a_message(client: TestClient, alice: ApiUser) -> None:
    response = client.post("/ui/signin", data={"token": "rqf_not-a-token"}, headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 401
    assert "That token is not valid" in response.text
    assert "rqflow_session" not in response.headers.get("set-cookie", "")
    assert client.get("/ui/schedules", follow_redirects=False).status_code == 303


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_clears_it(client: TestClient, alice: ApiUser) -> None:
    response = client.post("/ui/signin", data={"token": alice.token, "next": "/ui/workflows"}, headers=ORIGIN,
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/workflows"
    cookie = response.headers["set-cookie"].lower()
    assert "rqflow_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert alice.token.lower() not in cookie, "the cookie holds a session id, never the API token"
    session = client.cookies["rqflow_session"]
    page = client.get("/ui/workflows")
    assert page.status_code == 200 and "Signed in as alice." in page.text
    client.post("/ui/signout", headers=ORIGIN)
    assert client.get("/ui/schedules", follow_redirects=False).status_code == 303
    client.cookies.set("rqflow_session", session, path="/ui")  # a copy of the cookie kept from before
    assert client.get("/ui/schedules", follow_redirects=False).status_code == 303, "signing out ended it"


def test_sign_in_never_redirects_off_site(client: TestClient, alice: ApiUser) -> None:
    for target in ("https://evil.example/", "//evil.example/ui/x", "/api/v1/schedules"):
        response = client.post("/ui/signin", data={"token": alice.token, "next": target}, headers=ORIGIN,
                               follow_redirects=False)
        assert response.headers["location"] == "/ui/schedules"


def test_the_list_shows_only_the_users_schedules_with_filter_and_search(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    workflow = make_workflow(alice)
    make_schedule(alice, workflow, name="nightly-report", schedule_type="cron", cron_expression="0 3 * * *", interval_seconds=None,
                  timezone="Europe/Berlin")
    make_schedule(alice, workflow, name="minutely")
    make_schedule(bob, make_workflow(bob), name="bobs-secret")
    sign_in(client, alice)
    page = client.get("/ui/schedules").text
    assert "nightly-report" in page and "minutely" in page and "bobs-secret" not in page
    assert "At 03:00 AM" in page and "Every minute" in page
    assert "At 03:00 AM (Europe/Berlin)" not in page, "the Timezone column shows the zone"
    assert re.search(r"in \d+ (s|min|h)", page), "next run is shown relative to now"
    searched = client.get("/ui/schedules", params={"q": "night"}).text
    assert "nightly-report" in searched and "minutely" not in searched
    assert "No schedule matches" in client.get("/ui/schedules", params={"status": "paused"}).text


def test_post_without_a_matching_origin_is_refused(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    sign_in(client, alice)
    for headers in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/ui/x"},
                    {"Origin": "null"}):
        response = client.post(f"/ui/schedules/{job.id}/pause", data={"reason": "x"}, headers=headers,
                               follow_redirects=False)
        assert response.status_code == 403, headers
        assert "nothing was done" in response.text
    assert schedule_row(job.id).status == "active"
    # A same-origin Referer (a browser that sends no Origin) is accepted.
    response = client.post(f"/ui/schedules/{job.id}/pause", data={"reason": "maintenance"},
                           headers={"Referer": f"http://testserver/ui/schedules/{job.id}"}, follow_redirects=False)
    assert response.status_code == 303
    assert schedule_row(job.id).paused_reason == "maintenance"


def test_sign_in_itself_checks_the_origin(client: TestClient, alice: ApiUser) -> None:
    response = client.post("/ui/signin", data={"token": alice.token}, headers={"Origin": "https://evil.example"},
                           follow_redirects=False)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_another_users_objects_are_not_found(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    bobs_workflow = make_workflow(bob)
    bobs = make_schedule(bob, bobs_workflow)
    sign_in(client, alice)
    for path in (f"/ui/schedules/{bobs.id}", f"/ui/schedules/{bobs.id}/edit", f"/ui/workflows/{bobs_workflow}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "not found" in response.text
    for action in ("pause", "trigger", "delete"):
        response = client.post(f"/ui/schedules/{bobs.id}/{action}", headers=ORIGIN, follow_redirects=False)
        assert response.status_code == 404, action
    assert schedule_row(bobs.id).status == "active"


def test_actions_confirm_what_they_did(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    sign_in(client, alice)
    page = client.post(f"/ui/schedules/{job.id}/pause", data={"reason": "deploy <b>now</b>"}, headers=ORIGIN)
    assert "Paused: deploy &lt;b&gt;now&lt;/b&gt;" in page.text  # autoescaped
    assert 'id="paused-reason"' in page.text
    page = client.post(f"/ui/schedules/{job.id}/pause", headers=ORIGIN)  # pausing again only updates the reason
    page = client.post(f"/ui/schedules/{job.id}/resume", headers=ORIGIN)
    assert "Resumed; next run at" in page.text
    page = client.post(f"/ui/schedules/{job.id}/backfill", data={"start": "2030-01-01T00:00", "end": "2030-01-02T00:00"},
                       headers=ORIGIN)
    assert "is in the future" in page.text and "flash-error" in page.text
    history = page.text[page.text.index('id="history"'):]
    assert "pause" in history and "resume" in history and "user:alice" in history
    page = client.post(f"/ui/schedules/{job.id}/delete", headers=ORIGIN)
    assert "Deleted schedule" in page.text and page.url.path == "/ui/schedules"


def test_a_bad_cron_line_is_shown_next_to_its_field_and_nothing_is_written(
    client: TestClient, alice: ApiUser
) -> None:
    workflow = make_workflow(alice)
    sign_in(client, alice)
    before = schedule_count()
    response = client.post("/ui/schedules/new", headers=ORIGIN, data={
        "name": "broken", "workflow_id": str(workflow), "schedule_type": "cron", "cron_expression": "61 * * * *",
        "timezone": "UTC", "catchup_policy": "latest", "overlap_policy": "skip"})
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="cron_expression-error"[^>]*>([^<]+)</p>', response.text)
    assert error is not None and "61" in error.group(1)
    assert 'value="broken"' in response.text  # what was typed stays
    assert schedule_count() == before


def test_the_form_refuses_what_the_api_refuses_naming_the_field(client: TestClient, alice: ApiUser) -> None:
    workflow = make_workflow(alice)
    sign_in(client, alice)
    base = {"name": "x", "workflow_id": str(workflow), "schedule_type": "interval", "interval_seconds": "60",
            "timezone": "UTC"}
    for change, field in (({"timezone": "Mars/Olympus"}, "timezone"), ({"interval_seconds": "soon"}, "interval_seconds"),
                          ({"name": ""}, "name"), ({"max_runs": "0"}, "max_runs"),
                          ({"max_budget_per_run_usd": "1e9"}, "max_budget_per_run_usd"),
                          ({"max_budget_per_run_usd": "50"}, "max_budget_per_run_usd"),  # above the ceiling
                          ({"run_timeout_seconds": "999999"}, "run_timeout_seconds")):
        response = client.post("/ui/schedules/new", headers=ORIGIN, data={**base, **change})
        assert response.status_code == 422, change
        assert f'id="{field}-error"' in response.text, (change, response.text[:2000])
    assert schedule_count() == 0


def test_create_and_edit_through_the_form(client: TestClient, alice: ApiUser) -> None:
    workflow = make_workflow(alice)
    sign_in(client, alice)
    page = client.post("/ui/schedules/new", headers=ORIGIN, data={
        "name": "berlin-mornings", "workflow_id": str(workflow), "schedule_type": "cron",
        "cron_expression": "0 9 * * 1-5", "interval_seconds": "5", "timezone": "Europe/Berlin",
        "start_at": "2030-01-01T00:00", "catchup_policy": "skip", "overlap_policy": "skip"})
    assert page.status_code == 200 and "Created schedule &#39;berlin-mornings&#39;" in page.text
    schedule_id = page.url.path.rsplit("/", 1)[1]
    job = schedule_row(schedule_id)
    assert job.cron_expression == "0 9 * * 1-5" and job.interval_seconds is None  # the other kind's field is dropped
    assert job.start_at is not None and job.start_at.isoformat() == "2029-12-31T23:00:00+00:00"
    assert job.catchup_policy == "skip"
    form = client.get(f"/ui/schedules/{schedule_id}/edit").text
    assert 'value="2030-01-01T00:00:00"' in form and 'value="0 9 * * 1-5"' in form
    page = client.post(f"/ui/schedules/{schedule_id}/edit", headers=ORIGIN, data={
        "name": "every-ten", "schedule_type": "interval", "interval_seconds": "10", "timezone": "UTC",
        "catchup_policy": "latest", "overlap_policy": "skip"})
    assert "Saved schedule &#39;every-ten&#39; (Every 10 seconds)" in page.text
    job = schedule_row(schedule_id)
    assert (job.schedule_type, job.interval_seconds, job.cron_expression, job.start_at) == ("interval", 10, None, None)


def test_the_runs_governance_fields_through_the_form(client: TestClient, alice: ApiUser) -> None:
    workflow = make_workflow(alice)
    sign_in(client, alice)
    page = client.post("/ui/schedules/new", headers=ORIGIN, data={
        "name": "governed", "workflow_id": str(workflow), "schedule_type": "interval", "interval_seconds": "60",
        "timezone": "UTC", "run_timeout_seconds": "900", "run_retention_days": "7",
        "max_budget_per_run_usd": "0.25", "max_tokens_per_run": "20000"})
    assert page.status_code == 200, page.text[:2000]
    job = schedule_row(page.url.path.rsplit("/", 1)[1])
    assert (job.run_timeout_seconds, job.run_retention_days, job.max_budget_per_run_usd, job.max_tokens_per_run) == (
        900, 7, 0.25, 20000)


def test_the_preview_answers_what_the_api_preview_answers(client: TestClient, alice: ApiUser) -> None:
    sign_in(client, alice)
    cadence = {"schedule_type": "cron", "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
    fragment = client.post("/ui/schedules/preview", headers=ORIGIN, data=cadence).text
    api = client.post("/api/v1/schedules/preview", headers=alice.headers, json={**cadence, "count": 10}).json()
    assert api["description"] in fragment
    shown = re.findall(r'<time datetime="([^"]+)"', fragment)
    assert shown == api["occurrences"]
    bad = client.post("/ui/schedules/preview", headers=ORIGIN, data={**cadence, "cron_expression": "0 9 * *"}).text
    assert 'data-error-field="cron_expression"' in bad


@pytest.mark.parametrize("path", ["/ui/workflows"])
def test_workflow_pages_draw_the_graph(client: TestClient, alice: ApiUser, path: str) -> None:
    workflow = make_workflow(alice)
    sign_in(client, alice)
    assert "report" in client.get(path).text
    page = client.get(f"/ui/workflows/{workflow}").text
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert 'data-key="t"' in svg and 'data-key="echo"' in svg
    assert 'fill="#f59e0b"' in svg and 'fill="#10b981"' in svg  # the palette's trigger and python_call colours
    assert svg.count('class="edge edge-flow"') == 1


def test_a_workflow_page_lists_each_nodes_retry_policy(client: TestClient, alice: ApiUser) -> None:
    workflow = make_workflow(alice, retry={"max_attempts": 2, "initial_interval_seconds": 5},
                             nodes=[{"key": "t", "component_type": "trigger_schedule"},
                                    {"key": "echo", "component_type": "python_call", "timeout_seconds": 30,
                                     "retry": {"max_attempts": 4, "backoff_coefficient": 3},
                                     "config": {"callable": "tests.integration.conftest:echo"}},
                                    {"key": "again", "component_type": "python_call",
                                     "config": {"callable": "tests.integration.conftest:echo"}}],
                             edges=[{"source": "t", "target": "echo"}, {"source": "echo", "target": "again"}])
    sign_in(client, alice)
    page = client.get(f"/ui/workflows/{workflow}").text
    table = page[page.index('id="workflow-nodes"'):]
    table = table[:table.index("</table>")]
    assert "up to 4 tries, waiting 1 s, then x3 (at most 100 s)" in table
    assert "up to 2 tries, waiting 5 s, then x2 (at most 500 s) (the workflow&#39;s)" in table
    assert "<td class=\"num\">30 s</td>" in table and "server default" in table


def test_a_run_page_shows_node_inputs_and_outputs_to_its_owner_only(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    workflow = make_workflow(alice)
    run_id = make_run(alice, workflow)
    sign_in(client, bob)
    assert client.get(f"/ui/runs/{run_id}").status_code == 404
    client.post("/ui/signout", headers=ORIGIN)
    sign_in(client, alice)
    page = client.get(f"/ui/runs/{run_id}")
    assert page.status_code == 200
    assert 'data-node="echo"' in page.text and "tests.integration.conftest:echo" in page.text
    assert "&lt;script&gt;" in page.text and "<script>\"" not in page.text  # the event's payload, escaped
    assert page.text.count("node-succeeded") == 2
    assert f'href="/ui/runs/{run_id}"' in client.get(f"/ui/workflows/{workflow}").text


def test_run_now_past_the_rate_is_refused_with_a_message(
    settings: Settings, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RQFLOW_TRIGGER_RATE_LIMIT", "1/minute")
    get_settings.cache_clear()
    job = make_schedule(alice, make_workflow(alice), overlap_policy="allow")
    with TestClient(create_app(get_settings())) as client:
        sign_in(client, alice)
        first = client.post(f"/ui/schedules/{job.id}/trigger", headers=ORIGIN)
        second = client.post(f"/ui/schedules/{job.id}/trigger", headers=ORIGIN)
    get_settings.cache_clear()
    assert "Triggered a run now" in first.text
    assert "flash-error" in second.text and "RQFLOW_TRIGGER_RATE_LIMIT" in second.text
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(ScheduleRun)) == 1
