"""The dashboard in headless Chromium against real ``rqflow web``, ``scheduler`` and ``worker`` processes.

A user signs in with a token, creates a schedule through the form (watching the
live preview follow the typing), sees it fire, pauses it with a reason, and looks
at the workflow's graph and a run's node runs. With ``RQFLOW_SCREENSHOTS=1`` the
main pages are saved to ``docs/screenshots/`` (otherwise under the test's tmp_path).

Chromium is Debian's (``apt-get install chromium``), driven by Playwright's
Python package; ``playwright install`` is never needed. With CI=true a missing
Chromium fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import IN_CI
from tests.e2e.conftest import REPO_ROOT, Stack, workflow_body
from tests.e2e.test_http_api import create_user_token
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("RQFLOW_CHROMIUM", "/usr/bin/chromium"))
# Without these Chromium waits on the network (updates, sync, QUIC probes) and hangs on a closed one.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Deadlines for conditions the browser waits on (Playwright polls until then), not sleeps.
UI_TIMEOUT_MS = 15_000
FIRST_RUN_TIMEOUT_SECONDS = 30
SCREENSHOT_DIR = REPO_ROOT / "docs" / "screenshots"


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found; install it with `apt-get install -y chromium`"
        if IN_CI:
            pytest.fail(message + " (CI=true: failing instead of skipping)", pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: the docs with RQFLOW_SCREENSHOTS=1, else the test's own directory."""
    folder = SCREENSHOT_DIR if os.environ.get("RQFLOW_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_schedule_created_in_the_browser_fires_and_pauses(
    stack: Stack, database_url: str, browser: Browser, shots: Path
) -> None:
    base = stack.start_all()
    token = create_user_token(stack, "dana")
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
        workflow = api.post("/api/v1/workflows", json=workflow_body("nightly-export"))
        assert workflow.status_code == 201, workflow.text
        workflow_id = workflow.json()["id"]
        neighbour = api.post("/api/v1/schedules", json={
            "name": "berlin-mornings", "workflow_id": workflow_id, "schedule_type": "cron",
            "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"})
        assert neighbour.status_code == 201, neighbour.text

    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, token)
        schedule_id = create_through_the_form(page, workflow_id, shots)
        see_it_fire(page, stack, shots)
        pause_with_reason(page, base, token, schedule_id)
        check_the_list(page, shots)
        check_the_graph_and_a_run(page, workflow_id, shots)
    finally:
        context.close()


def sign_in(page: Page, token: str) -> None:
    """A page without a session goes to the sign-in form; a wrong token is refused, the right one accepted."""
    page.goto("/ui/schedules")
    expect(page).to_have_url(re.compile(r"/ui/signin\?next="))
    page.fill("#token", "rqf_wrong")
    page.click("button[type=submit]")
    expect(page.locator("#token-error")).to_contain_text("not valid")
    page.fill("#token", token)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/ui/schedules$"))
    expect(page.locator(".flash")).to_have_text("Signed in as dana.")


def create_through_the_form(page: Page, workflow_id: int, shots: Path) -> str:
    """Fill the form; the preview follows the cadence as it is typed; create; return the schedule's id."""
    page.click("text=New schedule")
    page.fill("#name", "every-second")
    page.select_option("#workflow_id", str(workflow_id))
    page.fill("#cron_expression", "*/5 * * * *")
    expect(page.locator("#preview-cadence")).to_have_text("Every 5 minutes (UTC)")
    page.fill("#cron_expression", "*/5 * * *")  # one field short: the preview names the problem
    expect(page.locator("#preview-error")).to_have_attribute("data-error-field", "cron_expression")
    expect(page.locator("#cron_expression")).to_have_class(re.compile("invalid"))
    page.check("input[name=schedule_type][value=interval]")
    expect(page.locator("#cron_expression")).to_be_hidden()
    page.fill("#interval_seconds", "1")
    expect(page.locator("#preview-cadence")).to_have_text("Every second")
    expect(page.locator("#preview-runs li")).to_have_count(10)
    page.screenshot(path=shots / "schedule-form-preview.png", full_page=True)
    page.click("text=Create schedule")
    expect(page.locator(".flash")).to_contain_text("Created schedule 'every-second' (Every second)")
    match = re.search(r"/ui/schedules/([0-9a-f-]{36})$", page.url)
    assert match, page.url
    return match.group(1)


