"""The egress guard: which targets a user's request may reach, and that it connects to the address it checked.

Nothing here sends a packet anywhere but loopback: refused targets are refused before any
connection, and the allowed-path tests open loopback through the policy, as
``RQFLOW_EGRESS_ALLOW`` would.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from ipaddress import ip_address, ip_network
from typing import Any

import httpx
import pytest

from rqflow.egress import EgressFailed, EgressPolicy, EgressRefused, check_literal_url, guarded_client
from rqflow.egress.policy import is_public
from tests.loopback_server import LoopbackServer, http_answer

PUBLIC = EgressPolicy()
LOOPBACK_OPEN = EgressPolicy(networks=(ip_network("127.0.0.0/8"),))

# Every spelling of an internal target we know of; each must be refused before a connection is made.
INTERNAL_URLS = [
    "http://localhost/", "http://LOCALHOST./", "http://api.localhost/", "http://127.0.0.1/", "http://127.1/",
    "http://0x7f000001/", "http://2130706433/", "http://0177.0.0.1/", "http://127.0.0.1.:8080/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::127.0.0.1]/",
    "http://0.0.0.0/", "http://0/", "http://[::]/", "http://10.0.0.1/", "http://172.16.0.1/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/",
    "http://[fe80::1]/", "http://[fc00::1]/", "http://224.0.0.1/", "http://240.0.0.1/",
    "http://255.255.255.255/", "http://[2002:7f00:1::]/", "http://[64:ff9b::7f00:1]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_every_spelling_of_an_internal_target_is_refused_when_saved(url: str) -> None:
    with pytest.raises(EgressRefused, match="not a public address"):
        check_literal_url(url, PUBLIC)


@pytest.mark.parametrize("url", [u for u in INTERNAL_URLS if ".localhost" not in u])
def test_every_spelling_is_refused_when_it_runs_before_any_connection(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_connection(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    with guarded_client(PUBLIC, timeout=5) as http:
        if url == "http://0177.0.0.1/":  # httpx itself refuses to parse it (the node's config check reads it as 127.0.0.1)
            with pytest.raises(httpx.InvalidURL):
                http.get(url)
            return
        with pytest.raises(EgressRefused, match="not a public address"):
            http.get(url)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(ip_address(address))


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://127.0.0.1:6379/", "http:///x"])
def test_only_http_and_https_urls_with_a_host(url: str) -> None:
    with pytest.raises(EgressRefused):
        check_literal_url(url, PUBLIC)


def test_the_operator_opens_networks_and_host_names() -> None:
    check_literal_url("http://127.0.0.1:8080/", LOOPBACK_OPEN)
    check_literal_url("http://metrics.internal/", EgressPolicy(hosts=frozenset({"metrics.internal"})))
    with pytest.raises(EgressRefused):
        check_literal_url("http://10.0.0.1/", LOOPBACK_OPEN)


# -- against a server on loopback ------------------------------------------------------------------------


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    with LoopbackServer(http_answer("200 OK", b"ok")) as server:
        yield server


def test_the_host_is_resolved_once_and_the_checked_address_is_the_one_connected_to(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name is looked up once; the connection goes to that address, with the name kept in the Host header."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real("127.0.0.1" if host == "reports.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with guarded_client(LOOPBACK_OPEN, timeout=5) as http:
        response = http.get(f"http://reports.test:{http_server.port}/daily")
    assert response.status_code == 200 and response.text == "ok"
    names = [host for host in lookups if not _is_address(host)]
    assert names == ["reports.test"], "one look-up: a second answer (DNS rebinding) is never asked for"
    assert lookups[1:] == ["127.0.0.1"], "the connection went to the address that was checked"
    assert f"Host: reports.test:{http_server.port}".encode() in http_server.heads[0]


def _is_address(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def test_a_name_that_resolves_inside_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1", *a, **k))
    with guarded_client(PUBLIC, timeout=5) as http, pytest.raises(EgressRefused, match="'rebound.test'"):
        http.get("http://rebound.test/")


def test_a_closed_port_and_a_port_that_speaks_another_protocol_fail_alike() -> None:
    """Finding 2's port scanner: the answers used to tell a closed port from Redis's."""
    redis_like = LoopbackServer(lambda connection: connection.sendall(b"-ERR unknown command 'GET'\r\n"))
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    messages = []
    try:
        with guarded_client(LOOPBACK_OPEN, timeout=5) as http:
            for port in (closed_port, redis_like.port):
                with pytest.raises(EgressFailed) as failed:
                    http.get(f"http://127.0.0.1:{port}/")
                messages.append(str(failed.value).replace(str(port), "PORT"))
    finally:
        redis_like.close()
    assert messages[0] == messages[1], messages


def test_redirects_are_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    server = LoopbackServer(http_answer("302 Found", b"", "Location: http://169.254.169.254/"))
    try:
        with guarded_client(LOOPBACK_OPEN, timeout=5) as http:
            response = http.get(f"http://127.0.0.1:{server.port}/")
    finally:
        server.close()
    assert response.status_code == 302 and len(server.heads) == 1
