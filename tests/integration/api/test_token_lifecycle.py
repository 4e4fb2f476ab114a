"""``/api/v1/tokens`` and ``rqflow user token|tokens|revoke``: names, expiry, last use, revocation."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from rqflow.db import session_scope
from rqflow.models import ApiToken, utcnow
from rqflow.settings import Settings
from tests.e2e.conftest import rqflow_command
from tests.integration.conftest import ApiUser

API = "/api/v1/tokens"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_issue_list_and_revoke_your_own_tokens(client: TestClient, alice: ApiUser) -> None:
    issued = client.post(API, json={"name": "ci deploys", "expires_in_seconds": 3600}, headers=alice.headers)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["name"] == "ci deploys" and body["token"].startswith("rqf_") and body["expires_at"] is not None
    assert client.get("/api/v1/schedules", headers=bearer(body["token"])).status_code == 200

    listed = client.get(API, headers=alice.headers).json()
    assert [t["name"] for t in listed] == ["created with the user", "ci deploys"]
    assert all("token" not in t for t in listed), "a listing never shows a token"

    assert client.delete(f"{API}/{body['id']}", headers=alice.headers).status_code == 204
    refused = client.get("/api/v1/schedules", headers=bearer(body["token"]))
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    assert client.get(API, headers=alice.headers).json()[1]["revoked_at"] is not None
    assert client.delete(f"{API}/{body['id']}", headers=alice.headers).status_code == 204, "revoking twice is a no-op"


def test_another_users_token_is_not_found(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    bobs = client.get(API, headers=bob.headers).json()[0]["id"]
    assert client.delete(f"{API}/{bobs}", headers=alice.headers).status_code == 404
    assert client.get("/api/v1/schedules", headers=bob.headers).status_code == 200


def test_an_expired_token_is_refused(client: TestClient, alice: ApiUser) -> None:
    with session_scope() as db:
        db.execute(update(ApiToken).where(ApiToken.user_profile_id == alice.id)
                   .values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = client.get("/api/v1/schedules", headers=alice.headers)
    assert refused.status_code == 401 and "expired" in refused.json()["message"]


def test_bad_expiry_is_refused_naming_the_field(client: TestClient, alice: ApiUser) -> None:
    for expires in (0, 59, 10**10, "1h", 3.5):
        refused = client.post(API, json={"name": "x", "expires_in_seconds": expires}, headers=alice.headers)
        assert refused.status_code == 422 and refused.json()["field"] == "expires_in_seconds", refused.text


def test_the_command_line_issues_lists_and_revokes(settings: Settings, alice: ApiUser, client: TestClient) -> None:
    issued = rqflow(settings, "user", "token", "alice", "--name", "laptop", "--expires-in", "30d")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    token_id = issued.stdout.split()[1]
    assert "expires" in issued.stdout and client.get("/api/v1/schedules", headers=bearer(token)).status_code == 200
    listed = rqflow(settings, "user", "tokens", "alice")
    assert listed.returncode == 0 and "laptop" in listed.stdout and token not in listed.stdout
    assert rqflow(settings, "user", "revoke", token_id).returncode == 0
    assert client.get("/api/v1/schedules", headers=bearer(token)).status_code == 401
    bad = rqflow(settings, "user", "token", "alice", "--expires-in", "soon")
    assert bad.returncode == 1 and "'soon' is not a duration" in bad.stderr
    assert rqflow(settings, "user", "revoke", "999999").returncode == 1


def rqflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as an operator runs it, against the test's database."""
    env = {**os.environ, "RQFLOW_DATABASE_URL": settings.database_url, "RQFLOW_REDIS_URL": settings.redis_url}
    return subprocess.run([rqflow_command(), *args], env=env, capture_output=True, text=True, timeout=60, check=False)
