"""The dashboard's router: every route hidden from the OpenAPI document, and one place for the
answers every page shares.

Each UI route goes through :class:`UiRoute`, so no page can forget them: a POST
whose Origin/Referer is another site is refused before the route runs, a
missing or bad session redirects to the sign-in form, and an object that is not
the user's (the services raise NotFound for both) is a 404 page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from rqflow.errors import NotFound
from rqflow.ui.rendering import error_page
from rqflow.ui.session import UI_PREFIX, SignInRequired, same_origin

CROSS_SITE_MESSAGE = "This form was not sent from this site (its Origin or Referer does not match), so nothing was done."


class UiRoute(APIRoute):
    """A dashboard route: CSRF check on POST, sign-in redirect, 404 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def ui_handler(request: Request) -> Response:
            if request.method == "POST" and not same_origin(request):
                return error_page(request, 403, CROSS_SITE_MESSAGE)
            try:
                return await handler(request)
            except SignInRequired:
                return RedirectResponse(sign_in_url(request), status_code=303)
            except NotFound as exc:
                return error_page(request, 404, exc.message)

        return ui_handler


def ui_router() -> APIRouter:
    """A router for one page group, under ``/ui`` and outside the API's schema."""
    return APIRouter(prefix=UI_PREFIX, include_in_schema=False, route_class=UiRoute)


def sign_in_url(request: Request) -> str:
    """The sign-in form, coming back to this page (a GET) afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = here if request.method == "GET" else UI_PREFIX + "/schedules"
    return f"{UI_PREFIX}/signin?next={quote(target, safe='')}"
