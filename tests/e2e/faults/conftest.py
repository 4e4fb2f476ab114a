"""Fixtures of the fault scenarios, on top of ``tests/e2e/conftest.py`` (the ``stack`` and its processes).

- ``redis_server``: the test's own redis-server, restartable on the same port;
  ``own_redis`` (which ``stack`` uses) is overridden here to point at it.
- ``rng``: a seeded ``random.Random``; the seed is printed (``RQFLOW_CHAOS_SEED`` repeats it).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.faults.chaos import RedisServer
from tests.helpers import free_port


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A memory-only redis-server of this test's own that the test may crash and restart."""
    server = RedisServer(port=free_port(), directory=tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(redis_server: RedisServer) -> str:
    """The URL the stack's processes use: the restartable server's."""
    return redis_server.url


@pytest.fixture
def seed() -> int:
    """The random seed of this test (``RQFLOW_CHAOS_SEED``, else the clock), printed so a run can be repeated."""
    value = int(os.environ.get("RQFLOW_CHAOS_SEED") or time.time_ns() % 1_000_000_007)
    print(f"\nrandom seed {value} (repeat with RQFLOW_CHAOS_SEED={value})")
    return value


@pytest.fixture
def rng(seed: int) -> random.Random:
    """Where every random moment of a fault scenario comes from."""
    return random.Random(seed)
