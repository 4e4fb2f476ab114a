"""Which addresses a user's outbound request may reach.

Only public unicast addresses, unless the operator opens more: everything that is not
globally routable is refused (loopback, private, link-local and cloud metadata, CGNAT,
reserved, unspecified, multicast), and so is an IPv6 address that carries such an IPv4
address inside it (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64). Spellings do not
matter: ``127.1``, ``0x7f000001``, ``2130706433`` and ``[::ffff:127.0.0.1]`` are all read
as the address they name before the check.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from rqflow.settings import Settings, get_settings, is_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
SETTING = "RQFLOW_EGRESS_ALLOW"
_NAT64 = ip_network("64:ff9b::/96")
SCHEMES = ("http", "https")


class EgressRefused(PermissionError):
    """The request's target is not one users may reach."""


@dataclass(frozen=True)
class EgressPolicy:
    """The public Internet, plus the networks and host names the operator opened."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        """``RQFLOW_EGRESS_ALLOW``: CIDRs and host names, comma-separated."""
        networks = tuple(ip_network(entry, strict=False) for entry in settings.egress_allow if is_network(entry))
        hosts = frozenset(_host_key(entry) for entry in settings.egress_allow if not is_network(entry))
        return cls(networks=networks, hosts=hosts)

    def allows_host(self, host: str) -> bool:
        """A host name the operator opened by name."""
        return _host_key(host) in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """A public address, or one inside a network the operator opened."""
        return any(address in network for network in self.networks) or is_public(address)

    def check_addresses(self, host: str, addresses: list[IPAddress]) -> None:
        """Refuse unless every address ``host`` resolved to may be reached."""
        if self.allows_host(host):
            return
        if not addresses or not all(self.allows_address(address) for address in addresses):
            raise EgressRefused(refusal(host))


def refusal(host: str) -> str:
    """One message for every refused target, naming the setting that opens internal ones."""
    return (f"{host!r} is not a public address; requests from workflows may only reach the public Internet "
            f"(the operator can open internal targets with {SETTING})")


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, judged by the IPv4 address inside an IPv6 one where there is one."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return is_public(inner)
    return address.is_global and not address.is_multicast


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, compatible, 6to4, Teredo client, NAT64), if any."""
    if not isinstance(address, IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or int(address) >> 32 == 0:  # NAT64, and the old ::a.b.c.d (:: and ::1 included)
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def numeric_address(host: str) -> IPAddress | None:
    """The address a host written as a number names (in any spelling the C library accepts), else None."""
    try:
        infos = socket.getaddrinfo(_host_key(host), None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return ip_address(str(infos[0][4][0]).split("%")[0]) if infos else None


def check_literal_url(url: str, policy: EgressPolicy) -> None:
    """When a workflow is saved: refuse a URL whose target is plainly internal (no DNS is asked here).

    Names are resolved and checked again when the node runs; this catches numbers in any
    spelling and ``localhost`` early, with an answer that names the field.
    """
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise EgressRefused(f"only http and https URLs can be requested, not {parts.scheme or 'no scheme'!r}")
    host = parts.hostname
    if not host:
        raise EgressRefused(f"{url!r} names no host")
    if policy.allows_host(host):
        return
    address = numeric_address(host)
    local_name = _host_key(host) == "localhost" or _host_key(host).endswith(".localhost")
    if local_name or (address is not None and not policy.allows_address(address)):
        raise EgressRefused(refusal(host))


def url_for_config(url: str) -> str:
    """For a node config's URL field: refuse (as a ValueError, which pydantic reports) a plainly internal target.

    A URL with templates is only known when the node runs, where every URL is checked anyway.
    """
    if "{{" in url or "{%" in url:
        return url
    try:
        check_literal_url(url, EgressPolicy.from_settings(get_settings()))
    except EgressRefused as exc:
        raise ValueError(str(exc)) from None
    return url


def _host_key(host: str) -> str:
    """A host as looked up and compared: no brackets, no trailing dot (``localhost.`` is ``localhost``), lower case."""
    return host.strip("[]").rstrip(".").lower()


lookup_name = _host_key
