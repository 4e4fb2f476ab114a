"""Access control for every route and every tool, on SQLite and PostgreSQL.

The routes come from the app's own OpenAPI document, and each must be classified below
(:data:`PUBLIC`, :data:`PATH_IDS`, :data:`BODY_IDS` or :data:`NO_IDS`); the tools come from the
tool catalog and each must be in :data:`TOOL_CALLS`. A new route or tool without a row fails
``test_every_route_and_tool_is_classified``, and the generic tests then hold it to the rules:

- **401** without a token, with a wrong one, a tampered one or another scheme, on every route but
  the public ones, with and without a trailing slash; and nothing changes.
- **404** when Bob names Alice's row in the path (the same answer as for an id that does not
  exist, so an id's existence does not leak), and no row of any table changes.
- **422 naming the field** when Bob names Alice's row in a body (her workflow, her trigger node):
  the same answer as for a workflow that does not exist.
- **Lists** (and every read of Bob's own rows) never show Alice's rows: her names and payload carry
  a marker that must not appear in any answer Bob gets. A workflow of Bob's that points at Alice's
  schedule stores the reference but never runs for it: triggers resolve among the event owner's
  workflows only.
- **Tokens** are stored as SHA-256 digests (no column of any table holds a token), looked up by
  digest (the token never reaches the database) and compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from rqflow.app import create_app
from rqflow.components.tool_catalog import list_tools
from rqflow.db import session_scope
from rqflow.events import ScheduleTarget
from rqflow.models import UserProfile
from rqflow.services import users
from rqflow.services.triggers import TriggerResolver
from rqflow.settings import Settings
from tests.integration.conftest import WORKFLOW, ApiUser
from tests.integration.security.conftest import World, capture, snapshot

DOCUMENT = create_app(Settings()).openapi()
OPERATIONS = sorted((method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item)

Body = Callable[[World, World], dict[str, Any] | None]  # (Alice's world, Bob's world) -> what Bob sends

# Answer without a token, on purpose (/docs and /openapi.json are not operations of the document).
PUBLIC = {("GET", "/livez"), ("GET", "/readyz")}
# Operations that name a row in their path, and the body Bob sends when he names Alice's.
PATH_IDS: dict[tuple[str, str], Body] = {
    ("GET", "/api/v1/schedules/{schedule_id}"): lambda a, b: None,
    ("PATCH", "/api/v1/schedules/{schedule_id}"): lambda a, b: {"name": "taken", "interval_seconds": 120},
    ("DELETE", "/api/v1/schedules/{schedule_id}"): lambda a, b: None,
    ("POST", "/api/v1/schedules/{schedule_id}/pause"): lambda a, b: {"reason": "taken"},
    ("POST", "/api/v1/schedules/{schedule_id}/resume"): lambda a, b: None,
    ("POST", "/api/v1/schedules/{schedule_id}/stop"): lambda a, b: None,
    ("POST", "/api/v1/schedules/{schedule_id}/trigger"): lambda a, b: None,
    ("GET", "/api/v1/schedules/{schedule_id}/runs"): lambda a, b: None,
    ("POST", "/api/v1/schedules/{schedule_id}/backfill"): lambda a, b: {"start": "2026-01-01T00:00:00Z",
                                                                       "end": "2026-01-01T01:00:00Z"},
    ("GET", "/api/v1/schedules/{schedule_id}/history"): lambda a, b: None,
    ("GET", "/api/v1/schedules/{schedule_id}/notifications"): lambda a, b: None,
    ("POST", "/api/v1/schedules/{schedule_id}/notifications/test"): lambda a, b: None,
    ("GET", "/api/v1/workflows/{workflow_id}"): lambda a, b: None,
    ("PATCH", "/api/v1/workflows/{workflow_id}"): lambda a, b: {"name": "taken", "nodes": WORKFLOW["nodes"]},
    ("DELETE", "/api/v1/workflows/{workflow_id}"): lambda a, b: None,
    ("GET", "/api/v1/workflows/{workflow_id}/runs"): lambda a, b: None,
    ("GET", "/api/v1/workflow-runs/{run_id}"): lambda a, b: None,
    ("DELETE", "/api/v1/tokens/{token_id}"): lambda a, b: None,
}
# Operations that name rows in their body: Bob's request naming Alice's row, and the field refused.
BODY_IDS: dict[tuple[str, str], list[tuple[str, str, Body]]] = {
    ("POST", "/api/v1/schedules"): [
        ("her workflow", "workflow_id", lambda a, b: {"name": "n", "workflow_id": a.workflow_id,
                                                      "schedule_type": "interval", "interval_seconds": 60}),
        ("her trigger node", "trigger_node_id", lambda a, b: {
            "name": "n", "workflow_id": b.workflow_id, "trigger_node_id": a.trigger_node_id,
            "schedule_type": "interval", "interval_seconds": 60}),
    ],
}
# Operations that name no row: what Bob gets holds only his own rows (checked for every GET below).
NO_IDS = {
    ("GET", "/api/v1/schedules"), ("GET", "/api/v1/workflows"), ("GET", "/api/v1/components"),
    ("GET", "/api/v1/tools"), ("POST", "/api/v1/schedules/preview"),
    # Workflows name schedules only inside a trigger's config; see test_a_trigger_on_her_schedule_never_runs.
    ("POST", "/api/v1/workflows"),
    # Tokens: a listing shows only the caller's own; a new one is always the caller's.
    ("GET", "/api/v1/tokens"), ("POST", "/api/v1/tokens"),
    # The webhook secret: always the caller's own (shown, or replaced).
    ("GET", "/api/v1/webhook-secret"), ("POST", "/api/v1/webhook-secret/rotate"),
}
TOOLS_ROUTE = ("POST", "/api/v1/tools/{name}/invoke")
# Every tool: Bob's arguments naming Alice's rows, and the answer (status, field) he must get.
TOOL_CALLS: dict[str, list[tuple[Body, int, str | None]]] = {
    "schedule_create": [
        (lambda a, b: {"name": "n", "workflow_id": a.workflow_id, "schedule_type": "cron",
                       "cron_expression": "0 9 * * *"}, 422, "workflow_id"),
        (lambda a, b: {"name": "n", "workflow_id": b.workflow_id, "trigger_node_id": a.trigger_node_id,
                       "schedule_type": "cron", "cron_expression": "0 9 * * *"}, 422, "trigger_node_id"),
    ],
    "schedule_pause": [(lambda a, b: {"schedule_id": a.schedule_id, "reason": "taken"}, 404, "id")],
    "schedule_resume": [(lambda a, b: {"schedule_id": a.schedule_id}, 404, "id")],
    "schedule_stop": [(lambda a, b: {"schedule_id": a.schedule_id}, 404, "id")],
    # Names no row: its answer must list Bob's schedule alone (test_schedule_list_shows_only_your_rows).
    "schedule_list": [(lambda a, b: {}, 200, None)],
}
UNKNOWN_SCHEDULE = "00000000-0000-4000-8000-000000000000"
UNKNOWN_ID = 2_000_000_000


def test_every_route_and_tool_is_classified() -> None:
    classified = [*PUBLIC, *PATH_IDS, *BODY_IDS, *NO_IDS, TOOLS_ROUTE]
    assert sorted(classified) == OPERATIONS, "classify the new route in test_access_control.py"
    assert sorted(TOOL_CALLS) == sorted(tool.component_type for tool in list_tools()), "add the new tool"


def url_for(path: str, world: World) -> str:
    """``path`` with its ids taken from ``world``."""
    return path.format(schedule_id=world.schedule_id, workflow_id=world.workflow_id, run_id=world.workflow_run_id,
                       token_id=world.token_id, name="schedule_list")


def assert_no_trace_of(world: World, response: Any) -> None:
    """Nothing of ``world``'s names or payloads is in the answer."""
    assert world.marker not in response.text, response.text[:500]


