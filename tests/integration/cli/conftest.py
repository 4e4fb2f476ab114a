"""The real API served by a real uvicorn on a free port (in a thread), and the CLI pointed at it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from typer.testing import CliRunner, Result

from rqflow.app import create_app
from rqflow.cli import app
from rqflow.settings import Settings
from tests.helpers import free_port, wait_for
from tests.integration.conftest import ApiUser

Rqflow = Callable[..., Result]


@pytest.fixture
def api_url(settings: Settings) -> Iterator[str]:
    """The app over the test's database and Redis, listening on 127.0.0.1 until the test ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="rqflow-api", daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30, what="uvicorn to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def rqflow(api_url: str, alice: ApiUser) -> Rqflow:
    """Run ``rqflow ARGS`` as an operator would: RQFLOW_API_URL and alice's RQFLOW_TOKEN in the environment."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        base = {"RQFLOW_API_URL": api_url, "RQFLOW_TOKEN": alice.token, "COLUMNS": "250"}
        return CliRunner().invoke(app, list(args), env={**base, **(env or {})}, input=input)

    return run
