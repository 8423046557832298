"""Network addresses: which are this machine's, which a hub callback may reach, which Host names are ours.

One policy serves both checks of a callback: at ``POST /hub`` on what the URL itself says (an IP
literal, a loopback name), and at delivery on every address the name resolves to (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from yarl import URL

__all__ = ["CallbackPolicy", "IpAddress", "ip_literal", "is_local", "is_local_name", "parse_allow_entry"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Link-local ranges and the cloud metadata services outside them (Alibaba, AWS over IPv6).
FORBIDDEN_NETWORKS: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(text)
    for text in ("169.254.0.0/16", "fe80::/10", "100.100.100.200/32", "fd00:ec2::254/128")
)
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def ip_literal(host: str) -> IpAddress | None:
    """The address a host written as an IP literal stands for (IPv4-mapped IPv6 as IPv4), else None."""
    text = host.strip("[]").split("%")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        try:  # the legacy forms resolvers still accept: 2130706433, 127.1, 0x7f.1
            return ipaddress.IPv4Address(socket.inet_aton(text)) if text.isascii() else None
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=1024)
def is_local(address: IpAddress) -> bool:
    """Whether connecting to the address reaches this machine: loopback, unspecified or one of its own."""
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(address), 0))  # only an address assigned to this machine can be bound
        except OSError:
            return False
    return True


def is_local_name(host: str) -> bool:
    """Whether a host name always means this machine (``localhost`` and its kin, ``*.localhost``)."""
    name = host.lower().rstrip(".")
    return name in LOCAL_NAMES or name.endswith(".localhost") or name == socket.gethostname().lower()


def parse_allow_entry(text: str) -> IpNetwork | str:
    """An allow-list entry: a network (``10.0.0.0/8``, an address) or a lower-case host name."""
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        pass
    name = text.lower().rstrip(".")
    if not name or any(c in name for c in "/:@?#[] ") or not name.isascii():
        raise ValueError(f"{text!r} is neither an address, a network (CIDR) nor a host name")
    return name


def _port(url: URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """Where hub callbacks may go: never this server, link-local or metadata addresses; the allow-list."""

    server_port: int
    public_url: str | None = None
    allow: tuple[IpNetwork | str, ...] = ()

    def refusal(self, callback: str) -> str | None:
        """Why a callback URL is refused from what it says alone (no DNS), or None when it may be tried."""
        try:
            url = URL(callback)
            host, port = url.host or "", _port(url)
        except (ValueError, TypeError):
            return "it is not a URL"
        if self.public_url:
            public = URL(self.public_url)
            if (public.host or "").lower() == host.lower() and _port(public) == port:
                return "it is this server's public URL"
        address = ip_literal(host)
        if address is not None:
            return self.address_refusal(host, address, port)
        if is_local_name(host):
            return self.address_refusal(host, ipaddress.ip_address("127.0.0.1"), port)
        name = host.lower().rstrip(".")
        # a name may resolve into an allowed network: its addresses are checked at delivery
        if not self.allow or name in self.allow or any(not isinstance(e, str) for e in self.allow):
            return None
        return f"{host} is not allowed"

    def address_refusal(self, host: str, address: IpAddress, port: int) -> str | None:
        """Why connecting to ``address`` (resolved from ``host``) is refused, or None when it is allowed."""
        mapped = ip_literal(str(address)) or address
        if any(mapped in network for network in FORBIDDEN_NETWORKS):
            return f"{mapped} is a link-local or cloud metadata address"
        if port == self.server_port and is_local(mapped):
            return "it is this server itself"
        if self.allow and not self._allowed(host, mapped):
            return f"{host} ({mapped}) is not allowed"
        return None

    def _allowed(self, host: str, address: IpAddress) -> bool:
        name = host.lower().rstrip(".")
        return any(
            entry == name if isinstance(entry, str) else address.version == entry.version and address in entry
            for entry in self.allow
        )

    @staticmethod
    def of(server_port: int, public_url: str | None, allow: Iterable[str]) -> CallbackPolicy:
        """The policy of a server on ``server_port`` with the operator's allow-list entries."""
        return CallbackPolicy(server_port, public_url, tuple(parse_allow_entry(entry) for entry in allow))
