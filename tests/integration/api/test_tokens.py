"""A token's ``last_used_at`` is kept to the minute, so a request does not write it every time."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from rqflow.db import session_scope
from rqflow.models import ApiToken
from rqflow.services.users import LAST_USED_RESOLUTION
from tests.integration.conftest import ApiUser

API = "/api/v1/schedules"


def _last_used(user: ApiUser) -> object:
    with session_scope() as db:
        return db.scalar(select(ApiToken.last_used_at).where(ApiToken.user_profile_id == user.id))


def _age_by(user: ApiUser, delta: timedelta) -> None:
    with session_scope() as db:
        token = db.scalar(select(ApiToken).where(ApiToken.user_profile_id == user.id))
        assert token is not None and token.last_used_at is not None
        token.last_used_at -= delta


def test_last_used_is_written_once_a_minute_at_most(client: TestClient, alice: ApiUser) -> None:
    assert _last_used(alice) is None
    assert client.get(API, headers=alice.headers).status_code == 200
    first = _last_used(alice)
    assert first is not None

    assert client.get(API, headers=alice.headers).status_code == 200
    assert _last_used(alice) == first  # within the minute: no write

    _age_by(alice, LAST_USED_RESOLUTION)
    assert client.get(API, headers=alice.headers).status_code == 200
    assert _last_used(alice) > first - LAST_USED_RESOLUTION  # type: ignore[operator]
