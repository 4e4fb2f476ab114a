"""The first hour with the dashboard (issue "The first hour"): the icon, the list's columns, the form's
default workflow, and what started each workflow run."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from rqflow.db import session_scope
from rqflow.engine.runner import run_workflow
from rqflow.events import ScheduleEvent, ScheduleTarget
from rqflow.models import ScheduleRun, utcnow
from rqflow.services.workflow_graphs import load_graph
from tests.integration.conftest import ApiUser, make_schedule, make_workflow
from tests.integration.ui.test_dashboard import sign_in


def table(page: str, table_id: str) -> str:
    """The body of one table of a page."""
    start = page.index(f'id="{table_id}"')
    return page[start:page.index("</table>", start)]


def cells(row: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.DOTALL)


def test_every_page_links_an_icon_that_is_served_and_favicon_ico_answers(client: TestClient, alice: ApiUser) -> None:
    pages = [client.get("/ui/signin").text]
    sign_in(client, alice)
    pages.append(client.get("/ui/schedules").text)
    for page in pages:
        link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
        assert link is not None
        icon = client.get(link.group(1))
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("image/svg+xml")
    assert legacy.content == client.get("/ui/static/favicon.svg").content
    assert "/favicon.ico" not in client.get("/openapi.json").json()["paths"]


def test_the_list_leaves_the_zone_to_its_column_and_shows_when_the_last_run_was(
    client: TestClient, alice: ApiUser
) -> None:
    job = make_schedule(alice, make_workflow(alice), schedule_type="cron", cron_expression="0 3 * * *",
                        interval_seconds=None, timezone="Europe/Berlin")
    with session_scope() as db:
        db.add(ScheduleRun(scheduled_job_id=job.id, scheduled_for=utcnow() - timedelta(hours=2, minutes=5),
                           trigger_kind="schedule", status="succeeded", created_at=utcnow()))
    sign_in(client, alice)
    page = client.get("/ui/schedules").text
    row = table(page, "schedules").split(f'data-schedule-id="{job.id}"')[1].split("</tr>")[0]
    _name, cadence, zone, _status, _next, last, _missed = cells(row)
    assert cadence == "At 03:00 AM" and zone == "Europe/Berlin"
    assert "badge-succeeded" in last and "<time datetime=" in last and "2 h ago" in last


def test_a_schedule_without_runs_shows_a_dash_as_its_last_run(client: TestClient, alice: ApiUser) -> None:
    make_schedule(alice, make_workflow(alice))
    sign_in(client, alice)
    last = cells(table(client.get("/ui/schedules").text, "schedules").split("<tbody>")[1])[5]
    assert last == '<span class="muted">—</span>'


def test_the_new_schedule_form_preselects_the_only_workflow(client: TestClient, alice: ApiUser) -> None:
    only = make_workflow(alice)
    sign_in(client, alice)
    form = client.get("/ui/schedules/new").text
    assert f'<option value="{only}" selected>' in form
    other = make_workflow(alice, name="second")
    form = client.get("/ui/schedules/new").text
    assert " selected>#" not in form, "with two workflows the user chooses"
    assert f'<option value="{other}" selected>' in client.get(f"/ui/schedules/new?workflow_id={other}").text


def test_the_workflow_page_shows_what_triggered_each_run(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id)
    with session_scope() as db:
        graph = load_graph(db, workflow_id)
        assert graph is not None
        target = ScheduleTarget(job.id, job.name, workflow_id)
        for kind in ("schedule", "manual", "backfill"):
            event = ScheduleEvent(target=target, scheduled_for=utcnow(), fired_at=utcnow(), trigger_kind=kind, run_id=1)
            run_workflow(db=db, graph=graph, trigger=graph.node("t"), event_type="schedule", event=event.as_dict(),
                         owner_id=alice.id)
    sign_in(client, alice)
    runs = table(client.get(f"/ui/workflows/{workflow_id}").text, "workflow-runs")
    assert "<th>Trigger</th>" in runs
    shown = [cells(row)[1] for row in runs.split("<tbody>")[1].split("</tr>")[:-1]]
    assert shown == ["backfill", "manual", "schedule"], shown  # newest first
