"""Dependencies, as ``Annotated`` aliases so route signatures read like prose."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from rqflow.broker.connection import get_redis
from rqflow.broker.signals import RedisSignals
from rqflow.db import session_scope
from rqflow.errors import AuthenticationFailed
from rqflow.models import UserProfile
from rqflow.services.users import authenticate
from rqflow.settings import Settings
from rqflow.signals import SchedulerSignals

_bearer = HTTPBearer(auto_error=False, description="An API token from `rqflow user create NAME`.")


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back if it raises.

    The session is interactive: a locked or unreachable database fails it within
    ``api_database_timeout_seconds``, and the API answers 503.
    """
    with session_scope(request.app.state.settings.database_url, interactive=True) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a commit that fails
# answers 503 instead of a 2xx for a write that was rolled back.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def get_current_user(
    db: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> UserProfile:
    """The user whose token is in ``Authorization: Bearer``; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("missing bearer token (Authorization: Bearer <token>)")
    return authenticate(db=db, token=credentials.credentials)


def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_signals(request: Request) -> SchedulerSignals:
    """Redis-backed signals to the scheduler."""
    return RedisSignals(get_redis(request.app.state.settings.redis_url))


CurrentUser = Annotated[UserProfile, Depends(get_current_user)]
SignalsDep = Annotated[SchedulerSignals, Depends(get_signals)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
