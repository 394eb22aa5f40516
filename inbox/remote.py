"""Fetch remote documents safely: signed GET, timeouts, a size cap, redirects checked hop by hop, and an
SSRF guard that refuses loopback, private, link-local and non-http(s) targets outside dev mode."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from activities.httpsig import RequestSigner
from activities.vocab import AS2_MEDIA_TYPE, LD_MEDIA_TYPE
from inbox.errors import BlockedAddress, FetchError

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
ACCEPT = f"{AS2_MEDIA_TYPE}, {LD_MEDIA_TYPE}"


@dataclass(frozen=True)
class AddressGuard:
    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    async def check(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise BlockedAddress(url, "malformed URL") from None
        if parts.scheme not in ("http", "https"):
            raise BlockedAddress(url, f"scheme {parts.scheme or '(none)'} is not allowed")
        host = parts.hostname
        if not host:
            raise BlockedAddress(url, "no host")
        if self.allow_private or host.lower() in self.allowed_hosts:
            return
        refused = self.refusal(host, await _addresses(host, port or (443 if parts.scheme == "https" else 80)))
        if refused:
            raise BlockedAddress(url, refused)

    def refusal(self, host: str, addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> str | None:
        """Why `host`, resolved to `addresses`, may not be connected to; None when it may."""
        if self.allow_private or host.lower() in self.allowed_hosts:
            return None
        for address in addresses:
            for form in (address, *_embedded_ipv4(address)):
                if not form.is_global or form.is_multicast:
                    return f"{host} resolves to a non-public address {address}"
        return None


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
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


async def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchError(host, f"cannot resolve: {exc}") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


@dataclass
class RemoteFetcher:
    client: httpx.AsyncClient
    guard: AddressGuard
    clock: Callable[[], float]
    max_bytes: int = MAX_DOCUMENT_BYTES
    signer: RequestSigner | None = None
    fetches: int = field(default=0, init=False)

    async def get_json(self, url: str, *, signed: bool = True) -> dict[str, Any]:
        """GET an ActivityStreams document, following redirects only to guarded addresses."""
        for _ in range(MAX_REDIRECTS + 1):
            await self.guard.check(url)
            response_url, status, headers, body = await self._get(url, signed)
            if status in (301, 302, 303, 307, 308) and "location" in headers:
                url = urljoin(response_url, headers["location"])
                continue
            if status != 200:
                raise FetchError(url, f"HTTP {status}")
            try:
                doc = json.loads(body)
            except ValueError:
                raise FetchError(url, "response is not JSON") from None
            if not isinstance(doc, dict):
                raise FetchError(url, "response is not a JSON object")
            return doc
        raise FetchError(url, "too many redirects")

    async def _get(self, url: str, signed: bool) -> tuple[str, int, dict[str, str], bytes]:
        headers = (
            self.signer.headers_for("GET", url, None, self.clock(), accept=ACCEPT)
            if signed and self.signer
            else {"accept": ACCEPT}
        )
        self.fetches += 1
        try:
            async with self.client.stream("GET", url, headers=headers, follow_redirects=False) as response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(url, "response too large")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(url, "response too large")
                    chunks.append(chunk)
                return str(response.url), response.status_code, dict(response.headers), b"".join(chunks)
        except httpx.HTTPError as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from None
