"""The operator CLI against the real API (a real uvicorn), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from typing import Any

from typer.testing import CliRunner, Result

from rqflow.cli import app
from tests.helpers import free_port
from tests.integration.cli.conftest import Rqflow
from tests.integration.conftest import ApiUser, make_workflow


def ok(result: Result) -> Result:
    """The result of a command that must succeed, with its output in the failure message."""
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def loads(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def test_an_operator_runs_a_schedules_whole_life(rqflow: Rqflow, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    created = loads(rqflow("schedules", "create", "--name", "nightly-report", "--workflow", str(workflow_id),
                           "--cron", "0 2 * * *", "--timezone", "Europe/Berlin", "--payload", '{"k": 1}',
                           "--json"))
    sid = created["id"]
    assert (created["cron_expression"], created["trigger_payload"]) == ("0 2 * * *", {"k": 1})

    table = ok(rqflow("schedules", "list")).stdout
    assert all(text in table for text in (sid[:8], "nightly-report", created["cadence"], "Europe/Berlin", "active"))
    assert sid not in table and sid in ok(rqflow("schedules", "list", "--wide")).stdout
    assert [item["id"] for item in loads(rqflow("schedules", "list", "--json"))["items"]] == [sid]
    assert "02:00 CE" in ok(rqflow("schedules", "show", sid)).stdout  # CET or CEST: the schedule's zone

    paused = ok(rqflow("schedules", "pause", sid, "--reason", "maintenance")).stdout
    assert paused.startswith(f"paused nightly-report ({sid})") and "maintenance" in paused
    assert loads(rqflow("schedules", "list", "--json", "--status", "paused"))["total"] == 1
    assert ok(rqflow("schedules", "resume", sid)).stdout.startswith("resumed nightly-report")

    run = loads(rqflow("schedules", "trigger", sid, "--json"))
    assert run["trigger_kind"] == "manual" and run["scheduled_job_id"] == sid
    assert "manual" in ok(rqflow("schedules", "runs", sid)).stdout
    assert [r["id"] for r in loads(rqflow("schedules", "runs", sid, "--json"))["items"]] == [run["id"]]

    assert ok(rqflow("schedules", "delete", sid, "--yes")).stdout == f"deleted {sid}\n"
    gone = rqflow("schedules", "show", sid)
    # "<field>: <message>"; the field is the API's to name (id, or the path parameter schedule_id).
    assert gone.exit_code == 1 and re.fullmatch(rf"rqflow: \w+: schedule {sid} not found\n", gone.stderr), gone.stderr


def test_governance_options_reach_the_schedule(rqflow: Rqflow, alice: ApiUser) -> None:
    created = loads(rqflow("schedules", "create", "--name", "governed", "--workflow", str(make_workflow(alice)),
                           "--interval", "5m", "--run-timeout", "600", "--budget-usd", "0.5", "--max-tokens", "40000",
                           "--keep-days", "90", "--json"))
    assert (created["run_timeout_seconds"], created["max_budget_per_run_usd"], created["max_tokens_per_run"],
            created["run_retention_days"]) == (600, 0.5, 40000, 90)
    refused = rqflow("schedules", "create", "--name", "greedy", "--workflow", str(make_workflow(alice)),
                     "--interval", "5m", "--budget-usd", "500")
    assert refused.exit_code == 1 and refused.stderr.startswith("rqflow: max_budget_per_run_usd: ")


def test_workflows_and_their_runs(rqflow: Rqflow, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice, name="report-wf")

    assert "report-wf" in ok(rqflow("workflows", "list")).stdout
    assert loads(rqflow("workflows", "runs", str(workflow_id), "--json"))["items"] == []


def test_a_bad_cron_line_names_the_field(rqflow: Rqflow, alice: ApiUser) -> None:
    result = rqflow("schedules", "create", "--name", "x", "--workflow", str(make_workflow(alice)),
                    "--cron", "61 * * * *")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("rqflow: cron_expression: ") and result.stderr.count("\n") == 1


def test_a_wrong_token_is_named_as_such(rqflow: Rqflow) -> None:
    result = rqflow("schedules", "list", env={"RQFLOW_TOKEN": "rqf_not-a-token"})

    assert result.exit_code == 2 and "refused the token in RQFLOW_TOKEN" in result.stderr


def test_an_api_that_is_down_is_one_line_naming_its_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    result = CliRunner().invoke(app, ["schedules", "list"], env={"RQFLOW_API_URL": url, "RQFLOW_TOKEN": "t"})

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"rqflow: cannot reach the rqflow API at {url} (connection refused)")
    assert "Traceback" not in result.output
