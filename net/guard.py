"""The SSRF guard: which addresses a request that leaves the peer may connect to, and the one function that
resolves a name and checks every address it resolved to. Fetches (net/transport.py) and deliveries
(outbox/connections.py) both connect to what `resolve_checked` returned, never to a second answer."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, addresses) -> why the connection is refused, or None to allow it
AddressCheck = Callable[[str, list[IpAddress]], str | None]
# (host, port) -> [(address family, address)], as getaddrinfo answers
Resolver = Callable[[str, int], Awaitable[list[tuple[int, str]]]]


class Refused(Exception):
    """The guard refuses the URL or the addresses its name resolves to; nothing was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unresolvable(Exception):
    """The name has no address (or the look-up failed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def system_resolver(host: str, port: int) -> list[tuple[int, str]]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(info[0], str(info[4][0])) for info in infos]


async def resolve_checked(
    host: str, port: int, check: AddressCheck | None, resolver: Resolver = system_resolver
) -> list[tuple[int, str]]:
    """Resolve `host` once and check every address: the caller connects to these and no others."""
    found = _literal(host)
    if found is None:
        try:
            found = await resolver(host, port)
        except OSError as exc:
            raise Unresolvable(f"cannot resolve {host}: {exc}") from None
    if not found:
        raise Unresolvable(f"cannot resolve {host}: no address")
    if check is not None:
        refused = check(host, [ipaddress.ip_address(address.split("%")[0]) for _, address in found])
        if refused:
            raise Refused(refused)
    return found


def _literal(host: str) -> list[tuple[int, str]] | None:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, str(literal))]


def url_origin(url: str) -> tuple[str, str, int]:
    """scheme, host and port of an http(s) URL; Refused for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(f"{url}: malformed URL") from None
    if parts.scheme not in ("http", "https"):
        raise Refused(f"{url}: scheme {parts.scheme or '(none)'} is not allowed")
    if not parts.hostname:
        raise Refused(f"{url}: no host")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True)
class AddressGuard:
    """Refuses loopback, private, link-local and multicast addresses, unless in dev mode (`allow_private`)
    or for a host named in `allowed_hosts`."""

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)

    async def check(self, url: str) -> None:
        """The URL's checks and its addresses' (for a request that connects some other way: a proxy)."""
        _, host, port = url_origin(url)
        await self.resolve(host, port)

    async def resolve(self, host: str, port: int) -> list[tuple[int, str]]:
        return await resolve_checked(host, port, self.refusal, self.resolver)

    def refusal(self, host: str, addresses: list[IpAddress]) -> str | None:
        """Why `host`, resolved to `addresses`, may not be connected to; None when it may."""
        if self.allow_private or host.lower() in self.allowed_hosts:
            return None
        for address in addresses:
            for form in (address, *_embedded_ipv4(address)):
                if not form.is_global or form.is_multicast:
                    return f"{host} resolves to a non-public address {address}"
        return None


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(address: IpAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to (mapped, 6to4, Teredo, NAT64), which Python calls global even
    when they wrap 127.0.0.1 or 10.0.0.1."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo:
        found.extend(address.teredo)
    if any(address in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found
