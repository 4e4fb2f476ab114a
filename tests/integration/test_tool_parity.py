"""The five scheduler tools behave identically through their four callers, on both databases.

Every scenario runs once per path, acting as the same user (Alice):

- ``node``: a one-off workflow, trigger -> a node of the tool with the arguments as its config, run
  in-process as a firing runs it; the answer is the tool node run's output.
- ``api``: ``POST /api/v1/tools/{name}/invoke`` through the real app.
- ``agent``: a workflow, trigger -> agent with a tool edge to a node of the tool (empty config), the
  scripted LLM calling that node once with the arguments and then answering; the answer is
  ``output["tool_calls"][0]["answer"]`` of the agent node run.
- ``mcp``: the SDK's client connected in-process to :func:`rqflow.mcp_server.build_server` (the SDK's
  memory transport, with the ``initialize`` handshake and JSON-RPC messages of a real session, and
  Alice's token, checked on every call as over stdio); the answer is the JSON text content, which must
  equal the structured content.

The answers must be the same. What may differ is only how a path flags a refusal next to the answer,
and each :class:`Caller` asserts that on every call (``OK_FLAGS``, ``REFUSAL_FLAGS``):

- node: a refused call fails the tool node (``ToolFailed``, its message and hint in the node's error)
  and so the workflow run; the structured answer is still the node run's output;
- api: the HTTP status follows the error's kind (422 invalid_input, 404 not_found, 409 conflict);
- agent: the agent node succeeds, the refusal is fed back to the model as the tool message;
- mcp: the result is flagged ``isError``.

Answers hold ids and wall-clock stamps that differ between runs; :func:`normalise` replaces exactly
those (schedule ids by labels, ``created_at``/``updated_at``/``paused_at`` by ``<time>``), nothing else.
The lifecycle scenario uses a ``start_at`` in 2031, so its next runs are fixed and compared as they are.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi.testclient import TestClient
from mcp import Client
from sqlalchemy import select

from rqflow.app import create_app
from rqflow.broker.connection import get_redis
from rqflow.broker.signals import RedisSignals
from rqflow.db import session_scope
from rqflow.engine.runner import run_workflow
from rqflow.mcp_server import build_server
from rqflow.models import NodeRun, Schedule, ScheduleChange, UserProfile, WorkflowRun, utcnow
from rqflow.services.schedules import stop_schedule
from rqflow.services.workflow_graphs import load_graph
from rqflow.settings import Settings, get_settings
from rqflow.signals import NullSignals
from tests.integration.conftest import ApiUser, make_schedule, make_workflow
from tests.llm_stub import LlmStub, ToolCall, final, tool_calls

PATHS = ("node", "api", "agent", "mcp")
# How each path flags an answer besides the answer itself: the one thing allowed to differ.
OK_FLAGS = {"node": "node succeeded, run succeeded", "api": "HTTP 200", "agent": "agent succeeded",
            "mcp": "result"}
REFUSAL_FLAGS = {
    "node": {kind: "node failed, run failed" for kind in ("invalid_input", "not_found", "conflict")},
    "api": {"invalid_input": "HTTP 422", "not_found": "HTTP 404", "conflict": "HTTP 409"},
    "agent": {kind: "agent succeeded" for kind in ("invalid_input", "not_found", "conflict")},
    "mcp": {kind: "isError" for kind in ("invalid_input", "not_found", "conflict")},
}
TRIGGER = {"key": "t", "component_type": "trigger_schedule", "config": {}}
BERLIN = ZoneInfo("Europe/Berlin")
CRON_HINT = ("a cron expression has five fields: minute hour day-of-month month day-of-week, "
             "e.g. '0 9 * * 1-5' for 09:00 on weekdays or '*/15 * * * *' for every 15 minutes")
TIMEZONE_HINT = "use an IANA timezone name such as 'UTC', 'Europe/Berlin' or 'America/New_York'"
NOT_FOUND_HINT = "call schedule_list to see the ids of your schedules"
WORKFLOW_HINT = "workflow_id must be the id of one of your own workflows"
STOPPED_HINT = "a stopped schedule cannot change; create a new one with schedule_create"
DEFAULT_HINT = "correct the named field and call the tool again; the tool's input schema lists every field"
# Seconds the MCP client waits for one answer.
MCP_CALL_TIMEOUT = 30.0


# -- the four paths --------------------------------------------------------------------------------------


class Caller(ABC):
    """One way to call a tool as Alice; ``call`` gives the answer and checks how the path flagged it."""

    path: ClassVar[str]

    def __init__(self) -> None:
        self.last_flag = ""

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The tool's answer, after checking that the path flags it as this path must."""
        answer, flag = self.deliver(tool, arguments)
        expected = OK_FLAGS[self.path] if answer["ok"] else REFUSAL_FLAGS[self.path][answer["error"]["kind"]]
        assert flag == expected, f"{self.path}: {tool} answered {answer}, flagged {flag!r}, not {expected!r}"
        self.last_flag = flag
        return answer

    @abstractmethod
    def deliver(self, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Make the call; the answer and how the path flagged it."""


class NodeCaller(Caller):
    """A one-off workflow: trigger -> the tool's node with the arguments as its config."""

    path = "node"

    def __init__(self, user: ApiUser) -> None:
        super().__init__()
        self.user = user

    def deliver(self, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Run the workflow in-process; the answer is the tool node run's output."""
        node = {"key": "tool", "component_type": tool, "config": arguments}
        workflow_id = make_workflow(self.user, name=f"one-off {tool}", nodes=[TRIGGER, node],
                                    edges=[{"source": "t", "target": "tool"}])
        run, node_run = run_as(self.user, workflow_id)
        answer = node_run.output
        assert isinstance(answer, dict), node_run.error
        if not answer["ok"]:  # the refusal is the node's error, with the hint, and fails the run
            error = answer["error"]
            failure = f"ToolFailed: {error['message']} (hint: {error['hint']})"
            assert node_run.error.startswith(failure), node_run.error
            assert run.error.startswith("node 'tool' failed: "), run.error
        return answer, f"node {node_run.status}, run {run.status}"


class ApiCaller(Caller):
    """The tool API through the real app."""

    path = "api"

    def __init__(self, user: ApiUser, client: TestClient) -> None:
        super().__init__()
        self.user, self.client = user, client

    def deliver(self, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """POST the arguments; the answer is the body."""
        response = self.client.post(f"/api/v1/tools/{tool}/invoke", json=arguments, headers=self.user.headers)
        return response.json(), f"HTTP {response.status_code}"


class AgentCaller(Caller):
    """An agent with one tool node (empty config), the scripted model calling it once."""

    path = "agent"

    def __init__(self, user: ApiUser, llm: LlmStub) -> None:
        super().__init__()
        self.user, self.llm = user, llm

    def deliver(self, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Run the workflow in-process; the answer is the one tool call's answer in the agent's output."""
        asked = len(self.llm.requests)
        self.llm.script = [tool_calls(ToolCall(tool, arguments)), final("done")]
        agent = {"key": "assistant", "component_type": "agent", "config": {"prompt": f"Call {tool}."}}
        nodes = [TRIGGER, agent, {"key": tool, "component_type": tool, "config": {}}]
        edges = [{"source": "t", "target": "assistant"},
                 {"source": "assistant", "target": tool, "kind": "tool"}]
        workflow_id = make_workflow(self.user, name=f"agent {tool}", nodes=nodes, edges=edges)
        run, node_run = run_as(self.user, workflow_id, node_key="assistant")
        output = node_run.output
        assert isinstance(output, dict) and run.status == node_run.status, run.error
        [record] = output["tool_calls"]
        assert (record["tool"], record["arguments"]) == (tool, arguments), record
        assert len(self.llm.requests) == asked + 2 and output["answer"] == "done", output
        assert self.llm.requests[-1].tool_results() == [record["answer"]]  # fed back to the model as it is
        return record["answer"], f"agent {node_run.status}"


class McpCaller(Caller):
    """The MCP SDK's client, in a session with the server in-process."""

    path = "mcp"

    def __init__(self, portal: BlockingPortal, client: Client) -> None:
        super().__init__()
        self.portal, self.client = portal, client

    def deliver(self, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Call the tool; the answer is the JSON text, which must equal the structured content."""
        result = self.portal.call(self.client.call_tool, tool, arguments)
        [content] = result.content
        assert content.type == "text", content
        answer: dict[str, Any] = json.loads(content.text)
        assert result.structured_content == answer
        return answer, "isError" if result.is_error else "result"


def run_as(user: ApiUser, workflow_id: int, *, node_key: str = "tool") -> tuple[WorkflowRun, NodeRun]:
    """Run the workflow from its trigger as ``user`` with the scheduler's signals, as a firing would."""
    with session_scope() as db:
        graph = load_graph(db, workflow_id)
        assert graph is not None
        finished = run_workflow(db=db, graph=graph, trigger=graph.node("t"), event_type="schedule", event={},
                                owner_id=user.id, signals=RedisSignals(get_redis()))
        run = db.get(WorkflowRun, finished.id)
        assert run is not None
        [node_run] = [node for node in run.node_runs if node.node_key == node_key]
        db.expunge_all()  # read after the session closes: every column is loaded
        return run, node_run


def open_caller(path: str, stack: ExitStack, *, user: ApiUser, settings: Settings,
                monkeypatch: pytest.MonkeyPatch) -> Caller:
    """A caller of ``path`` acting as ``user``, its servers and clients closed with ``stack``."""
    if path == "node":
        return NodeCaller(user)
    if path == "api":
        return ApiCaller(user, stack.enter_context(TestClient(create_app(settings))))
    if path == "agent":
        llm = stack.enter_context(LlmStub())
        monkeypatch.setenv("RQFLOW_LLM_BASE_URL", llm.base_url)
        get_settings.cache_clear()
        return AgentCaller(user, llm)
    portal = stack.enter_context(start_blocking_portal())
    server = build_server(lambda _ctx: user.token)
    client = Client(server, mode="legacy", read_timeout_seconds=MCP_CALL_TIMEOUT)
    return McpCaller(portal, stack.enter_context(portal.wrap_async_context_manager(client)))


@pytest.fixture(params=PATHS)
def caller(request: pytest.FixtureRequest, alice: ApiUser, settings: Settings,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Caller]:
    """Each of the four paths in turn, acting as Alice."""
    with ExitStack() as stack:
        yield open_caller(request.param, stack, user=alice, settings=settings, monkeypatch=monkeypatch)


@pytest.fixture
def callers(
    alice: ApiUser, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Caller]]:
    """All four paths at once, acting as Alice."""
    with ExitStack() as stack:
        yield {path: open_caller(path, stack, user=alice, settings=settings, monkeypatch=monkeypatch)
               for path in PATHS}


@pytest.fixture
def target(alice: ApiUser) -> int:
    """Alice's workflow that the schedules start."""
    return make_workflow(alice)


# -- the database ----------------------------------------------------------------------------------------


def stored_schedules() -> list[dict[str, Any]]:
    """Every stored schedule's columns, oldest first."""
    with session_scope() as db:
        jobs = db.scalars(select(Schedule).order_by(Schedule.created_at, Schedule.id))
        columns = [column.key for column in Schedule.__table__.columns]
        return [{key: getattr(job, key) for key in columns} for job in jobs]


def trail() -> list[tuple[str, str, str]]:
    """The audit trail: (schedule id, action, actor), oldest first."""
    with session_scope() as db:
        rows = db.scalars(select(ScheduleChange).order_by(ScheduleChange.id))
        return [(row.scheduled_job_id, row.action, row.actor) for row in rows]


# -- answers ---------------------------------------------------------------------------------------------


def weekday_cron(workflow_id: int, **overrides: Any) -> dict[str, Any]:
    """schedule_create's arguments for 09:00 on weekdays, Berlin time."""
    return {"name": "weekday", "workflow_id": workflow_id, "schedule_type": "cron",
            "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin", **overrides}


def refusal(error_type: str, kind: str, field: str, message: str, hint: str) -> dict[str, Any]:
    """A refused call's whole answer, as every path must give it."""
    return {"ok": False, "error": {"type": error_type, "kind": kind, "field": field, "message": message,
                                   "hint": hint}}


VOLATILE_TIMES = ("created_at", "updated_at", "paused_at")


def normalise(value: Any, labels: dict[str, str]) -> Any:
    """``value`` with schedule ids (in messages too) replaced by their ``labels``, set stamps by '<time>'."""
    if isinstance(value, dict):
        return {key: "<time>" if key in VOLATILE_TIMES and item is not None else normalise(item, labels)
                for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item, labels) for item in value]
    if isinstance(value, str):
        for schedule_id, label in labels.items():
            value = value.replace(schedule_id, label)
    return value


# -- 1. create ---------------------------------------------------------------------------------------------


def test_create_answers_the_active_schedule_and_stores_one_row(
    caller: Caller, alice: ApiUser, target: int
) -> None:
    """A valid cron in Berlin: the active schedule, its cadence in words, 5 next runs; one row with those."""
    before = datetime.now(BERLIN)
    answer = caller.call("schedule_create", weekday_cron(target, description="sales"))

    assert answer["ok"] is True, answer
    schedule = answer["result"]
    assert (schedule["status"], schedule["name"], schedule["workflow_id"]) == ("active", "weekday", target)
    assert (schedule["cron_expression"], schedule["timezone"]) == ("0 9 * * 1-5", "Europe/Berlin")
    assert schedule["cadence"] == "At 09:00 AM, Monday through Friday (Europe/Berlin)"
    runs = [datetime.fromisoformat(run) for run in schedule["next_runs"]]
    assert len(runs) == 5 and runs == sorted(set(runs)) and runs[0] > before, runs
    for run in runs:  # 09:00 on a weekday, shown with Berlin's offset on that day
        assert (run.hour, run.minute, run.second) == (9, 0, 0) and run.weekday() < 5, run
        assert run.utcoffset() == run.astimezone(BERLIN).utcoffset(), run
    [row] = stored_schedules()
    assert (row["id"], row["user_profile_id"], row["workflow_id"], row["name"], row["description"]) == (
        schedule["id"], alice.id, target, "weekday", "sales")
    assert (row["schedule_type"], row["cron_expression"], row["timezone"], row["status"]) == (
        "cron", "0 9 * * 1-5", "Europe/Berlin", "active")
    assert row["next_run_at"] == runs[0]
    assert trail() == [(schedule["id"], "create", "user:alice")]


# -- 2., 3. refusals ----------------------------------------------------------------------------------------


def test_a_six_field_cron_is_refused_and_nothing_is_written(caller: Caller, target: int) -> None:
    """A six-field cron: InvalidCronExpression on cron_expression, 'expected 5', the cron hint; no row."""
    answer = caller.call("schedule_create", weekday_cron(target, cron_expression="0 9 * * 1-5 *"))

    assert answer["ok"] is False, answer
    error = answer["error"]
    assert (error["type"], error["kind"], error["field"]) == ("InvalidCronExpression", "invalid_input",
                                                              "cron_expression")
    assert "expected 5" in error["message"] and error["hint"] == CRON_HINT, error
    assert answer == refusal(
        "InvalidCronExpression", "invalid_input", "cron_expression",
        "invalid cron expression '0 9 * * 1-5 *': expected 5 cron fields, got 6", CRON_HINT)
    assert caller.last_flag == REFUSAL_FLAGS[caller.path]["invalid_input"]  # node: the node and run failed
    assert stored_schedules() == [] and trail() == []


def test_an_unknown_timezone_is_refused_and_nothing_is_written(caller: Caller, target: int) -> None:
    """An unknown timezone: UnknownTimezone on timezone, naming it, the IANA hint; no row."""
    answer = caller.call("schedule_create", weekday_cron(target, timezone="Mars/Olympus"))

    assert answer == refusal(
        "UnknownTimezone", "invalid_input", "timezone",
        "unknown timezone 'Mars/Olympus': use an IANA name such as 'Europe/Berlin' or 'UTC'", TIMEZONE_HINT)
    assert caller.last_flag == REFUSAL_FLAGS[caller.path]["invalid_input"]
    assert stored_schedules() == [] and trail() == []


def test_another_users_workflow_is_refused_and_nothing_is_written(caller: Caller, bob: ApiUser) -> None:
    """Bob's workflow_id: refused on workflow_id as if it did not exist; no row, for Alice or Bob."""
    theirs = make_workflow(bob)
    answer = caller.call("schedule_create", weekday_cron(theirs))

    assert answer == refusal("InvalidInput", "invalid_input", "workflow_id", f"workflow {theirs} not found",
                             WORKFLOW_HINT)
    assert caller.last_flag == REFUSAL_FLAGS[caller.path]["invalid_input"]
    assert stored_schedules() == [] and trail() == []


def test_input_off_the_schema_and_a_stopped_schedule_are_refused_alike(caller: Caller, target: int,
                                                                       alice: ApiUser) -> None:
    """A missing field, a bound broken, and pausing a stopped schedule (409 over HTTP): the same refusals."""
    stopped = make_schedule(alice, target).id
    with session_scope() as db:
        owner = db.get(UserProfile, alice.id)
        assert owner is not None
        stop_schedule(db=db, owner=owner, schedule_id=stopped, now=utcnow(), signals=NullSignals())
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("schedule_create", {"name": "x"},
         refusal("InvalidInput", "invalid_input", "workflow_id", "workflow_id: Field required",
                 WORKFLOW_HINT)),
        ("schedule_list", {"limit": 500},
         refusal("InvalidInput", "invalid_input", "limit", "limit: Input should be less than or equal to 100",
                 DEFAULT_HINT)),
        ("schedule_pause", {"schedule_id": stopped, "reason": "again"},
         refusal("InvalidStateTransition", "conflict", "status",
                 "a stopped schedule cannot be paused; create a new one", STOPPED_HINT)),
    ]
    for tool, arguments, expected in cases:
        assert caller.call(tool, arguments) == expected, tool
        assert caller.last_flag == REFUSAL_FLAGS[caller.path][expected["error"]["kind"]], tool
    [row] = stored_schedules()
    assert (row["id"], row["status"]) == (stopped, "stopped")
    assert [action for _, action, _ in trail()] == ["create", "stop"]


# -- 4. the lifecycle ---------------------------------------------------------------------------------------


FIXED_START = "2031-03-28T00:00:00+01:00"  # a Friday; Berlin moves to summer time on Sunday the 30th


def lifecycle(caller: Caller, target: int) -> list[tuple[str, dict[str, Any]]]:
    """The fixed scenario: create two, pause one twice, list by status, resume, stop both and one again."""
    answers: list[tuple[str, dict[str, Any]]] = []

    def step(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        answers.append((tool, caller.call(tool, arguments)))
        return answers[-1][1]

    weekday = step("schedule_create", weekday_cron(target, start_at=FIXED_START))["result"]["id"]
    nightly = step("schedule_create", weekday_cron(target, name="nightly", cron_expression="30 2 * * *",
                                                   timezone=None, start_at=FIXED_START))["result"]["id"]
    step("schedule_pause", {"schedule_id": weekday, "reason": "holiday"})
    step("schedule_pause", {"schedule_id": weekday, "reason": "holiday"})
    step("schedule_list", {"status": "paused"})
    step("schedule_list", {"status": "active"})
    step("schedule_resume", {"schedule_id": weekday})
    step("schedule_stop", {"schedule_id": weekday})
    step("schedule_stop", {"schedule_id": weekday})
    step("schedule_stop", {"schedule_id": nightly})
    labels = {weekday: "<weekday>", nightly: "<nightly>"}
    return [(tool, normalise(answer, labels)) for tool, answer in answers]


STORED_START = "2031-03-27T23:00:00Z"  # FIXED_START as every answer shows it: in UTC, as stored


def weekday_schedule(workflow_id: int, **overrides: Any) -> dict[str, Any]:
    """The lifecycle's weekday schedule as schedule_create answers it, normalised."""
    return {
        "id": "<weekday>", "name": "weekday", "description": "", "workflow_id": workflow_id,
        "trigger_node_id": None, "schedule_type": "cron", "cron_expression": "0 9 * * 1-5",
        "interval_seconds": None, "run_at": None, "timezone": "Europe/Berlin", "start_at": STORED_START,
        "end_at": None, "max_runs": None, "trigger_payload": None, "catchup_policy": "latest",
        "catchup_window_seconds": None, "overlap_policy": "skip", "jitter_seconds": 0,
        "pause_after_failures": None, "run_timeout_seconds": None,
        "run_retention_days": None, "max_budget_per_run_usd": None, "max_tokens_per_run": None, "notify": None,
        "status": "active", "paused_reason": "", "paused_at": None, "paused_until": None,
        "next_run_at": "2031-03-28T08:00:00Z", "last_run_at": None, "run_count": 0, "error_count": 0,
        "consecutive_failures": 0, "missed_count": 0, "last_error": "", "created_at": "<time>",
        "updated_at": "<time>",
        "cadence": "At 09:00 AM, Monday through Friday (Europe/Berlin), from 2031-03-28T00:00:00+01:00",
        "next_runs": ["2031-03-28T09:00:00+01:00", "2031-03-31T09:00:00+02:00", "2031-04-01T09:00:00+02:00",
                      "2031-04-02T09:00:00+02:00", "2031-04-03T09:00:00+02:00"],
        **overrides,
    }


def nightly_schedule(workflow_id: int, **overrides: Any) -> dict[str, Any]:
    """The lifecycle's nightly schedule (02:30 UTC) as schedule_create answers it, normalised."""
    return weekday_schedule(
        workflow_id, id="<nightly>", name="nightly", cron_expression="30 2 * * *", timezone="UTC",
        next_run_at="2031-03-28T02:30:00Z", cadence="At 02:30 AM (UTC), from 2031-03-27T23:00:00+00:00",
        next_runs=[f"2031-0{day}T02:30:00Z" for day in ("3-28", "3-29", "3-30", "3-31", "4-01")], **overrides)


def expected_lifecycle(workflow_id: int) -> list[tuple[str, dict[str, Any]]]:
    """What :func:`lifecycle` must answer, normalised, on every path."""
    paused = weekday_schedule(workflow_id, status="paused", paused_reason="holiday",
                              paused_at="<time>", next_run_at=None, next_runs=[])
    nightly = nightly_schedule(workflow_id)

    def page(*items: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "result": {"items": list(items), "total": len(items), "limit": 50, "offset": 0}}

    return [
        ("schedule_create", {"ok": True, "result": weekday_schedule(workflow_id)}),
        ("schedule_create", {"ok": True, "result": nightly_schedule(workflow_id)}),
        ("schedule_pause", {"ok": True, "result": paused}),
        ("schedule_pause", {"ok": True, "result": paused}),
        ("schedule_list", page(paused)),
        ("schedule_list", page(nightly)),
        ("schedule_resume", {"ok": True, "result": weekday_schedule(workflow_id)}),
        ("schedule_stop", {"ok": True, "result": {"deleted": True, "id": "<weekday>", "name": "weekday"}}),
        ("schedule_stop", refusal("ScheduleNotFound", "not_found", "id", "schedule <weekday> not found",
                                  NOT_FOUND_HINT)),
        ("schedule_stop", {"ok": True, "result": {"deleted": True, "id": "<nightly>", "name": "nightly"}}),
    ]


def test_the_lifecycle_answers_as_written(caller: Caller, target: int) -> None:
    """Pause twice (idempotent), list by status, resume, stop, stop again (not_found): as written here."""
    transcript = lifecycle(caller, target)

    expected = expected_lifecycle(target)
    assert [tool for tool, _ in transcript] == [tool for tool, _ in expected]
    for index, ((tool, got), (_, want)) in enumerate(zip(transcript, expected, strict=True)):
        assert got == want, f"{caller.path}, step {index} ({tool})"
    assert transcript[3] == transcript[2]  # pausing a paused schedule: the same answer, no error
    assert stored_schedules() == []
    actions = [(action, actor) for _, action, actor in trail()]
    # The second pause (same reason) changes nothing and records nothing.
    assert actions == [("create", "user:alice"), ("create", "user:alice"), ("pause", "user:alice"),
                       ("resume", "user:alice"), ("delete", "user:alice"),
                       ("delete", "user:alice")]


# -- 5. another user's schedule ---------------------------------------------------------------------------


def test_another_users_schedule_is_not_found_and_untouched(caller: Caller, bob: ApiUser) -> None:
    """Bob's schedule id to pause, resume, stop: not_found with the schedule_list hint; his row unchanged."""
    theirs = make_schedule(bob, make_workflow(bob)).id
    before, trail_before = stored_schedules(), trail()
    not_found = refusal("ScheduleNotFound", "not_found", "id", f"schedule {theirs} not found", NOT_FOUND_HINT)

    attempts = [("schedule_pause", {"schedule_id": theirs, "reason": "mine now"}),
                ("schedule_resume", {"schedule_id": theirs}), ("schedule_stop", {"schedule_id": theirs})]
    for tool, arguments in attempts:
        assert caller.call(tool, arguments) == not_found, tool
        assert caller.last_flag == REFUSAL_FLAGS[caller.path]["not_found"], tool
    listed = caller.call("schedule_list", {})
    assert listed == {"ok": True, "result": {"items": [], "total": 0, "limit": 50, "offset": 0}}

    assert stored_schedules() == before and before[0]["status"] == "active"
    assert trail() == trail_before == [(theirs, "create", "user:bob")]


# -- identical over the four paths --------------------------------------------------------------------------


def disagreements(transcripts: dict[str, list[tuple[str, dict[str, Any]]]]) -> list[str]:
    """Each step where the paths' answers are not all equal, naming which paths gave which answer."""
    found = []
    for index, (tool, _) in enumerate(transcripts[PATHS[0]]):
        groups: list[tuple[dict[str, Any], list[str]]] = []
        for path in PATHS:
            answer = transcripts[path][index][1]
            same = next((paths for seen, paths in groups if seen == answer), None)
            if same is None:
                groups.append((answer, [path]))
            else:
                same.append(path)
        if len(groups) > 1:
            answers = "\n".join(f"  {', '.join(paths)}: {answer}" for answer, paths in groups)
            found.append(f"step {index} ({tool}) differs:\n{answers}")
    return found


def test_every_path_gives_identical_answers(callers: dict[str, Caller], target: int) -> None:
    """The lifecycle's normalised answers from all four paths, in one database, are identical."""
    transcripts = {path: lifecycle(caller, target) for path, caller in callers.items()}

    steps = {path: [tool for tool, _ in transcript] for path, transcript in transcripts.items()}
    assert all(tools == steps[PATHS[0]] for tools in steps.values()), steps
    assert not disagreements(transcripts), "\n".join(disagreements(transcripts))
    assert len(steps[PATHS[0]]) == 10 and stored_schedules() == []
