"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import rqflow
from rqflow import ui
from rqflow.api.body_limit import BodySizeLimit
from rqflow.api.errors import ERROR_RESPONSES, install_error_handlers
from rqflow.api.paths import RefuseControlCharacters
from rqflow.api.routes import components, health, schedules, tokens, tools, workflows
from rqflow.components import load_components
from rqflow.observability.web import instrument
from rqflow.settings import Settings, get_settings
from rqflow.ui.security_headers import UiSecurityHeaders


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    load_components()
    settings = settings or get_settings()
    app = FastAPI(
        title="rqflow",
        version=rqflow.__version__,
        description="Workflows on schedules, over RQ. Authenticate with `Authorization: Bearer <token>`.",
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(RefuseControlCharacters)
    app.add_middleware(UiSecurityHeaders)
    instrument(app, settings)  # request ids, request latency and GET /metrics
    install_error_handlers(app)
    app.include_router(health.router)
    for router in (schedules.router, workflows.router, workflows.runs_router, components.router, tools.router,
                   tokens.router, tokens.secret_router):
        app.include_router(router, responses=ERROR_RESPONSES)
    app.include_router(ui.router)  # the dashboard at /ui (not in the OpenAPI document)
    app.mount("/ui/static", StaticFiles(directory=ui.STATIC_DIR), name="ui-static")
    return app
