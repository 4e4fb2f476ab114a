"""The dashboard at ``/ui``: server-rendered pages over the services the REST API calls.

Pages are Jinja2 templates with a little vanilla JavaScript of our own (the
schedule form's live preview, a confirm before delete) and one small stylesheet,
served from ``/ui/static``. Signing in stores the user's API token in an
HttpOnly, SameSite=Strict cookie; see :mod:`rqflow.ui.session` and
:mod:`rqflow.ui.routing` for what every page checks.

The app includes :data:`router` and mounts :data:`STATIC_DIR` at ``/ui/static``; the router
also answers ``/favicon.ico`` (:mod:`rqflow.ui.icon`).
"""

from __future__ import annotations

from fastapi import APIRouter

from rqflow.ui import icon, pages_auth, pages_schedule_form, pages_schedules, pages_workflows
from rqflow.ui.rendering import STATIC_DIR

router = APIRouter()
# The form's /schedules/new and /schedules/preview come before the schedule page's /schedules/{id}.
for _pages in (pages_auth, pages_schedule_form, pages_schedules, pages_workflows, icon):
    router.include_router(_pages.router)

__all__ = ["STATIC_DIR", "router"]
