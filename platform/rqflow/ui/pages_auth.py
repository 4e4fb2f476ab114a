"""Signing in with an API token and signing out."""

from __future__ import annotations

from fastapi import Request, Response

from rqflow.api.deps import SessionDep
from rqflow.errors import AuthenticationFailed
from rqflow.services.users import authenticate
from rqflow.ui.forms import FormDep
from rqflow.ui.rendering import redirect, render
from rqflow.ui.routing import ui_router
from rqflow.ui.session import MAX_TOKEN_LENGTH, UI_PREFIX, forget_token, keep_token, safe_next

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
        user = authenticate(db=db, token=token)
    except AuthenticationFailed:
        context = {"next": target, "error": "That token is not valid. Create one with `rqflow user create NAME`."}
        return render(request, "signin.html", context, status_code=401)
    response = redirect(target, flash=f"Signed in as {user.name}.")
    keep_token(response, request, token)
    return response


@router.post("/signout")
def sign_out() -> Response:
    """Forget the token."""
    response = redirect(f"{UI_PREFIX}/signin", flash="Signed out.")
    forget_token(response)
    return response
