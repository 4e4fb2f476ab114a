"""A catalogue of hostile requests to every route and tool that takes input, on SQLite and PostgreSQL.

Each row of :data:`CATALOGUE` lays a change over a body the route accepts (:data:`VALID`), or sends raw
bytes, and names the status and the ``field`` the answer must give; after each, every table holds
exactly the rows it held before (:func:`row_counts`). ``test_every_valid_body_is_accepted`` proves
the bodies are valid, so each refusal comes from the row's change.

What rqflow does, and this file holds it to:

- **Names may repeat.** Schedules share names as cron lines do (ids tell them apart); so do workflows
  and schedules made by the tool. Only user names are unique (``rqflow user create``).
- **Body size**: over ``RQFLOW_MAX_REQUEST_BODY_BYTES`` (1 MiB by default) answers 413, ``field`` ``body``,
  whether the size is declared or the body streams in chunks.
- **JSON that parses but cannot be stored** answers 422 before validation: nesting past 64 levels,
  ``NaN``/``Infinity``, a lone surrogate (``"\\ud800"``), an integer of thousands of digits. ``field``
  is the path to it where there is one (a body too deep for the parser itself has none).
- **NUL** is refused (422) in every named string field and query parameter, on both databases alike
  (PostgreSQL cannot store it in text). Inside free-form JSON (``trigger_payload``, a node's config) it
  is kept: both databases store JSON as escaped text. A path holding NUL or another control character
  answers 404.
- **Numbers** are bounded by what PostgreSQL's INTEGER holds (ids, counts, offsets), instants by the
  years 1970..9000; ``interval_seconds`` must be a JSON integer (not ``"60"``, ``60.5`` or ``true``).
- The **tool endpoint** answers a refusal in the tool shape (``{"ok": false, "error": {"field"...}}``),
  except where FastAPI refuses the body before the tool sees it (413, unstorable JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import WORKFLOW, ApiUser, make_schedule, make_workflow
from tests.integration.security.conftest import row_counts


@dataclass(frozen=True)
class Ids:
    """Alice's rows that the catalogue's paths and bodies name."""

    workflow_id: int
    schedule_id: str


@pytest.fixture
def ids(alice: ApiUser) -> Ids:
    workflow_id = make_workflow(alice)
    return Ids(workflow_id=workflow_id, schedule_id=make_schedule(alice, workflow_id).id)


SCHEDULES = "POST /api/v1/schedules"
PATCH_SCHEDULE = "PATCH /api/v1/schedules/{schedule_id}"
PREVIEW = "POST /api/v1/schedules/preview"
PAUSE = "POST /api/v1/schedules/{schedule_id}/pause"
BACKFILL = "POST /api/v1/schedules/{schedule_id}/backfill"
LIST_SCHEDULES = "GET /api/v1/schedules"
GET_SCHEDULE = "GET /api/v1/schedules/{schedule_id}"
WORKFLOWS = "POST /api/v1/workflows"
PATCH_WORKFLOW = "PATCH /api/v1/workflows/{workflow_id}"
GET_WORKFLOW = "GET /api/v1/workflows/{workflow_id}"
LIST_WORKFLOWS = "GET /api/v1/workflows"
TOOL_CREATE = "POST /api/v1/tools/schedule_create/invoke"
TOOL_PAUSE = "POST /api/v1/tools/schedule_pause/invoke"
TOOL_LIST = "POST /api/v1/tools/schedule_list/invoke"
TOOL_UNKNOWN = "POST /api/v1/tools/schedule_explode/invoke"

# A body each route accepts; a catalogue row changes it. None: the route takes no body.
VALID: dict[str, Callable[[Ids], dict[str, Any] | None]] = {
    SCHEDULES: lambda ids: {"name": "nightly", "workflow_id": ids.workflow_id, "schedule_type": "cron",
                            "cron_expression": "30 2 * * *", "timezone": "Europe/Berlin"},
    PATCH_SCHEDULE: lambda ids: {"name": "renamed"},
    PREVIEW: lambda ids: {"schedule_type": "cron", "cron_expression": "30 2 * * *", "timezone": "Europe/Berlin"},
    PAUSE: lambda ids: {"reason": "maintenance", "until": "2031-01-01T06:00:00+01:00"},
    BACKFILL: lambda ids: {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:10:00Z"},
    LIST_SCHEDULES: lambda ids: None,
    GET_SCHEDULE: lambda ids: None,
    WORKFLOWS: lambda ids: dict(WORKFLOW),
    PATCH_WORKFLOW: lambda ids: {"name": "renamed"},
    GET_WORKFLOW: lambda ids: None,
    LIST_WORKFLOWS: lambda ids: None,
    TOOL_CREATE: lambda ids: {"name": "weekday", "workflow_id": ids.workflow_id, "schedule_type": "cron",
                              "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
    TOOL_PAUSE: lambda ids: {"schedule_id": ids.schedule_id, "reason": "maintenance"},
    TOOL_LIST: lambda ids: {"status": "active"},
}
CADENCE_ROUTES = (SCHEDULES, PREVIEW, TOOL_CREATE)
INTERVAL = {"schedule_type": "interval", "cron_expression": None}
ONCE = {"schedule_type": "once", "cron_expression": None}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Bad:
    """One hostile request: a change laid over the route's valid body (a key set to DROP is removed),
    or ``raw`` bytes sent as the body; ``query`` and ``path`` override the URL's."""

    route: str
    change: dict[str, Any] = field(default_factory=dict)
    status: int = 422
    field: str | None = None
    raw: bytes | None = None
    query: str = ""
    path: str | None = None
    label: str = ""