@pytest.fixture
def worlds(alice_world: World, bob_world: World) -> Iterator[tuple[World, World]]:
    yield alice_world, bob_world


@pytest.mark.parametrize(("method", "path"), sorted(PATH_IDS), ids=[f"{m} {p}" for m, p in sorted(PATH_IDS)])
def test_bob_naming_alices_row_in_the_path_gets_404_and_changes_nothing(
    client: TestClient, worlds: tuple[World, World], method: str, path: str
) -> None:
    alice, bob = worlds
    body = PATH_IDS[(method, path)](alice, bob)
    before = snapshot()
    response = client.request(method, url_for(path, alice), json=body, headers=bob.user.headers)
    assert response.status_code == 404, response.text
    assert snapshot() == before
    assert_no_trace_of(alice, response)
    unknown = World(bob.user, UNKNOWN_ID, UNKNOWN_ID, UNKNOWN_SCHEDULE, UNKNOWN_ID, UNKNOWN_ID, UNKNOWN_ID)
    missing = client.request(method, url_for(path, unknown), json=body, headers=bob.user.headers)
    assert (missing.status_code, missing.json()["field"]) == (404, response.json()["field"])
    assert _without_ids(missing.json()["message"]) == _without_ids(response.json()["message"])
    assert client.request(method, url_for(path, alice), json=body, headers=alice.user.headers).status_code < 300


