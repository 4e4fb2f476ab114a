"""The agent node against a scripted OpenAI-compatible server, over a real HTTP round trip, on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rqflow.db import session_scope
from rqflow.engine.runner import run_workflow
from rqflow.models import Schedule, Workflow, WorkflowRun
from rqflow.services.workflow_graphs import load_graph
from rqflow.settings import Settings, get_settings
from tests.integration.conftest import ApiUser, make_user, make_workflow
from tests.llm_stub import ChatRequest, LlmStub, Reply, ToolCall, error, final, strict_problems, tool_calls
from tests.loopback_server import LoopbackServer, http_answer

PROMPT = "Schedule the {{ event.report }} report at 09:00 on weekdays, Berlin time, then pause it."
CREATE_ARGS = {"name": "weekday-report", "schedule_type": "cron", "cron_expression": "0 9 * * 1-5",
               "timezone": "Europe/Berlin", "description": None, "max_runs": None}


@dataclass
class Outcome:
    """What one workflow run left behind: its status and error, and the agent node run's."""

    status: str
    error: str
    node_status: str
    output: Any
    node_error: str


@pytest.fixture
def llm(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[LlmStub]:
    """A running stub with an empty script, set as the endpoint (with a key) in the settings."""
    with LlmStub() as stub:
        monkeypatch.setenv("RQFLOW_LLM_BASE_URL", stub.base_url)
        monkeypatch.setenv("RQFLOW_LLM_API_KEY", "sk-test-operator")
        get_settings.cache_clear()
        yield stub


@pytest.fixture
def target(alice: ApiUser) -> int:
    """The workflow the agent schedules (trigger -> echo)."""
    return make_workflow(alice)


def agent_workflow(alice: ApiUser, target: int, **agent_config: Any) -> int:
    """trigger -> agent, with tool edges to schedule_create (workflow preset), schedule_list and schedule_pause."""
    nodes = [
        {"key": "t", "component_type": "trigger_schedule", "config": {}},
        {"key": "assistant", "component_type": "agent", "config": {"prompt": PROMPT, **agent_config}},
        {"key": "create_report_schedule", "component_type": "schedule_create", "config": {"workflow_id": target}},
        {"key": "list_schedules", "component_type": "schedule_list", "config": {}},
        {"key": "pause_schedule", "component_type": "schedule_pause", "config": {}},
    ]
    edges = [{"source": "t", "target": "assistant"},
             *({"source": "assistant", "target": key, "kind": "tool"}
               for key in ("create_report_schedule", "list_schedules", "pause_schedule"))]
    return make_workflow(alice, name="assistant", nodes=nodes, edges=edges)


def run(alice: ApiUser, workflow_id: int) -> Outcome:
    """Run the workflow from its trigger as Alice, as a firing would."""
    with session_scope() as db:
        graph = load_graph(db, workflow_id)
        assert graph is not None
        finished = run_workflow(db=db, graph=graph, trigger=graph.node("t"), event_type="schedule",
                                event={"report": "sales"}, owner_id=alice.id)
        result = db.get(WorkflowRun, finished.id)
        assert result is not None
        node = next(n for n in result.node_runs if n.node_key == "assistant")
        return Outcome(result.status, result.error, node.status, node.output, node.error)


def schedules() -> list[Schedule]:
    with session_scope() as db:
        return list(db.scalars(select(Schedule).order_by(Schedule.created_at)))


def pause_the_created_one(request: ChatRequest) -> Reply:
    """Pause the schedule the first tool result created, by its id."""
    created = request.tool_results()[0]["result"]["id"]
    return tool_calls(ToolCall("pause_schedule", {"schedule_id": created, "reason": "holiday", "until": None}))


def test_the_agent_creates_lists_and_pauses_a_schedule(alice: ApiUser, target: int, llm: LlmStub) -> None:
    llm.script = [tool_calls(ToolCall("create_report_schedule", CREATE_ARGS)),
                  tool_calls(ToolCall("list_schedules", {"status": None, "name": None, "limit": None, "offset": None})),
                  pause_the_created_one, final("weekday-report is set for 09:00 Berlin time, and paused.")]
    outcome = run(alice, agent_workflow(alice, target, system="You manage schedules."))

    assert outcome.status == "succeeded", outcome.error
    [job] = schedules()
    assert (job.workflow_id, job.cron_expression, job.timezone, job.status) == (
        target, "0 9 * * 1-5", "Europe/Berlin", "paused")
    output = outcome.output
    assert output["answer"].startswith("weekday-report is set") and output["steps"] == 4
    assert output["model"] == "stub-model"
    calls = output["tool_calls"]
    assert [(c["name"], c["tool"]) for c in calls] == [("create_report_schedule", "schedule_create"),
                                                       ("list_schedules", "schedule_list"),
                                                       ("pause_schedule", "schedule_pause")]
    assert all(c["answer"]["ok"] for c in calls)
    assert calls[0]["arguments"] == {**CREATE_ARGS, "workflow_id": target}  # the preset is merged in
    assert calls[1]["answer"]["result"]["total"] == 1
    assert calls[2]["arguments"]["schedule_id"] == job.id and calls[2]["answer"]["result"]["status"] == "paused"


def test_the_requests_offer_strict_functions_and_feed_the_answers_back(
    alice: ApiUser, target: int, llm: LlmStub
) -> None:
    llm.script = [tool_calls(ToolCall("create_report_schedule", CREATE_ARGS)),
                  tool_calls(ToolCall("list_schedules", {})), pause_the_created_one, final("done")]
    outcome = run(alice, agent_workflow(alice, target, system="You manage schedules.", temperature=0))

    assert len(llm.requests) == 4
    first = llm.requests[0]
    assert first.headers["authorization"] == "Bearer sk-test-operator"
    assert first.body["model"] == "gpt-4o-mini" and first.body["tool_choice"] == "auto"
    assert first.body["temperature"] == 0
    assert first.messages == [{"role": "system", "content": "You manage schedules."},
                              {"role": "user", "content": PROMPT.replace("{{ event.report }}", "sales")}]
    functions = first.functions
    assert sorted(functions) == ["create_report_schedule", "list_schedules", "pause_schedule"]
    for name, function in functions.items():
        assert function["strict"] is True and function["description"], name
        assert function["parameters"]["type"] == "object"
        assert strict_problems(function["parameters"]) == [], name
    create = functions["create_report_schedule"]["parameters"]
    assert "workflow_id" not in create["properties"] and "workflow_id" not in create["required"]
    assert {"name", "cron_expression", "timezone"} <= set(create["required"])
    assert functions["pause_schedule"]["parameters"]["required"] == ["schedule_id", "reason", "until"]

    recorded = outcome.output["tool_calls"]
    for request, call in zip(llm.requests[1:], recorded, strict=True):
        assistant, answer = request.messages[-2:]
        assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["id"] == call["id"]
        assert answer["role"] == "tool" and answer["tool_call_id"] == call["id"]
        assert request.tool_results()[-1] == call["answer"]
        assert request.tools == first.tools  # the same functions at every step


def test_mistakes_of_the_model_are_fed_back_and_the_agent_goes_on(
    alice: ApiUser, target: int, llm: LlmStub
) -> None:
    llm.script = [tool_calls(ToolCall("create_report_schedule", '{"name": "weekday-report", ')),
                  tool_calls(ToolCall("schedule_create", CREATE_ARGS)),
                  tool_calls(ToolCall("create_report_schedule", {**CREATE_ARGS, "cron_expression": "0 9 * * 1-5 *"})),
                  tool_calls(ToolCall("create_report_schedule", CREATE_ARGS)),
                  final("created on the fourth try")]
    outcome = run(alice, agent_workflow(alice, target))

    assert outcome.status == "succeeded", outcome.error
    answers = [call["answer"] for call in outcome.output["tool_calls"]]
    assert [a["ok"] for a in answers] == [False, False, False, True]
    assert [a["error"]["type"] for a in answers[:3]] == ["InvalidArguments", "UnknownTool", "InvalidCronExpression"]
    assert "create_report_schedule" in answers[1]["error"]["hint"]  # names the functions offered
    assert "five fields" in answers[2]["error"]["hint"] and answers[2]["error"]["field"] == "cron_expression"
    assert llm.requests[3].tool_results()[-1] == answers[2]  # the refusal with its hint reached the model
    assert [job.cron_expression for job in schedules()] == ["0 9 * * 1-5"]


def test_each_tool_call_is_committed_before_the_model_is_asked_again(
    alice: ApiUser, target: int, llm: LlmStub
) -> None:
    seen: list[list[str]] = []

    def look_and_write(request: ChatRequest) -> Reply:
        seen.append([job.status for job in schedules()])  # another connection sees only committed rows
        make_user("carol")  # on SQLite this would wait for a write lock the agent still held
        return final("done")

    llm.script = [tool_calls(ToolCall("create_report_schedule", CREATE_ARGS)), look_and_write]
    outcome = run(alice, agent_workflow(alice, target, timeout_seconds=10))

    assert outcome.status == "succeeded", outcome.error
    assert seen == [["active"]]


def test_reaching_max_steps_fails_the_node(alice: ApiUser, target: int, llm: LlmStub) -> None:
    llm.script = [tool_calls(ToolCall("list_schedules", {}))] * 3
    outcome = run(alice, agent_workflow(alice, target, max_steps=2))

    assert outcome.status == "failed" and outcome.node_status == "failed"
    assert "max_steps=2" in outcome.node_error and "list_schedules, list_schedules" in outcome.node_error
    assert len(llm.requests) == 2
    assert outcome.output["answer"] is None and outcome.output["steps"] == 2  # the failed run keeps the record
    assert [call["name"] for call in outcome.output["tool_calls"]] == ["list_schedules"] * 2


def test_an_endpoint_error_fails_the_node_with_its_status(alice: ApiUser, target: int, llm: LlmStub) -> None:
    llm.script = [tool_calls(ToolCall("create_report_schedule", CREATE_ARGS)),
                  error(500, {"error": {"message": "the model is overloaded"}})]
    outcome = run(alice, agent_workflow(alice, target))

    assert outcome.status == "failed" and outcome.node_status == "failed"
    assert "answered 500" in outcome.node_error and "the model is overloaded" in outcome.node_error
    [job] = schedules()  # the call made before the failure stands, as the model was told, and is recorded
    [call] = outcome.output["tool_calls"]
    assert call["answer"]["result"]["id"] == job.id and outcome.output["steps"] == 2


def test_each_key_goes_only_to_its_own_provider(
    alice: ApiUser, target: int, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """The operator's default, a team's provider (its models and users), and a node's own endpoint, which gets no key."""
    with LlmStub([final("a")] * 3) as operator, LlmStub([final("b")]) as team, LlmStub([final("c")]) as own:
        monkeypatch.setenv("RQFLOW_LLM_BASE_URL", operator.base_url)
        monkeypatch.setenv("RQFLOW_LLM_API_KEY", "sk-operator")
        monkeypatch.setenv("RQFLOW_LLM_PROVIDERS", json.dumps({"team": {
            "base_url": team.base_url, "api_key": "sk-team", "models": ["team-model"], "users": ["alice"]}}))
        get_settings.cache_clear()
        assert "sk-operator" not in repr(get_settings()) and "sk-team" not in repr(get_settings())
        outcomes = [run(alice, agent_workflow(alice, target)),
                    run(alice, agent_workflow(alice, target, provider="team")),
                    run(alice, agent_workflow(alice, target, base_url=own.base_url, model="llama")),
                    run(alice, agent_workflow(alice, target, provider="team", model="gpt-4o"))]
        bob = make_user("bob")
        refused = run(bob, agent_workflow(bob, target, provider="team"))
    assert [o.status for o in outcomes] == ["succeeded", "succeeded", "succeeded", "failed"]
    assert "offers the models team-model, not 'gpt-4o'" in outcomes[3].node_error
    assert refused.status == "failed" and "not available to user 'bob'" in refused.node_error
    [to_operator], [to_team], [to_own] = operator.requests, team.requests, own.requests
    assert to_operator.headers["authorization"] == "Bearer sk-operator"
    assert to_team.headers["authorization"] == "Bearer sk-team" and to_team.body["model"] == "team-model"
    assert "authorization" not in to_own.headers and to_own.body["model"] == "llama"


def test_a_misspelt_preset_fails_the_node_naming_it(alice: ApiUser, target: int, llm: LlmStub) -> None:
    workflow_id = agent_workflow(alice, target)
    with session_scope() as db:
        workflow = db.get(Workflow, workflow_id)
        assert workflow is not None
        node = next(n for n in workflow.nodes if n.key == "list_schedules")
        node.config = {"stauts": "active"}
    outcome = run(alice, workflow_id)

    assert outcome.node_status == "failed" and "stauts" in outcome.node_error
    assert llm.requests == []


API = "/api/v1/workflows"
AGENT = {"key": "assistant", "component_type": "agent", "config": {"prompt": "Keep the reports on time."}}
TRIGGER = {"key": "t", "component_type": "trigger_schedule", "config": {}}


@pytest.mark.parametrize(
    ("nodes", "edges", "field", "named"),
    [
        ([TRIGGER, AGENT,
          {"key": "echo", "component_type": "python_call", "config": {"callable": "tests.integration.conftest:echo"}}],
         [{"source": "t", "target": "assistant"}, {"source": "assistant", "target": "echo", "kind": "tool"}],
         "edges.1.target", "'echo'"),
        ([TRIGGER, {"key": "lister", "component_type": "schedule_list", "config": {}}],
         [{"source": "t", "target": "lister", "kind": "tool"}], "edges.0.source", "'t'"),
        ([TRIGGER, {**AGENT, "config": {"prompt": "x", "api_key": "sk-literal"}}], [], "nodes.1.config.api_key", "api_key"),
        ([TRIGGER, {**AGENT, "config": {"prompt": "x", "api_key_env": "RQFLOW_LLM_API_KEY_TEAM"}}], [],
         "nodes.1.config.api_key_env", "name one with 'provider'"),
        ([TRIGGER, {**AGENT, "config": {"prompt": "x", "provider": "nope"}}], [],
         "nodes.1.config.provider", "unknown provider 'nope'"),
        ([TRIGGER, {**AGENT, "config": {"prompt": "x", "provider": "default", "base_url": "https://x.example/v1"}}], [],
         "nodes.1.config", "either provider"),
    ],
)
def test_a_wrong_agent_graph_is_refused(
    client: TestClient, alice: ApiUser, nodes: list[dict[str, Any]], edges: list[dict[str, Any]], field: str,
    named: str
) -> None:
    response = client.post(API, json={"name": "assistant", "nodes": nodes, "edges": edges}, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field and named in response.json()["message"]


def test_an_agent_with_its_tools_is_saved(client: TestClient, alice: ApiUser, target: int) -> None:
    tools = [{"key": "create", "component_type": "schedule_create", "config": {"workflow_id": target}},
             {"key": "pause", "component_type": "schedule_pause", "config": {}}]
    edges = [{"source": "t", "target": "assistant"},
             *({"source": "assistant", "target": tool["key"], "kind": "tool"} for tool in tools)]
    response = client.post(API, json={"name": "assistant", "nodes": [TRIGGER, AGENT, *tools], "edges": edges},
                           headers=alice.headers)
    assert response.status_code == 201, response.text
    assert [e["kind"] for e in response.json()["edges"]] == ["flow", "tool", "tool"]


def test_an_endpoints_answer_is_read_within_the_size_limit(alice: ApiUser, target: int, settings: Settings) -> None:
    """A node's own endpoint answering 2 MiB fails the node instead of filling the worker's memory."""
    huge = http_answer("200 OK", b'{"choices": ["' + b"x" * (2 * 1024 * 1024) + b'"]}', "Content-Type: application/json")
    with LoopbackServer(huge) as server:
        outcome = run(alice, agent_workflow(alice, target, base_url=f"{server.url}v1"))
    assert outcome.node_status == "failed" and "larger than 1,048,576 bytes" in outcome.node_error
