"""Finding 1 (critical): a user ran a shell on the workers through a ``python_call`` node.

The attack, as found: ``subprocess.run`` called with the event as its first argument (the
event's keys become bash's argv) and an environment that defines a bash function named after
the first key, so bash runs the attacker's code. Here the attacker's code only touches a
marker file, so a test can tell whether it ran. python_call is now the operator's decision
(``RQFLOW_PYTHON_CALLABLES``, empty by default): such a workflow is refused when saved, and a
saved one is refused when it runs if the list no longer allows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_http_api import create_user_token
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e


def shell_out(callable_path: str, marker: Path) -> dict[str, Any]:
    """The attack workflow: the schedule event runs bash, whose imported function touches ``marker``."""
    return {
        "name": "innocent report",
        "nodes": [
            {"key": "t", "component_type": "trigger_schedule", "config": {}},
            {"key": "x", "component_type": "python_call", "config": {"callable": callable_path, "kwargs": {
                "shell": True, "executable": "/bin/bash", "capture_output": True, "text": True,
                "env": {"BASH_FUNC_scheduled_job_id%%": f"() {{ touch {marker}; }}", "PATH": "/usr/bin:/bin"},
            }}},
        ],
        "edges": [{"source": "t", "target": "x"}],
    }


def run_now(api: httpx.Client, workflow_id: int, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """A far-off one-time schedule on the workflow, run now; return the finished workflow run with its nodes."""
    created = api.post("/api/v1/schedules", json={"name": "s", "workflow_id": workflow_id, "schedule_type": "once",
                                                  "run_at": "2999-01-01T00:00:00Z", "trigger_payload": payload})
    assert created.status_code == 201, created.text
    before = api.get(f"/api/v1/workflows/{workflow_id}/runs").json()["total"]
    assert api.post(f"/api/v1/schedules/{created.json()['id']}/trigger").status_code == 202

    def finished() -> dict[str, Any] | None:
        runs = api.get(f"/api/v1/workflows/{workflow_id}/runs").json()
        newest = runs["items"][0] if runs["total"] > before else None
        return newest if newest and newest["status"] != "running" else None

    run = wait_for(finished, timeout=30, interval=0.2, what="the workflow run to finish")
    return dict(api.get(f"/api/v1/workflow-runs/{run['id']}").json())


def save(api: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return api.post("/api/v1/workflows", json=body)


def test_the_shell_out_workflow_is_refused_when_saved_by_default(stack: Stack, database_url: str,
                                                                  tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    base = stack.start_web(env={"RQFLOW_PYTHON_CALLABLES": ""})  # the default: no callable allowed
    token = create_user_token(stack, "mallory")
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        refused = save(api, shell_out("subprocess.run", marker))
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "nodes.1.config.callable"
        assert "RQFLOW_PYTHON_CALLABLES" in refused.json()["message"]
        assert api.get("/api/v1/workflows").json()["total"] == 0, "nothing of the refused workflow was stored"
        palette = {c["component_type"]: c for c in api.get("/api/v1/components").json()}
        assert palette["python_call"]["enabled"] is False and palette["http_request"]["enabled"] is True
    assert not marker.exists()


def test_a_saved_workflow_is_refused_when_it_runs_if_the_operator_no_longer_allows_it(
    stack: Stack, database_url: str, tmp_path: Path
) -> None:
    """Saved while the web process allowed more than the worker now does; and a function merely imported."""
    marker = tmp_path / "pwned"
    base = stack.start_web(env={"RQFLOW_PYTHON_CALLABLES": "subprocess.run,tests.security.targets.*"})
    stack.start_worker(env={"RQFLOW_PYTHON_CALLABLES": "tests.security.targets.*"})
    token = create_user_token(stack, "mallory")
    stack.wait_workers()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        outcomes = {}
        for path in ("subprocess.run", "tests.security.targets:run", "tests.security.targets:harmless"):
            saved = save(api, shell_out(path, marker))
            assert saved.status_code == 201, saved.text
            run = run_now(api, saved.json()["id"])
            outcomes[path] = (run["status"], run["node_runs"][-1]["error"])

    assert not marker.exists(), "the attacker's shell ran on the worker"
    status, error = outcomes["subprocess.run"]
    assert status == "failed" and "'subprocess.run' is not among the callables the operator allows" in error
    status, error = outcomes["tests.security.targets:run"]
    assert status == "failed" and "resolves to subprocess.run" in error, error
    assert outcomes["tests.security.targets:harmless"][0] == "succeeded", "an allowed callable still runs"
