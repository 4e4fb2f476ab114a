"""``rqflow workflows list|runs`` against a fake API."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import Result

from tests.unit.cli.conftest import FakeApi, page

Rqflow = Callable[..., Result]
WORKFLOW = {"id": 4, "name": "report", "description": "", "created_at": "2030-01-01T00:00:00Z",
            "updated_at": "2030-01-01T00:00:00Z", "edges": [{"source": "t", "target": "echo", "kind": "flow"}],
            "nodes": [{"id": 1, "key": "t", "component_type": "trigger_schedule", "config": {}, "timeout_seconds": None},
                      {"id": 2, "key": "echo", "component_type": "python_call", "config": {},
                       "timeout_seconds": None}]}
RUN = {"id": 9, "workflow_id": 4, "schedule_run_id": 7, "trigger_node_id": 1, "event_type": "schedule", "event": {},
       "status": "failed", "error": "KeyError: 'x'", "started_at": "2030-01-01T00:00:00Z",
       "finished_at": "2030-01-01T00:00:02.500000Z", "node_runs": []}


def test_list_shows_nodes_and_triggers(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", "/api/v1/workflows", page([WORKFLOW]))

    table = rqflow("workflows", "list")
    as_json = rqflow("workflows", "list", "--json")

    assert table.exit_code == 0, table.output
    assert "report" in table.stdout and "│ t " in table.stdout
    assert json.loads(as_json.stdout) == page([WORKFLOW])


def test_runs_shows_status_duration_and_error(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", "/api/v1/workflows/4/runs", page([RUN]))

    result = rqflow("workflows", "runs", "4", "--limit", "10")

    for text in ("failed", "2.5 s", "KeyError: 'x'", "schedule"):
        assert text in result.stdout
    assert fake_api.requests[0].url.params["limit"] == "10"


def test_a_missing_workflow_is_named(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", "/api/v1/workflows/99/runs", {"detail": [], "message": "workflow 99 not found",
                                                     "field": "id"}, status=404)

    result = rqflow("workflows", "runs", "99")

    assert (result.exit_code, result.stderr) == (1, "rqflow: id: workflow 99 not found\n")


def test_runs_show_what_triggered_each_not_the_event_type(rqflow: Rqflow, fake_api: FakeApi) -> None:
    runs = [{**RUN, "id": 11, "event": {"trigger_kind": "manual"}},  # an API without trigger_kind: the event's
            {**RUN, "id": 12, "trigger_kind": "backfill", "event": {}},  # the API's own field
            {**RUN, "id": 13, "event": {}}]  # neither: the event type
    fake_api.on("GET", "/api/v1/workflows/4/runs", page(runs))

    result = rqflow("workflows", "runs", "4")

    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("│ 1")}
    assert "│ manual " in rows["11"] and "│ backfill " in rows["12"] and "│ schedule " in rows["13"], result.stdout
    assert "trigger" in result.stdout and "event" not in result.stdout
