"""Signing in with an API token and signing out."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response

from rqflow.api.deps import SessionDep
from rqflow.errors import AuthenticationFailed
from rqflow.models import utcnow
from rqflow.services.ui_sessions import end_session, start_session
from rqflow.services.users import authenticate_token
from rqflow.ui.forms import FormDep
from rqflow.ui.rendering import redirect, render
from rqflow.ui.routing import ui_router
from rqflow.ui.session import (
    MAX_TOKEN_LENGTH,
    SESSION_COOKIE,
    UI_PREFIX,
    forget_session,
    keep_session,
    safe_next,
)

router = ui_router()


@router.get("")
def home() -> Response:
    """The dashboard starts at the schedules."""
    return redirect(f"{UI_PREFIX}/schedules")


@router.get("/signin")
def sign_in_page(request: Request, next: str = "") -> Response:
    """The sign-in form."""
    return render(request, "signin.html", {"next": safe_next(next), "error": ""})


@router.post("/signin")
def sign_in(request: Request, db: SessionDep, form: FormDep) -> Response:
    """Check the token as the API would; keep it in the session cookie and go on."""
    token = form.get("token", "").strip()
    target = safe_next(form.get("next"))
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationFailed("invalid API token")
        row = authenticate_token(db=db, token=token)
    except AuthenticationFailed:
        context = {"next": target, "error": "That token is not valid. Create one with `rqflow user token NAME`."}
        return render(request, "signin.html", context, status_code=401)
    lifetime = timedelta(hours=request.app.state.settings.ui_session_hours)
    session_id = start_session(db=db, token=row, now=utcnow(), lifetime=lifetime)
    response = redirect(target, flash=f"Signed in as {row.user.name}.")
    keep_session(response, request, session_id)
    return response


@router.post("/signout")
def sign_out(request: Request, db: SessionDep) -> Response:
    """End the session (on the server, not only in this browser)."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if session_id and len(session_id) <= MAX_TOKEN_LENGTH:
        end_session(db=db, session_id=session_id)
    response = redirect(f"{UI_PREFIX}/signin", flash="Signed out.")
    forget_session(response)
    return response