def see_it_fire(page: Page, stack: Stack, shots: Path) -> None:
    """Reload the schedule page until it lists a succeeded run (with a deadline; the processes must stay up)."""
    succeeded = page.locator("#runs tr[data-status=succeeded]")

    def shown() -> bool:
        stack.assert_running()
        page.reload()
        return succeeded.count() > 0

    wait_for(shown, timeout=FIRST_RUN_TIMEOUT_SECONDS, interval=0.5, what="a succeeded run on the schedule page")
    expect(page.locator("#upcoming li")).to_have_count(10)
    expect(page.locator("#history")).to_contain_text("create")
    page.screenshot(path=shots / "schedule-page.png", full_page=True)


def pause_with_reason(page: Page, base: str, token: str, schedule_id: str) -> None:
    """Pause from the page; the page and the API both show it paused with the reason."""
    page.fill("#pause-form input[name=reason]", "maintenance window")
    page.click("#pause-form button")
    expect(page.locator(".flash")).to_have_text("Paused: maintenance window")
    expect(page.locator("h1 .badge")).to_have_text("paused")
    expect(page.locator("#paused-reason")).to_contain_text("maintenance window")
    expect(page.locator("#upcoming")).to_have_count(0)
    expect(page.locator("#history")).to_contain_text("pause: maintenance window")
    answer = httpx.get(f"{base}/api/v1/schedules/{schedule_id}", headers={"Authorization": f"Bearer {token}"})
    assert (answer.json()["status"], answer.json()["paused_reason"]) == ("paused", "maintenance window")


def check_the_list(page: Page, shots: Path) -> None:
    """The list shows both schedules, the paused one with its last run's status; search narrows it."""
    page.click("nav >> text=Schedules")
    rows = page.locator("#schedules tbody tr")
    expect(rows).to_have_count(2)
    paused = rows.filter(has_text="every-second")
    expect(paused).to_contain_text("paused")
    expect(paused).to_contain_text("maintenance window")
    expect(paused.locator("td").nth(5)).to_have_text(re.compile("succeeded|skipped"))
    berlin = rows.filter(has_text="berlin-mornings")
    expect(berlin).to_contain_text("At 09:00 AM, Monday through Friday")
    expect(berlin).to_contain_text("Europe/Berlin")  # in its own column, no longer repeated in the cadence
    page.screenshot(path=shots / "schedules-list.png", full_page=True)
    page.fill("input[name=q]", "berlin")
    page.click("text=Filter")
    expect(rows).to_have_count(1)


def check_the_graph_and_a_run(page: Page, workflow_id: int, shots: Path) -> None:
    """The workflow page draws its graph as SVG; a run's page shows each node's input and output."""
    page.goto(f"/ui/workflows/{workflow_id}")
    graph = page.locator("svg.graph")
    expect(graph.locator("g.node")).to_have_count(2)
    expect(graph.locator("g.node[data-key=trigger] rect")).to_have_attribute("fill", "#f59e0b")
    expect(graph.locator("g.node[data-key=effect]")).to_contain_text("Python call")
    expect(graph.locator("path.edge")).to_have_count(1)
    page.screenshot(path=shots / "workflow-graph.png", full_page=True)
    page.locator("#workflow-runs tbody tr", has_text="succeeded").first.locator("a").click()
    effect = page.locator(".node-run[data-node=effect]")
    expect(effect).to_contain_text("succeeded")
    expect(effect.locator("pre").first).to_contain_text("tests.e2e.side_effects:record")  # input: its config
    expect(effect.locator("pre").nth(1)).to_contain_text('"recorded"')  # output: what the callable returned
    expect(page.locator("svg.graph g.node-succeeded")).to_have_count(2)
    page.screenshot(path=shots / "run-detail.png", full_page=True)