@pytest.mark.parametrize(
    ("route", "label", "field", "body"),
    [(route, label, field, body) for route, cases in BODY_IDS.items() for label, field, body in cases],
    ids=[f"{route[0]} {route[1]} {label}" for route, cases in BODY_IDS.items() for label, _, _ in cases],
)
def test_bob_naming_alices_row_in_a_body_is_refused_naming_the_field(
    client: TestClient, worlds: tuple[World, World], route: tuple[str, str], label: str, field: str, body: Body
) -> None:
    alice, bob = worlds
    before = snapshot()
    response = client.request(route[0], route[1], json=body(alice, bob), headers=bob.user.headers)
    assert (response.status_code, response.json()["field"]) == (422, field), response.text
    assert snapshot() == before
    assert_no_trace_of(alice, response)


@pytest.mark.parametrize(
    ("tool", "call"), [(tool, call) for tool, calls in TOOL_CALLS.items() for call in calls],
    ids=[f"{tool}-{index}" for tool, calls in TOOL_CALLS.items() for index in range(len(calls))],
)
def test_bob_naming_alices_rows_in_a_tool_call_is_refused_and_changes_nothing(
    client: TestClient, worlds: tuple[World, World], tool: str, call: tuple[Body, int, str | None]
) -> None:
    alice, bob = worlds
    arguments, status, field = call
    before = snapshot()
    response = client.post(f"/api/v1/tools/{tool}/invoke", json=arguments(alice, bob), headers=bob.user.headers)
    assert response.status_code == status, response.text
    answer = response.json()
    assert (answer["error"]["field"] if not answer["ok"] else None) == field
    assert snapshot() == before
    assert_no_trace_of(alice, response)


def test_schedule_list_shows_only_your_rows(client: TestClient, worlds: tuple[World, World]) -> None:
    alice, bob = worlds
    for me in (alice, bob):
        answer = client.post("/api/v1/tools/schedule_list/invoke", json={}, headers=me.user.headers).json()
        assert [item["id"] for item in answer["result"]["items"]] == [me.schedule_id]
        assert answer["result"]["total"] == 1


