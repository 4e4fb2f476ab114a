"""A fake REST API for the command line: canned answers per route over ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from rqflow.cli import app

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]
# Wide enough that rich never folds a cell the tests look for.
ENV = {"RQFLOW_API_URL": "http://api.test", "RQFLOW_TOKEN": "rqf_test", "COLUMNS": "250"}


@dataclass
class FakeApi:
    """Answers ``(method, path)`` with a canned response and records every request it saw."""

    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, answer: Answer | Any, status: int = 200) -> None:
        """Answer ``method path`` with a response, a function of the request, or JSON (with ``status``)."""
        if not isinstance(answer, httpx.Response) and not callable(answer):
            answer = httpx.Response(status, json=answer)
        self.answers[(method, path)] = answer

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.get((request.method, request.url.path))
        if answer is None:
            return httpx.Response(404, json={"detail": "Not Found", "message": "Not Found", "field": None})
        return answer(request) if callable(answer) else answer

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@pytest.fixture
def fake_api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def rqflow(fake_api: FakeApi) -> Callable[..., Result]:
    """Run ``rqflow ARGS`` against the fake API; ``env`` overrides the default token and URL."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        transport = httpx.MockTransport(fake_api.handle)
        return CliRunner().invoke(app, list(args), obj={"transport": transport}, env={**ENV, **(env or {})},
                                  input=input)

    return run


def schedule_json(**overrides: Any) -> dict[str, Any]:
    """A SchedulePublic as the API answers it: every 5 minutes, active, in Berlin."""
    base: dict[str, Any] = {
        "id": "5f0c3a1e-0000-4000-8000-000000000001", "name": "morning", "description": "", "workflow_id": 1,
        "trigger_node_id": None, "schedule_type": "interval", "cron_expression": None, "interval_seconds": 300,
        "run_at": None, "timezone": "Europe/Berlin", "start_at": None, "end_at": None, "max_runs": None,
        "trigger_payload": None, "catchup_policy": "latest", "catchup_window_seconds": None,
        "overlap_policy": "skip", "jitter_seconds": 0, "pause_after_failures": None, "status": "active",
        "paused_reason": "", "paused_at": None, "paused_until": None,
        "next_run_at": "2030-01-01T08:05:00Z", "last_run_at": "2030-01-01T08:00:00Z", "run_count": 3,
        "error_count": 1, "consecutive_failures": 0, "missed_count": 2, "last_error": "",
        "created_at": "2029-12-31T00:00:00Z", "updated_at": "2029-12-31T00:00:00Z",
        "cadence": "every 5 minutes", "next_runs": ["2030-01-01T09:05:00+01:00", "2030-01-01T09:10:00+01:00"],
    }
    return {**base, **overrides}


def run_json(**overrides: Any) -> dict[str, Any]:
    """A RunPublic: succeeded, started 0.25 s late, took 1.5 s."""
    base: dict[str, Any] = {
        "id": 7, "scheduled_job_id": schedule_json()["id"], "scheduled_for": "2030-01-01T08:00:00Z",
        "trigger_kind": "schedule", "status": "succeeded", "reason": "", "rq_job_id": "rqflow-fire-x-1",
        "enqueued_at": "2030-01-01T08:00:00Z", "started_at": "2030-01-01T08:00:00.250000Z",
        "finished_at": "2030-01-01T08:00:01.750000Z", "duration_seconds": 1.5, "error": "",
    }
    return {**base, **overrides}


def page(items: list[dict[str, Any]], *, total: int | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """A Page as the API answers it."""
    return {"items": items, "total": len(items) if total is None else total, "limit": limit, "offset": offset}
