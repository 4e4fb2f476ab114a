"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

import rqflow
from rqflow.api.errors import install_error_handlers
from rqflow.api.routes import components, health, schedules, tools, workflows
from rqflow.components import load_components
from rqflow.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    load_components()
    app = FastAPI(
        title="rqflow",
        version=rqflow.__version__,
        description="Workflows on schedules, over RQ. Authenticate with `Authorization: Bearer <token>`.",
    )
    app.state.settings = settings or get_settings()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(schedules.router)
    app.include_router(workflows.router)
    app.include_router(workflows.runs_router)
    app.include_router(components.router)
    app.include_router(tools.router)
    return app
