"""An httpx client for requests a user controls: checked targets, pinned connections, one failure message.

``guarded_client`` resolves the request's host once, checks every address against the
:class:`~rqflow.egress.policy.EgressPolicy`, and then connects to the address it checked
(the Host header and, for HTTPS, the TLS server name stay the original host, so
certificates are still verified against it). Redirects are never followed, and proxies from
the environment are not used (they would connect somewhere the check never saw).

A connection that fails, whatever the reason (nothing listens, a firewall drops it, the
port speaks another protocol), gives the same message, so a workflow cannot be used to
tell closed ports from open ones inside the network.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

import httpx

from rqflow.egress.policy import SCHEMES, EgressPolicy, EgressRefused, IPAddress, lookup_name, refusal


class EgressFailed(ConnectionError):
    """The request got no HTTP answer; the message is the same whatever went wrong on the way."""


class GuardedTransport(httpx.HTTPTransport):
    """An HTTP transport that only connects to addresses the policy allows, and to the one it checked."""

    def __init__(self, policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Check the target, pin the connection to the checked address, and send."""
        url = request.url
        if url.scheme not in SCHEMES:
            raise EgressRefused(f"only http and https URLs can be requested, not {url.scheme!r}")
        host = url.host
        address = resolve(self.policy, host, url.port or (443 if url.scheme == "https" else 80))
        request.url = url.copy_with(host=str(address))
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        try:
            return super().handle_request(request)
        except httpx.TransportError as exc:
            raise EgressFailed(failure(request.method, url)) from exc


def resolve(policy: EgressPolicy, host: str, port: int) -> IPAddress:
    """The first address of ``host``, once every address it resolves to has passed the policy."""
    try:
        infos = socket.getaddrinfo(lookup_name(host), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EgressFailed(f"{host!r} could not be resolved") from exc
    addresses = list(dict.fromkeys(ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    policy.check_addresses(host, addresses)
    if not addresses:
        raise EgressRefused(refusal(host))
    return addresses[0]


def failure(method: str, url: httpx.URL) -> str:
    """The one message of a request that got no HTTP answer."""
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{method} {url.scheme}://{url.host}:{port} got no HTTP answer (refused, unreachable, timed out or not HTTP)"


class ResponseTooLarge(ValueError):
    """The answer's body, decoded, is larger than the limit (RQFLOW_HTTP_MAX_RESPONSE_BYTES)."""


class ExchangeTooSlow(TimeoutError):
    """The whole exchange took longer than its time limit (a server that trickles its answer)."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer whose body was read within its limits."""

    status_code: int
    body: bytes
    encoding: str

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


def exchange(http: httpx.Client, method: str, url: str, *, seconds: float, max_bytes: int,
             **request: Any) -> Answer:
    """One request and its whole answer within ``seconds``, the body (decoded) at most ``max_bytes``.

    The body is streamed and counted as it is decompressed, so neither a huge answer nor a
    gzip bomb is ever held whole; a server that sends a byte a second is cut at the limit,
    however short each single read is.
    """
    deadline_at = time.monotonic() + seconds
    with http.stream(method, url, **request) as response:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ResponseTooLarge(f"{method} {url}: the answer is larger than {max_bytes:,} bytes "
                                       "(RQFLOW_HTTP_MAX_RESPONSE_BYTES)")
            if time.monotonic() > deadline_at:
                raise ExchangeTooSlow(f"{method} {url}: the answer did not arrive within {seconds:g} s")
        return Answer(response.status_code, bytes(body), response.encoding or "utf-8")


def guarded_client(policy: EgressPolicy, *, timeout: float) -> httpx.Client:
    """A client for one node's requests to targets a user chose."""
    return httpx.Client(transport=GuardedTransport(policy), timeout=timeout, follow_redirects=False, trust_env=False)