DROP = object()


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def cadence_rows(change: dict[str, Any], field_name: str, label: str) -> list[Bad]:
    """The same change to every route that takes a cadence (create, preview, the tool; PATCH if it fits)."""
    rows = [Bad(route, change, field=field_name, label=label) for route in CADENCE_ROUTES]
    patch = {key: value for key, value in change.items() if value is not None}
    return [*rows, Bad(PATCH_SCHEDULE, patch, field=field_name, label=label)]


CRON_LINES = {"empty": "", "three fields": "* * *", "minute 61": "61 * * * *", "step 0": "*/0 * * * *",
              "six fields": "0 0 * * * *", "seven fields": "0 0 0 * * * *", "@reboot": "@reboot",
              "NUL": "0 9 * * *\x00"}
TIMEZONES = {"Mars": "Mars/Phobos", "path": "../../etc/passwd", "empty": "", "NUL": "UTC\x00",
             "localtime": "localtime"}
INTERVALS = {"0": 0, "-1": -1, "0.5": 0.5, "1e12": 1e12, "text": "sixty", "numeric text": "60", "true": True,
             "2**63": 2**63}

CATALOGUE: list[Bad] = [
    # Cron lines, timezones and intervals, on every route that takes a cadence.
    *[row for label, line in CRON_LINES.items()
      for row in cadence_rows({"cron_expression": line}, "cron_expression", f"cron {label}")],
    *[row for label, zone in TIMEZONES.items() for row in cadence_rows({"timezone": zone}, "timezone", f"tz {label}")],
    *[row for label, seconds in INTERVALS.items()
      for row in cadence_rows({**INTERVAL, "interval_seconds": seconds}, "interval_seconds", f"interval {label}")],
    # Instants: naive, out of range, a window that ends before it starts.
    *cadence_rows({"start_at": "2030-01-01T00:00:00"}, "start_at", "naive start_at"),
    *cadence_rows({"end_at": "2031-01-01 09:00"}, "end_at", "naive end_at"),
    *cadence_rows({**ONCE, "run_at": "2031-01-01T09:00:00"}, "run_at", "naive run_at"),
    *cadence_rows({"start_at": "0001-01-01T00:00:00+01:00"}, "start_at", "year 0 in UTC"),
    *cadence_rows({"end_at": "9999-12-31T23:59:59-01:00"}, "end_at", "year 10000 in UTC"),
    *cadence_rows({"start_at": "1969-12-31T23:59:59Z"}, "start_at", "before the epoch"),
    *cadence_rows({"start_at": "2031-01-01T00:00:00Z", "end_at": "2030-01-01T00:00:00Z"}, "end_at",
                  "start after end"),
    Bad(PREVIEW, {"after": "2030-01-01T00:00:00"}, field="after", label="naive after"),
    Bad(PAUSE, {"until": "2031-01-01T06:00:00"}, field="until", label="naive until"),
    Bad(TOOL_PAUSE, {"until": "2031-01-01T06:00:00"}, field="until", label="naive until"),
    Bad(BACKFILL, {"start": "2026-01-01T00:00:00"}, field="start", label="naive start"),
    Bad(BACKFILL, {"start": "2026-01-02T00:00:00Z"}, field="start", label="start after end"),
    Bad(BACKFILL, {"end": "2999-01-01T00:00:00Z"}, field="end", label="end in the future"),
    # Unknown fields, everywhere a body is read.
    *[Bad(route, {"surprise": 1}, field="surprise", label="unknown field")
      for route in (SCHEDULES, PATCH_SCHEDULE, PREVIEW, PAUSE, BACKFILL, WORKFLOWS, PATCH_WORKFLOW, TOOL_CREATE,
                    TOOL_PAUSE, TOOL_LIST)],
    Bad(WORKFLOWS, {"nodes": [{**WORKFLOW["nodes"][0], "surprise": 1}]}, field="nodes.0.surprise",
        label="unknown node field"),
    # Names: empty, 10,000 characters, NUL, wrong type; and the ids and counts bodies carry.
    *[Bad(route, {"name": name}, field="name", label=label)
      for route in (SCHEDULES, PATCH_SCHEDULE, WORKFLOWS, PATCH_WORKFLOW, TOOL_CREATE)
      for label, name in {"empty": "", "10,000 characters": "n" * 10_000, "NUL": "a\x00b", "number": 5}.items()],
    *[Bad(route, {"description": "a\x00b"}, field="description", label="NUL description")
      for route in (SCHEDULES, PATCH_SCHEDULE, WORKFLOWS, TOOL_CREATE)],
    Bad(PAUSE, {"reason": "a\x00b"}, field="reason", label="NUL reason"),
    Bad(TOOL_PAUSE, {"reason": "a\x00b"}, field="reason", label="NUL reason"),
    Bad(TOOL_PAUSE, {"schedule_id": "a\x00b"}, field="schedule_id", label="NUL id"),
    Bad(TOOL_LIST, {"name": "a\x00b"}, field="name", label="NUL name filter"),
    Bad(LIST_SCHEDULES, query="name=a%00b", field="name", label="NUL name filter"),
    *[Bad(route, {"workflow_id": value}, field="workflow_id", label=label)
      for route in (SCHEDULES, TOOL_CREATE)
      for label, value in {"2**31": 2**31, "0": 0, "text": "one", "unknown": 999_999}.items()],
    *[Bad(route, {"max_runs": value}, field="max_runs", label=f"max_runs {value}")
      for route in (SCHEDULES, PATCH_SCHEDULE, TOOL_CREATE) for value in (0, 2**31)],
    Bad(SCHEDULES, {"trigger_node_id": 2**40}, field="trigger_node_id", label="trigger_node_id 2**40"),
    Bad(SCHEDULES, {"schedule_type": "hourly"}, field="schedule_type", label="unknown kind"),
    Bad(SCHEDULES, {"cron_expression": DROP}, field="cron_expression", label="cron without its line"),
    Bad(SCHEDULES, {"interval_seconds": 60}, field="interval_seconds", label="cron with an interval"),
    Bad(SCHEDULES, {"jitter_seconds": 86400 * 2}, field="jitter_seconds", label="jitter over a day"),
    Bad(TOOL_CREATE, {"trigger_payload": "[1, 2]"}, field="trigger_payload", label="payload not an object"),
    Bad(TOOL_CREATE, {"trigger_payload": "{"}, field="trigger_payload", label="payload not JSON"),
    Bad(TOOL_CREATE, {"trigger_payload": nested(5_000).decode()}, field="trigger_payload", label="payload too deep"),
    Bad(TOOL_CREATE, {"trigger_payload": '{"x": NaN}'}, field="trigger_payload", label="payload NaN"),
    Bad(TOOL_CREATE, {"trigger_payload": '{"x": "\\ud800"}'}, field="trigger_payload", label="payload surrogate"),
    Bad(PREVIEW, {"count": 1001}, field="count", label="count over 1000"),
    # Query strings and paths.
    *[Bad(route, query=query, field=name, label=query)
      for route in (LIST_SCHEDULES, LIST_WORKFLOWS)
      for name, query in (("limit", "limit=0"), ("limit", "limit=501"), ("limit", "limit=ten"),
                          ("offset", "offset=-1"), ("offset", f"offset={2**31}"))],
    Bad(LIST_SCHEDULES, query="status=sleeping", field="status", label="unknown status"),
    Bad(GET_WORKFLOW, path=f"/api/v1/workflows/{2**31}", field="workflow_id", label="id 2**31"),
    Bad(GET_WORKFLOW, path="/api/v1/workflows/0", field="workflow_id", label="id 0"),
    Bad(GET_SCHEDULE, path="/api/v1/schedules/abc%00def", status=404, label="NUL in the path"),
    Bad(GET_SCHEDULE, path="/api/v1/schedules/%0A", status=404, label="newline in the path"),
    Bad(TOOL_UNKNOWN, status=404, field="name", label="unknown tool"),
    # Workflow graphs.
    Bad(WORKFLOWS, {"nodes": []}, field="nodes", label="no nodes"),
    Bad(WORKFLOWS, {"nodes": "t"}, field="nodes", label="nodes not a list"),
    Bad(WORKFLOWS, {"nodes": [{"key": "1t", "component_type": "trigger_schedule"}]}, field="nodes.0.key",
        label="bad node key"),
    Bad(WORKFLOWS, {"nodes": [{"key": "t", "component_type": "rm_rf"}]}, field="nodes.0.component_type",
        label="unknown component"),
    Bad(WORKFLOWS, {"edges": [{"source": "t", "target": "ghost"}]}, field="edges.0.target", label="edge to nothing"),
    Bad(WORKFLOWS, {"edges": [{"source": "t", "target": "echo"}, {"source": "echo", "target": "t"}]}, field="edges",
        label="cycle"),
    Bad(PATCH_WORKFLOW, {"edges": []}, field="edges", label="edges without nodes"),
    # Bodies: too large, too deep, not storable.
    *[Bad(route, raw=b'{"name": "' + b"x" * (10 * MIB) + b'"}', status=413, field="body", label="10 MB body")
      for route in (SCHEDULES, WORKFLOWS, PAUSE, TOOL_CREATE)],
    *[Bad(route, raw=nested(10_000), label="nested 10,000 deep")
      for route in (SCHEDULES, PATCH_SCHEDULE, WORKFLOWS, PAUSE, TOOL_CREATE)],
    Bad(SCHEDULES, {"trigger_payload": json.loads(nested(65))}, field="trigger_payload", label="payload 65 deep"),
    Bad(WORKFLOWS, {"nodes": [{**WORKFLOW["nodes"][1], "config": {"kwargs": {"a": json.loads(nested(70))}}}]},
        field="nodes", label="config 70 deep"),
    Bad(SCHEDULES, raw=b'{"name": "n", "trigger_payload": {"x": NaN}}', label="NaN"),
    Bad(SCHEDULES, raw=b'{"name": "n", "trigger_payload": {"x": -Infinity}}', label="-Infinity"),
    Bad(SCHEDULES, raw=b'{"name": "n\\ud800"}', field="name", label="lone surrogate"),
    Bad(SCHEDULES, raw=b'{"name": "n", "trigger_payload": {"\\udfff": 1}}', field="trigger_payload",
        label="lone surrogate key"),
    Bad(TOOL_CREATE, raw=b'{"name": "n\\ud800"}', field="name", label="lone surrogate"),
    Bad(SCHEDULES, raw=b'{"max_runs": ' + b"9" * 5000 + b"}", label="5,000-digit integer"),
]


