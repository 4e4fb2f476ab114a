"""`rqflow mcp`: the scheduler's tools for MCP clients, driven by the SDK's own client.

The server runs as a real subprocess (the console script) against the test's
database and Redis; the client speaks stdio or streamable HTTP to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from rqflow.db import session_scope
from rqflow.models import Schedule
from rqflow.schemas.tools import ScheduleCreateInput
from rqflow.settings import Settings
from tests.helpers import free_port, wait_for
from tests.integration.conftest import make_schedule, make_user, make_workflow

RQFLOW = Path(sys.executable).parent / "rqflow"
SCHEDULER_TOOLS = ["schedule_create", "schedule_pause", "schedule_resume", "schedule_stop", "schedule_list"]
# (readOnlyHint, destructiveHint, idempotentHint) per tool.
HINTS = {
    "schedule_create": (False, False, False),
    "schedule_pause": (False, False, True),
    "schedule_resume": (False, False, True),
    "schedule_stop": (False, True, False),
    "schedule_list": (True, False, False),
}
STARTUP_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The test's settings as the server process reads them."""
    return {"RQFLOW_DATABASE_URL": settings.database_url, "RQFLOW_REDIS_URL": settings.redis_url,
            "RQFLOW_QUEUE": settings.queue, "RQFLOW_MIN_INTERVAL_SECONDS": str(settings.min_interval_seconds),
            **extra}


def cron_input(workflow_id: int, **overrides: Any) -> dict[str, Any]:
    return {"name": "weekday", "workflow_id": workflow_id, "schedule_type": "cron",
            "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin", **overrides}


async def call(client: Client, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The tool's answer (its JSON text, checked against the structured content) and the error flag."""
    result = await client.call_tool(name, arguments)
    text = result.content[0]
    assert text.type == "text"
    answer: dict[str, Any] = json.loads(text.text)
    assert result.structured_content == answer
    return answer, result.is_error


async def check_tools(client: Client) -> None:
    tools = (await client.list_tools()).tools
    assert [tool.name for tool in tools] == SCHEDULER_TOOLS
    for tool in tools:
        hints = tool.annotations
        assert hints is not None and tool.description
        flags = (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint)
        assert flags == HINTS[tool.name], tool.name
    assert tools[0].input_schema == ScheduleCreateInput.model_json_schema()


# -- stdio ----------------------------------------------------------------------------------------------


def test_stdio_manages_the_token_owners_schedules(settings: Settings) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    workflow_id = make_workflow(alice)
    bobs_schedule = make_schedule(bob, make_workflow(bob)).id
    # Chatty logging, to show that it goes to stderr: a stray line on stdout reaches the client as a fault.
    env = server_env(settings, RQFLOW_TOKEN=alice.token, RQFLOW_LOG_LEVEL="DEBUG")
    faults: list[Exception] = []
    client = Client(StdioServerParameters(command=str(RQFLOW), args=["mcp"], env=env),
                    read_timeout_seconds=CALL_TIMEOUT, message_handler=partial(_record_faults, faults))
    anyio.run(partial(_stdio_session, client, workflow_id=workflow_id, bobs_schedule=bobs_schedule))
    assert faults == []
    assert _status(bobs_schedule) == "active"


async def _record_faults(faults: list[Exception], message: object) -> None:
    if isinstance(message, Exception):
        faults.append(message)


async def _stdio_session(client: Client, *, workflow_id: int, bobs_schedule: str) -> None:
    # Leaving the `async with` ends the server process (the SDK closes its stdin, then terminates it).
    async with client:
        await check_tools(client)

        created, is_error = await call(client, "schedule_create", cron_input(workflow_id))
        assert created["ok"] and not is_error
        schedule = created["result"]
        assert schedule["status"] == "active" and "09:00" in schedule["cadence"]
        assert len(schedule["next_runs"]) == 5
        for run in map(datetime.fromisoformat, schedule["next_runs"]):
            assert (run.hour, run.minute) == (9, 0) and run.weekday() < 5 and run.utcoffset() is not None

        pause = {"schedule_id": schedule["id"], "reason": "holiday"}
        paused, is_error = await call(client, "schedule_pause", pause)
        assert not is_error and paused["result"]["status"] == "paused"
        listed, _ = await call(client, "schedule_list", {})
        items = listed["result"]["items"]
        assert [(item["id"], item["status"], item["paused_reason"]) for item in items] == [
            (schedule["id"], "paused", "holiday")]

        six_fields = cron_input(workflow_id, cron_expression="0 9 * * 1-5 *")
        bad, is_error = await call(client, "schedule_create", six_fields)
        assert is_error and not bad["ok"] and bad["error"]["field"] == "cron_expression"
        assert bad["error"]["hint"]

        theirs, is_error = await call(client, "schedule_pause", {"schedule_id": bobs_schedule})
        assert is_error and theirs["error"]["type"] == "ScheduleNotFound"

        stopped, is_error = await call(client, "schedule_stop", {"schedule_id": schedule["id"]})
        assert not is_error and stopped == {"ok": True, "result": {"deleted": True, "id": schedule["id"],
                                                                   "name": "weekday"}}
        listed, _ = await call(client, "schedule_list", {})
        assert listed["result"]["items"] == [] and listed["result"]["total"] == 0


@pytest.mark.parametrize("token", ["", "rqf_not-a-token"], ids=["missing", "invalid"])
def test_stdio_refuses_to_start_without_a_valid_token(settings: Settings, token: str) -> None:
    env = {**os.environ, **server_env(settings)}
    env.pop("RQFLOW_TOKEN", None)
    if token:
        env["RQFLOW_TOKEN"] = token
    done = subprocess.run([str(RQFLOW), "mcp"], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=STARTUP_TIMEOUT, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert "RQFLOW_TOKEN" in done.stderr.strip().splitlines()[-1]


def _status(schedule_id: str) -> str:
    with session_scope() as db:
        job = db.get(Schedule, schedule_id)
        assert job is not None
        return str(job.status)


# -- streamable HTTP ------------------------------------------------------------------------------------


@contextmanager
def http_server(settings: Settings, log: Path) -> Iterator[str]:
    """`rqflow mcp --transport http` on a free port, until the block ends; yields its /mcp URL."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen([str(RQFLOW), "mcp", "--transport", "http", "--port", str(port)],
                                   env={**os.environ, **server_env(settings)}, stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_for(partial(_answers, url, process, log), timeout=STARTUP_TIMEOUT, what=f"rqflow mcp on {url}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _answers(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"rqflow mcp exited with {process.returncode}:\n{log.read_text()}")
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


def http_client(url: str, token: str | None, *, statuses: list[int] | None = None) -> httpx2.AsyncClient:
    """An HTTP client for the SDK's transport, with the bearer token (if any), recording response statuses."""

    async def record(response: httpx2.Response) -> None:
        if statuses is not None:
            statuses.append(response.status_code)

    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60),
                              event_hooks={"response": [record]})


