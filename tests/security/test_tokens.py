"""Finding 8: API tokens never expired, could not be revoked, and the dashboard cookie held the raw token.

Now a token can expire and be revoked, and either stops it at once everywhere it is accepted:
the REST API, MCP over HTTP, and the dashboard (whose session belongs to the token that
signed in, and whose cookie holds a session id, never the token).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from rqflow.models import ApiToken, utcnow
from tests.e2e.conftest import Stack
from tests.e2e.test_http_api import create_user_token
from tests.helpers import free_port
from tests.security.test_headers_and_transports import ACCEPT, INITIALIZE, mcp_http

pytestmark = pytest.mark.e2e


def answers(base: str, mcp_url: str, token: str) -> tuple[int, int, int]:
    """What REST, MCP and the dashboard's sign-in say to ``token``."""
    rest = httpx.get(f"{base}/api/v1/schedules", headers={"Authorization": f"Bearer {token}"})
    mcp = httpx.post(mcp_url, json=INITIALIZE, headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT})
    ui = httpx.post(f"{base}/ui/signin", data={"token": token}, headers={"Origin": base}, follow_redirects=False)
    return rest.status_code, mcp.status_code, ui.status_code


def test_a_revoked_or_expired_token_is_refused_at_once_everywhere(stack: Stack, database_url: str,
                                                                   tmp_path: Path) -> None:
    base = stack.start_web()
    admin_token = create_user_token(stack, "alice")
    with mcp_http(stack, "127.0.0.1", free_port(), {}, tmp_path / "mcp.log") as mcp_url, \
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_token}"}) as api:
        laptop = api.post("/api/v1/tokens", json={"name": "laptop"}).json()
        ci = api.post("/api/v1/tokens", json={"name": "ci", "expires_in_seconds": 86400}).json()
        assert answers(base, mcp_url, laptop["token"]) == (200, 200, 303)
        assert answers(base, mcp_url, ci["token"]) == (200, 200, 303)

        browser = httpx.Client(base_url=base, headers={"Origin": base})
        signed_in = browser.post("/ui/signin", data={"token": laptop["token"]}, follow_redirects=False)
        assert laptop["token"] not in signed_in.headers["set-cookie"], "the cookie holds a session id, not the token"
        assert browser.get("/ui/schedules").status_code == 200

        assert api.delete(f"/api/v1/tokens/{laptop['id']}").status_code == 204
        with Session(stack.observer) as db, db.begin():
            db.execute(update(ApiToken).where(ApiToken.id == ci["id"]).values(expires_at=utcnow() - timedelta(seconds=1)))

        assert answers(base, mcp_url, laptop["token"]) == (401, 401, 401), "revoked"
        assert answers(base, mcp_url, ci["token"]) == (401, 401, 401), "expired"
        ended = browser.get("/ui/schedules", follow_redirects=False)
        assert ended.status_code == 303 and ended.headers["location"].startswith("/ui/signin"), (
            "revoking the token ended the dashboard session it had started")
        assert answers(base, mcp_url, admin_token) == (200, 200, 303), "the other tokens still work"
        browser.close()


def test_the_session_cookie_is_secure_except_on_plain_http_loopback(stack: Stack) -> None:
    """Loopback over http (``make run``) keeps the cookie usable; RQFLOW_COOKIE_SECURE=true forces Secure."""
    token = create_user_token(stack, "alice")
    assert "RQFLOW_COOKIE_SECURE" not in stack.env
    for env, secure in (({}, False), ({"RQFLOW_COOKIE_SECURE": "true"}, True)):
        base = stack.start_web(env=env)
        cookie = httpx.post(f"{base}/ui/signin", data={"token": token}, headers={"Origin": base},
                            follow_redirects=False).headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure, (env, cookie)