def send(client: TestClient, user: ApiUser, bad: Bad, ids: Ids) -> Any:
    """Send the row's request as ``user``."""
    method, route = bad.route.split(" ", 1)
    path = bad.path or route.format(schedule_id=ids.schedule_id, workflow_id=ids.workflow_id)
    url = f"{path}?{bad.query}" if bad.query else path
    headers = {**user.headers, "content-type": "application/json"}
    if bad.raw is not None:
        return client.request(method, url, content=bad.raw, headers=headers)
    body = VALID.get(bad.route, lambda ids: {})(ids)
    if body is None:
        return client.request(method, url, headers=user.headers)
    body = {key: value for key, value in {**body, **bad.change}.items() if value is not DROP}
    # json.dumps escapes NUL and lone surrogates, which httpx's json= cannot encode.
    return client.request(method, url, content=json.dumps(body), headers=headers)


def named_field(answer: dict[str, Any]) -> str | None:
    """The field an answer names: ``field`` in the REST shape, ``error.field`` in the tool shape."""
    return answer["error"]["field"] if "error" in answer else answer["field"]


@pytest.mark.parametrize("bad", CATALOGUE, ids=[f"{b.route} {b.label}" for b in CATALOGUE])
def test_hostile_input_is_refused_naming_the_field_and_writes_nothing(
    client: TestClient, alice: ApiUser, ids: Ids, bad: Bad
) -> None:
    before = row_counts()
    response = send(client, alice, bad, ids)
    assert response.status_code == bad.status, response.text[:500]
    answer = response.json()
    assert named_field(answer) == bad.field, answer
    message = answer["error"]["message"] if "error" in answer else answer["message"]
    assert message and len(response.content) < 20_000, "the answer says what is wrong, without echoing a flood"
    assert row_counts() == before