def test_http_serves_each_bearer_tokens_owner(settings: Settings, tmp_path: Path) -> None:
    alice = make_user("alice")
    schedule_id = make_schedule(alice, make_workflow(alice)).id
    bob = make_user("bob")
    make_schedule(bob, make_workflow(bob))  # not alice's: her listing must not show it
    with http_server(settings, tmp_path / "mcp.log") as url:
        for mode in ("auto", "legacy"):  # the 2026 per-request protocol, and the initialize handshake
            anyio.run(partial(_http_session, url, alice.token, mode=mode, schedule_id=schedule_id))


async def _http_session(url: str, token: str, *, mode: str, schedule_id: str) -> None:
    async with (
        http_client(url, token) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode,
               read_timeout_seconds=CALL_TIMEOUT) as client,
    ):
        await check_tools(client)
        listed, is_error = await call(client, "schedule_list", {})
        assert not is_error and [item["id"] for item in listed["result"]["items"]] == [schedule_id]


@pytest.mark.parametrize("token", [None, "rqf_not-a-token"], ids=["missing", "invalid"])
def test_http_refuses_requests_without_a_valid_bearer_token(
    settings: Settings, tmp_path: Path, token: str | None
) -> None:
    with http_server(settings, tmp_path / "mcp.log") as url:
        statuses = anyio.run(_refused, url, token)
        assert statuses and set(statuses) == {401}
        raw = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                         headers={"Accept": "application/json, text/event-stream",
                                  **({"Authorization": f"Bearer {token}"} if token else {})})
        assert raw.status_code == 401 and raw.headers["www-authenticate"].startswith("Bearer ")


async def _refused(url: str, token: str | None) -> list[int]:
    statuses: list[int] = []
    # The SDK reports the 401 as an MCPError, raised through its task groups' exception groups.
    with pytest.raises(Exception) as refusal:
        async with (
            http_client(url, token, statuses=statuses) as http,
            Client(streamable_http_client(url, http_client=http)),
        ):
            pass
    assert any(isinstance(error, MCPError) for error in _leaves(refusal.value))
    return statuses


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error
