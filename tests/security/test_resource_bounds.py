"""Findings 4, 5 and 6: what one run may take of the worker's memory, the database and time.

As found: a 400 MiB answer took the worker to 1.9 GB (read whole before it was cut), gzip bombs
unpacked whole, ``{{ 'a' * 10**9 }}`` reached gigabytes in under a second, a rendered template
was stored before the config was checked (a 30-character template added 100 MB to the
database), JSON answers were stored whole, and a server trickling a byte a second held a node
with ``timeout_seconds: 2`` for 15 s. Each case here runs through a real worker, which runs jobs
in-process (``--simple``) so that its own peak memory is the runs' peak memory.
"""

from __future__ import annotations

import json
import socket
import time
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_http_api import create_user_token
from tests.loopback_server import Answer, LoopbackServer, http_answer
from tests.security.test_code_execution import run_now

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
PEAK_RSS_LIMIT = 300 * MIB


def huge(connection: socket.socket) -> None:
    """400 MiB of JSON-looking text, streamed."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (400 * MIB))
    chunk = b"[" + b"0," * (MIB // 2 - 1) + b"0"
    for _ in range(400):
        connection.sendall(chunk[:MIB])


def gzip_bomb_body() -> bytes:
    """1 GiB of zeros, gzipped (about a megabyte)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MIB)
    return b"".join([*(packer.compress(zeros) for _ in range(1024)), packer.flush()])


def bomb_writer(body: bytes) -> Answer:
    return http_answer("200 OK", body, "Content-Encoding: gzip", "Content-Type: text/plain")


def trickle(connection: socket.socket) -> None:
    """A byte a second for 15 seconds."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n")
    for _ in range(15):
        connection.sendall(b"x")
        time.sleep(1)  # the attack itself: the server's pace, not the test waiting


# 900 KiB of JSON: under the response limit, over what is stored of a node's output.
big_json = http_answer("200 OK", json.dumps({"rows": ["x" * 1000] * 900}).encode(), "Content-Type: application/json")


def fetch(url: str, **config: Any) -> dict[str, Any]:
    return {"name": "fetch", "edges": [{"source": "t", "target": "get"}], "nodes": [
        {"key": "t", "component_type": "trigger_schedule", "config": {}},
        {"key": "get", "component_type": "http_request", "config": {"method": "GET", "url": url, **config}}]}


def peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def seconds(node: dict[str, Any]) -> float:
    return (datetime.fromisoformat(node["finished_at"]) - datetime.fromisoformat(node["started_at"])).total_seconds()


@pytest.fixture
def servers() -> Iterator[dict[str, LoopbackServer]]:
    found = {"huge": LoopbackServer(huge), "bomb": LoopbackServer(bomb_writer(gzip_bomb_body())),
             "trickle": LoopbackServer(trickle), "json": LoopbackServer(big_json)}
    yield found
    for server in found.values():
        server.close()


def test_one_run_takes_bounded_memory_storage_and_time(stack: Stack, database_url: str,
                                                       servers: dict[str, LoopbackServer]) -> None:
    worker = stack.start("worker", "worker", "--simple", env={"RQFLOW_EGRESS_ALLOW": "127.0.0.1/32"})
    base = stack.start_web(env={"RQFLOW_EGRESS_ALLOW": "127.0.0.1/32"})
    token = create_user_token(stack, "mallory")
    stack.wait_workers()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
        def attack(body: dict[str, Any]) -> dict[str, Any]:
            saved = api.post("/api/v1/workflows", json=body)
            assert saved.status_code == 201, saved.text
            return dict(run_now(api, saved.json()["id"])["node_runs"][-1])

        huge_answer = attack(fetch(servers["huge"].url))
        bomb = attack(fetch(servers["bomb"].url))
        slow = attack(fetch(servers["trickle"].url, timeout_seconds=2))
        repeat = attack(fetch("http://127.0.0.1/", json="{{ 'a' * 10**9 }}", method="POST"))
        percent = attack(fetch("http://127.0.0.1/", json="{{ '%0999999999d' % 1 }}", method="POST"))
        stored = attack(fetch(servers["json"].url))
    peak = peak_rss(worker.pid)

    for node, what in ((huge_answer, "400 MiB"), (bomb, "gzip bomb")):
        assert node["status"] == "failed" and "larger than 1,048,576 bytes" in node["error"], (what, node["error"])
    assert peak < PEAK_RSS_LIMIT, f"the worker peaked at {peak / MIB:.0f} MiB"
    assert slow["status"] == "failed" and seconds(slow) < 5, (seconds(slow), slow["error"])
    for node in (repeat, percent):
        assert node["status"] == "failed" and "RQFLOW_TEMPLATE_MAX_CHARS" in node["error"], node["error"]
        assert seconds(node) < 2 and node["input"] is None, "nothing of the rendered bomb was stored"
    assert stored["status"] == "succeeded" and stored["output"]["truncated"] is True
    assert len(json.dumps(stored["output"])) < 262_144
    print(f"\n[{database_url.split(':')[0]}] worker peak RSS {peak / MIB:.0f} MiB; trickle cut after "
          f"{seconds(slow):.2f} s; template bombs failed in {seconds(repeat):.3f} / {seconds(percent):.3f} s")


def test_gzip_bomb_is_what_it_claims() -> None:
    """The bomb really unpacks to a gibibyte (so the test above means something); counted a mebibyte at a time."""
    body = gzip_bomb_body()
    unpacker, unpacked, pending = zlib.decompressobj(31), 0, body
    while pending:
        unpacked += len(unpacker.decompress(pending, MIB))
        pending = unpacker.unconsumed_tail
    assert len(body) < 2 * MIB and unpacked == 1024 * MIB