@pytest.mark.parametrize("route", sorted(route for route in VALID if VALID[route] is not None))
def test_every_valid_body_is_accepted(client: TestClient, alice: ApiUser, ids: Ids, route: str) -> None:
    response = send(client, alice, Bad(route), ids)
    assert response.status_code < 300 and response.json().get("ok", True), response.text[:500]


def test_a_large_body_streamed_without_a_length_is_refused_too(
    client: TestClient, alice: ApiUser, ids: Ids
) -> None:
    def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(160):
            yield b"x" * 65_536
        yield b'"}'

    before = row_counts()
    response = client.post("/api/v1/schedules", content=chunks(),
                           headers={**alice.headers, "content-type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413 and "RQFLOW_MAX_REQUEST_BODY_BYTES" in response.json()["message"]
    assert row_counts() == before


def test_a_body_just_under_the_limit_is_read(client: TestClient, alice: ApiUser, ids: Ids) -> None:
    body = json.dumps({**VALID[SCHEDULES](ids), "trigger_payload": {"blob": "x" * (MIB - 1_000)}})
    response = client.post("/api/v1/schedules", content=body,
                           headers={**alice.headers, "content-type": "application/json"})
    assert response.status_code == 201, response.text[:300]


def test_nul_inside_free_form_json_is_kept_the_same_on_both_databases(
    client: TestClient, alice: ApiUser, ids: Ids
) -> None:
    payload = {"a\x00key": "a\x00value"}
    body = json.dumps({**VALID[SCHEDULES](ids), "trigger_payload": payload})
    created = client.post("/api/v1/schedules", content=body,
                          headers={**alice.headers, "content-type": "application/json"})
    assert created.status_code == 201, created.text
    stored = client.get(f"/api/v1/schedules/{created.json()['id']}", headers=alice.headers).json()
    assert stored["trigger_payload"] == payload


def test_duplicate_names_are_allowed_like_cron_lines(client: TestClient, alice: ApiUser, ids: Ids) -> None:
    """rqflow's choice: a schedule's name is a label, not a key; two schedules may share one."""
    for _ in range(2):
        assert client.post("/api/v1/schedules", json=VALID[SCHEDULES](ids), headers=alice.headers).status_code == 201
        tool = client.post("/api/v1/tools/schedule_create/invoke", json=VALID[TOOL_CREATE](ids), headers=alice.headers)
        assert tool.status_code == 200 and tool.json()["ok"]
        assert client.post("/api/v1/workflows", json=WORKFLOW, headers=alice.headers).status_code == 201
    names = [s["name"] for s in client.get("/api/v1/schedules", headers=alice.headers).json()["items"]]
    assert names.count("nightly") == 2 and names.count("weekday") == 2
    workflows = client.get("/api/v1/workflows", headers=alice.headers).json()["items"]
    assert [w["name"] for w in workflows].count(WORKFLOW["name"]) == 3  # the fixture's one and these two


UNICODE_NAMES = {
    "accents": "Überprüfung der Zählerstände",
    "CJK": "毎朝のレポート",
    "right to left": "تقرير يومي",
    "emoji with ZWJ": "👩‍💻 deploy 🚀",
    "combining marks": "e\u0301te\u0301",
    "astral, 255 of them": "𝄞" * 255,
    "zero-width space": "a\u200bb",
}


@pytest.mark.parametrize("name", UNICODE_NAMES.values(), ids=UNICODE_NAMES.keys())
def test_unicode_names_round_trip_unchanged_on_both_databases(
    client: TestClient, alice: ApiUser, ids: Ids, name: str
) -> None:
    created = client.post("/api/v1/schedules", json={**VALID[SCHEDULES](ids), "name": name}, headers=alice.headers)
    assert created.status_code == 201, created.text
    assert client.get(f"/api/v1/schedules/{created.json()['id']}", headers=alice.headers).json()["name"] == name
    found = client.get("/api/v1/schedules", params={"name": name[:3]}, headers=alice.headers).json()["items"]
    assert [item["name"] for item in found] == [name]
    workflow = client.post("/api/v1/workflows", json={**WORKFLOW, "name": name}, headers=alice.headers)
    assert workflow.status_code == 201 and workflow.json()["name"] == name


def test_a_name_of_256_astral_characters_is_refused(client: TestClient, alice: ApiUser, ids: Ids) -> None:
    before = row_counts()
    response = client.post("/api/v1/schedules", json={**VALID[SCHEDULES](ids), "name": "𝄞" * 256},
                           headers=alice.headers)
    assert response.status_code == 422 and response.json()["field"] == "name"
    assert row_counts() == before
