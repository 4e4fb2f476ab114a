"""`rqflow dashboard` serves rq-dashboard for rqflow's own Redis (a real process, the real Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from redis import Redis
from rq import Queue

from tests.helpers import free_port, wait_for


@pytest.fixture
def dashboard(redis_url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "RQFLOW_REDIS_URL": redis_url, "RQFLOW_DATABASE_URL": "sqlite://"}
    process = subprocess.Popen([sys.executable, "-m", "rqflow.cli", "dashboard", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def _queue_counts(base: str) -> dict[str, int]:
    try:
        queues = httpx.get(f"{base}/0/data/queues.json", timeout=2).json()["queues"]
    except httpx.HTTPError:
        return {}
    return {queue["name"]: queue["count"] for queue in queues}


def _listing(base: str, name: str) -> dict[str, int] | None:
    """The queue counts once the dashboard lists ``name``, else None (keep waiting)."""
    counts = _queue_counts(base)
    return counts if name in counts else None


def test_the_dashboard_shows_the_queues_of_rqflows_redis(dashboard: str, redis_url: str) -> None:
    name = f"dash-{uuid.uuid4().hex[:8]}"
    Queue(name, connection=Redis.from_url(redis_url)).enqueue("json.dumps", 1)

    counts = wait_for(lambda: _listing(dashboard, name), timeout=30, what=f"rq-dashboard listing queue {name}")

    assert counts[name] == 1
