"""Dashboard sessions: a random id in the browser's cookie, its digest here, never the API token.

Signing in with an API token starts a session tied to that token. A session ends when it
expires (``RQFLOW_UI_SESSION_HOURS``), when the user signs out, and at once when its token
is revoked or expires, since every page checks the token again.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rqflow.errors import AuthenticationFailed
from rqflow.models import ApiToken, UiSession, UserProfile
from rqflow.services.users import check_usable, digest_token


def start_session(*, db: Session, token: ApiToken, now: datetime, lifetime: timedelta) -> str:
    """A new session for the holder of ``token``; returns its id (for the cookie, shown nowhere else)."""
    session_id = secrets.token_urlsafe(32)
    db.add(UiSession(session_digest=digest_token(session_id), api_token_id=token.id, created_at=now,
                     expires_at=now + lifetime))
    db.flush()
    return session_id


def session_user(*, db: Session, session_id: str, now: datetime) -> UserProfile:
    """The signed-in user, or AuthenticationFailed (unknown or expired session, revoked or expired token)."""
    found = db.scalar(select(UiSession).where(UiSession.session_digest == digest_token(session_id)))
    if found is None or found.expires_at <= now:
        raise AuthenticationFailed("the dashboard session has ended; sign in again")
    check_usable(found.token, now)
    return found.token.user


def end_session(*, db: Session, session_id: str) -> None:
    """Sign out: the session is gone, whoever still holds its cookie."""
    db.execute(delete(UiSession).where(UiSession.session_digest == digest_token(session_id)))
