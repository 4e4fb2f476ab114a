"""Schemathesis over the OpenAPI document, against the app in-process, as a real user, on both databases.

- **Stateless**: every operation of the document gets ``MAX_EXAMPLES`` generated requests, valid and
  invalid (schemathesis' positive and negative modes), sent with Alice's real token. Random ids and
  cron lines would stop nearly every request at the first check, so half of the valid ones are
  *seeded* (:func:`seed`): path ids are swapped for ids of Alice's rows (:class:`World`) and the body
  becomes a known-good body with a random subset of the generated fields laid over it; the
  requests then reach the cadence rules, the services, the database and the answer.
- **Stateful**: schemathesis 4 infers links between operations from the response schemas and path
  parameters (``POST /schedules`` -> ``id`` -> ``/schedules/{schedule_id}/...``; the same for
  workflows) and runs call sequences along them, seeded the same way.

Every answer must pass :data:`CHECKS`: no 5xx; status code, content type, headers and body as the
document says (every error answer is documented: ``rqflow.api.errors.ERROR_RESPONSES``); and a
request the document calls invalid is refused. Generation is derandomized and bounded so the file
takes about a minute and a half in CI; a failure prints the request as a curl command.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from rqflow.app import create_app
from rqflow.components.tool_catalog import SCHEDULER_TOOLS
from rqflow.settings import Settings
from tests.integration.conftest import WORKFLOW, ApiUser
from tests.integration.security.conftest import World, capture, restore

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
# Per operation and database; about 1 s per 25 examples. Enough to cross every validator within CI's time;
# RQFLOW_FUZZ_EXAMPLES raises it for a deeper run by hand (and the number of call sequences with it).
MAX_EXAMPLES = int(os.environ.get("RQFLOW_FUZZ_EXAMPLES", "30"))
STATEFUL_EXAMPLES = MAX_EXAMPLES
STATEFUL_STEPS = 10
FUZZ_SETTINGS: dict[str, Any] = {"deadline": None, "derandomize": True, "database": None,
                                 "suppress_health_check": list(HealthCheck)}
# The operations, read from the document alone (it needs no database); each is fuzzed as its own test.
OPERATIONS = [(method.upper(), path) for path, item in create_app(Settings()).openapi()["paths"].items()
              for method in item]

Bodies = Callable[[World], list[dict[str, Any]]]
# Known-good bodies per operation, laid under the generated fields of a seeded request.
VALID_BODIES: dict[tuple[str, str], Bodies] = {
    ("POST", "/api/v1/schedules"): lambda w: [
        {"name": "n", "workflow_id": w.workflow_id, "schedule_type": "cron", "cron_expression": "0 9 * * 1-5",
         "timezone": "Europe/Berlin"},
        {"name": "n", "workflow_id": w.workflow_id, "schedule_type": "interval", "interval_seconds": 3600},
        {"name": "n", "workflow_id": w.workflow_id, "schedule_type": "once", "run_at": "2031-01-01T09:00:00Z"},
    ],
    ("PATCH", "/api/v1/schedules/{schedule_id}"): lambda w: [
        {"name": "renamed"}, {"schedule_type": "cron", "cron_expression": "*/5 * * * *"},
        {"start_at": "2030-01-01T00:00:00Z", "end_at": "2031-01-01T00:00:00Z"},
    ],
    ("POST", "/api/v1/schedules/preview"): lambda w: [
        {"schedule_type": "cron", "cron_expression": "30 2 * * *", "timezone": "Europe/Berlin", "count": 5},
        {"schedule_type": "interval", "interval_seconds": 90, "count": 3},
    ],
    ("POST", "/api/v1/schedules/{schedule_id}/pause"): lambda w: [{"reason": "r", "until": "2031-01-01T00:00:00Z"}],
    ("POST", "/api/v1/schedules/{schedule_id}/backfill"): lambda w: [
        {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T06:00:00Z"}],
    ("POST", "/api/v1/workflows"): lambda w: [WORKFLOW],
    ("PATCH", "/api/v1/workflows/{workflow_id}"): lambda w: [{"name": "renamed"}, WORKFLOW],
    ("POST", "/api/v1/tokens"): lambda w: [{"name": "ci", "expires_in_seconds": 3600}, {"name": "laptop"}],
}
TOOL_ARGUMENTS: dict[str, Bodies] = {
    "schedule_create": lambda w: [{"name": "n", "workflow_id": w.workflow_id, "schedule_type": "cron",
                                   "cron_expression": "0 9 * * *"}],
    "schedule_pause": lambda w: [{"schedule_id": w.schedule_id, "reason": "r"}],
    "schedule_resume": lambda w: [{"schedule_id": w.schedule_id}],
    "schedule_stop": lambda w: [{"schedule_id": w.schedule_id}],
    "schedule_list": lambda w: [{"status": "active", "limit": 5}],
}


def seed(case: Case, world: World, coin: int, *, path_ids: bool = True) -> None:
    """Half of the valid cases (by ``coin``): real ids in the path, a known-good body under the generated one."""
    if coin % 2 == 0 or (case.meta is not None and case.meta.generation.mode != GenerationMode.POSITIVE):
        return
    coin //= 2
    ids = {"schedule_id": world.schedule_id, "workflow_id": world.workflow_id, "run_id": world.workflow_run_id,
           "token_id": world.token_id, "name": SCHEDULER_TOOLS[coin % len(SCHEDULER_TOOLS)]}
    for name in (case.path_parameters or {}) if path_ids else ():
        case.path_parameters[name] = ids[name]
    bodies = VALID_BODIES.get((case.operation.method.upper(), case.operation.path))
    if case.operation.path.endswith("/invoke"):
        bodies = TOOL_ARGUMENTS[ids["name"]]
    if bodies is None or not isinstance(case.body, dict):
        return
    choices = bodies(world)
    # Each generated field survives with odds 1 in 4, so most seeded bodies test one or two fields at a time.
    kept = {key: value for bit, (key, value) in enumerate(sorted(case.body.items()))
            if (coin >> (2 * bit % 40 + 4)) & 3 == 0}
    case.body = {**choices[coin % len(choices)], **kept}


@pytest.fixture
def api_schema(client: TestClient, alice: ApiUser) -> OpenApiSchema:
    """The app's own OpenAPI document, loaded in-process, sending Alice's token with every request."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    schema.config.update(headers=alice.headers)
    return schema


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented(
    api_schema: OpenApiSchema, alice_world: World, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in GenerationMode))

    @given(case=cases, coin=st.integers(min_value=0, max_value=2**48))
    @settings(max_examples=MAX_EXAMPLES, **FUZZ_SETTINGS)
    def answers_as_documented(case: Case, coin: int) -> None:
        seed(case, alice_world, coin)
        case.call_and_validate(checks=CHECKS)

    answers_as_documented()


def test_call_sequences_answer_as_documented(api_schema: OpenApiSchema, alice_world: World) -> None:
    machine = api_schema.as_state_machine()
    assert machine.bundles, "schemathesis inferred no links between operations: the stateful test would test nothing"

    start = capture()

    class Sequences(machine):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            # Every sequence starts from the same rows: Hypothesis replays sequences and requires that
            # the same choices draw the same data, and links draw from what earlier answers held.
            restore(start)

        def before_call(self, case: Case) -> None:
            # Ids in the path come from the links (the objects earlier steps made); bodies are seeded.
            seed(case, alice_world, zlib.crc32(repr((case.operation.label, case.body)).encode()), path_ids=False)

        def validate_response(self, response: Any, case: Case, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    Sequences.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS,
                                    **FUZZ_SETTINGS))
