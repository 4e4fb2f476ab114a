"""Who is signed in, and whether a form came from this site.

The browser holds a dashboard session id (never the API token) in an HttpOnly,
SameSite=Strict cookie (scripts cannot read it, other sites cannot send it), Secure
unless the site is plain HTTP on loopback (``RQFLOW_COOKIE_SECURE`` decides otherwise);
every page checks the session and the token it was started with
(:mod:`rqflow.services.ui_sessions`). SameSite is not the only guard against cross-site
requests: every UI POST must also carry an Origin (or Referer) naming this host, so a
browser that ignores SameSite is still refused.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response

from rqflow.api.deps import SessionDep
from rqflow.errors import AuthenticationFailed
from rqflow.models import UserProfile, utcnow
from rqflow.services.ui_sessions import session_user

SESSION_COOKIE = "rqflow_session"
UI_PREFIX = "/ui"
# Tokens are "rqf_" and 43 URL-safe characters; anything much longer is not one and is not hashed.
MAX_TOKEN_LENGTH = 200


class SignInRequired(Exception):
    """No valid token in the cookie: the page answers with a redirect to the sign-in form."""


def get_ui_user(request: Request, db: SessionDep) -> UserProfile:
    """The user of the session in the cookie, or SignInRequired."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not session_id or len(session_id) > MAX_TOKEN_LENGTH:
        raise SignInRequired
    try:
        return session_user(db=db, session_id=session_id, now=utcnow())
    except AuthenticationFailed as exc:
        raise SignInRequired from exc


UiUser = Annotated[UserProfile, Depends(get_ui_user)]


def keep_session(response: Response, request: Request, session_id: str) -> None:
    """Put the session id in the cookie."""
    response.set_cookie(SESSION_COOKIE, session_id, path=UI_PREFIX, httponly=True, samesite="strict",
                        secure=cookie_secure(request, request.app.state.settings.cookie_secure))


def forget_session(response: Response) -> None:
    """Clear the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX, httponly=True, samesite="strict")


def cookie_secure(request: Request, setting: bool | None) -> bool:
    """The operator's choice, else Secure unless this is plain HTTP on loopback (``make run``).

    Behind a proxy that terminates TLS the app sees plain HTTP on some other address, so the
    cookie is Secure there too, as the browser (which sees HTTPS) needs.
    """
    if setting is not None:
        return setting
    return not (request.url.scheme == "http" and (request.url.hostname or "") in LOOPBACK_NAMES)


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def same_origin(request: Request) -> bool:
    """True when the request's Origin (else Referer) names this host; a request with neither is refused.

    Only the host and port are compared: a proxy that terminates TLS changes the
    scheme the app sees, not the host.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    return urlsplit(source).netloc.lower() == request.headers.get("host", "").lower()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path inside the dashboard, never another site."""
    if target and target.startswith(UI_PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return UI_PREFIX + "/schedules"
