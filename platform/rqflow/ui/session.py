"""Who is signed in, and whether a form came from this site.

The browser holds the user's API token in an HttpOnly, SameSite=Strict cookie
(scripts cannot read it, other sites cannot send it); every page checks it the
way the API checks a bearer token. SameSite is not the only guard against
cross-site requests: every UI POST must also carry an Origin (or Referer) naming
this host, so a browser that ignores SameSite is still refused.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response

from rqflow.api.deps import SessionDep
from rqflow.errors import AuthenticationFailed
from rqflow.models import UserProfile
from rqflow.services.users import authenticate

SESSION_COOKIE = "rqflow_token"
UI_PREFIX = "/ui"
# Tokens are "rqf_" and 43 URL-safe characters; anything much longer is not one and is not hashed.
MAX_TOKEN_LENGTH = 200


class SignInRequired(Exception):
    """No valid token in the cookie: the page answers with a redirect to the sign-in form."""


def get_ui_user(request: Request, db: SessionDep) -> UserProfile:
    """The user whose token is in the session cookie, or SignInRequired."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise SignInRequired
    try:
        return authenticate(db=db, token=token)
    except AuthenticationFailed as exc:
        raise SignInRequired from exc


UiUser = Annotated[UserProfile, Depends(get_ui_user)]


def keep_token(response: Response, request: Request, token: str) -> None:
    """Store the token in the session cookie (Secure when the page came over HTTPS)."""
    response.set_cookie(SESSION_COOKIE, token, path=UI_PREFIX, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def forget_token(response: Response) -> None:
    """Clear the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX, httponly=True, samesite="strict")


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