@pytest.mark.parametrize("path", sorted(path for method, path in OPERATIONS if method == "GET"))
def test_every_read_of_bobs_own_rows_shows_nothing_of_alices(
    client: TestClient, worlds: tuple[World, World], path: str
) -> None:
    alice, bob = worlds
    response = client.get(url_for(path, bob), headers=bob.user.headers)
    assert response.status_code == 200, response.text
    assert_no_trace_of(alice, response)
    if path in ("/api/v1/schedules", "/api/v1/workflows"):  # the search would find a marker: Bob's is there
        assert response.json()["total"] == 1 and bob.marker in response.text


def test_a_trigger_on_her_schedule_never_runs_for_it(client: TestClient, worlds: tuple[World, World]) -> None:
    alice, bob = worlds
    listener = {**WORKFLOW, "name": "listener", "nodes": [
        {"key": "by_id", "component_type": "trigger_schedule", "config": {"scheduled_job_id": alice.schedule_id}},
        {"key": "by_name", "component_type": "trigger_schedule", "config": {"name_pattern": "*"}},
        {"key": "echo", "component_type": "python_call", "config": {"callable": "tests.integration.conftest:echo"}},
    ], "edges": [{"source": "by_id", "target": "echo"}, {"source": "by_name", "target": "echo"}]}
    created = client.post("/api/v1/workflows", json=listener, headers=bob.user.headers)
    assert created.status_code == 201, created.text  # the reference is stored; it is inert
    target = ScheduleTarget(alice.schedule_id, f"{alice.marker}-schedule", alice.workflow_id)
    with session_scope() as db:
        owner = db.get(UserProfile, alice.user.id)
        assert owner is not None
        nodes = TriggerResolver(db).started_by(target, owner.id)
        assert {node.workflow_id for node in nodes} == {alice.workflow_id}


def test_a_missing_or_wrong_token_is_401_everywhere_and_changes_nothing(
    client: TestClient, worlds: tuple[World, World]
) -> None:
    alice, bob = worlds
    token = alice.user.token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    wrong: list[dict[str, str]] = [
        {}, {"Authorization": "Bearer rqf_not-a-token"}, {"Authorization": f"Bearer {tampered}"},
        {"Authorization": f"Basic {token}"}, {"Authorization": token}, {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {hashlib.sha256(token.encode()).hexdigest()}"},  # the stored digest itself
    ]
    before = snapshot()
    for method, path in sorted(set(OPERATIONS) - PUBLIC):
        body = PATH_IDS.get((method, path), lambda a, b: None)(alice, bob)
        for url in (url_for(path, alice), url_for(path, alice) + "/"):
            for headers in wrong:
                response = client.request(method, url, json=body, headers=headers)
                assert response.status_code == 401, (method, url, headers, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json()["message"]
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/docs", "/openapi.json"])
def test_the_public_routes_answer_without_a_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_tokens_are_stored_as_digests_only(worlds: tuple[World, World]) -> None:
    stored = json.dumps(capture(), default=str)
    for world in worlds:
        token = world.user.token
        assert token not in stored and token.removeprefix(users.TOKEN_PREFIX) not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_tokens_are_looked_up_by_digest_and_compared_in_constant_time(
    client: TestClient, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[str, str]] = []
    real_compare = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(users.hmac, "compare_digest", spy)
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        sent.append(f"{statement} {parameters!r}")

    event.listen(Engine, "before_cursor_execute", record)
    try:
        assert client.get("/api/v1/schedules", headers=alice.headers).status_code == 200
        assert client.get("/api/v1/schedules", headers={"Authorization": "Bearer rqf_wrong"}).status_code == 401
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    digest = users.digest_token(alice.token)
    assert compared == [(digest, digest)], "the stored digest is compared with hmac.compare_digest"
    assert not any(alice.token in text or "rqf_wrong" in text for text in sent), "a token reached the database"
    assert any(digest in text for text in sent), "the token is looked up by its digest"


def _without_ids(message: str) -> str:
    return re.sub(r"[0-9a-f-]{36}|\d+", "<id>", message)
