"""Finding 9: the dashboard's answers carry security headers, and MCP over HTTP checks Host and Origin.

As found: /ui sent no CSP, frame-ancestors, nosniff or Referrer-Policy; ``rqflow mcp --transport
http`` bound to a non-loopback address answered any Host and Origin (a DNS-rebinding page in
a user's browser could drive it).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from rqflow.mcp_server import transport_security
from rqflow.settings import Settings
from tests.e2e.conftest import Stack, rqflow_command
from tests.e2e.test_http_api import create_user_token
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.e2e

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}
ACCEPT = "application/json, text/event-stream"


def test_every_dashboard_answer_carries_the_security_headers(stack: Stack) -> None:
    base = stack.start_web()
    for path in ("/ui/signin", "/ui/schedules", "/ui/static/ui.js", "/ui/nope"):
        headers = httpx.get(f"{base}{path}", follow_redirects=False).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "script-src 'self'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "same-origin", path


@contextmanager
def mcp_http(stack: Stack, host: str, port: int, env: dict[str, str], log: Path) -> Iterator[str]:
    with log.open("wb") as output:
        process = subprocess.Popen([rqflow_command(), "mcp", "--transport", "http", "--host", host, "--port", str(port)],
                                   env={**os.environ, **stack.env, **env}, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"

    def listening() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            return False
        return True

    try:
        wait_for(listening, timeout=30, interval=0.1, what="rqflow mcp to listen")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_mcp_on_every_interface_answers_only_the_hosts_the_operator_names(stack: Stack, tmp_path: Path) -> None:
    token = create_user_token(stack, "mallory")
    auth = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
    port = free_port()
    with mcp_http(stack, "0.0.0.0", port, {}, tmp_path / "default.log") as url:
        rebinding = httpx.post(url, json=INITIALIZE, headers={**auth, "Host": "attacker.example",
                                                              "Origin": "http://attacker.example"})
        by_address = httpx.post(url, json=INITIALIZE, headers=auth)
    assert rebinding.status_code in (403, 421) and by_address.status_code in (403, 421), (
        "bound to 0.0.0.0 with no RQFLOW_MCP_ALLOWED_HOSTS, only Host 0.0.0.0:port is answered")
    port = free_port()
    named = {"RQFLOW_MCP_ALLOWED_HOSTS": f"127.0.0.1:{port}", "RQFLOW_MCP_ALLOWED_ORIGINS": f"http://127.0.0.1:{port}"}
    with mcp_http(stack, "0.0.0.0", port, named, tmp_path / "named.log") as url:
        rebinding = httpx.post(url, json=INITIALIZE, headers={**auth, "Host": "attacker.example"})
        foreign_origin = httpx.post(url, json=INITIALIZE, headers={**auth, "Origin": "http://attacker.example"})
        allowed = httpx.post(url, json=INITIALIZE, headers=auth)
    assert rebinding.status_code in (403, 421) and foreign_origin.status_code in (403, 421)
    assert allowed.status_code == 200 and "serverInfo" in allowed.text, allowed.text


def test_loopback_keeps_the_loopback_names_by_default() -> None:
    loopback = transport_security("127.0.0.1", 8001, Settings())
    assert loopback.allowed_hosts == ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    everywhere = transport_security("0.0.0.0", 8001, Settings())
    assert everywhere.enable_dns_rebinding_protection and everywhere.allowed_hosts == ["0.0.0.0:8001"]
