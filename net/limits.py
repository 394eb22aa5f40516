"""How many requests may be in flight toward one remote host, and toward strangers in all.

A host is an authority, `host:port`. A stranger's slow server can hold at most `per_host` of our requests,
and all strangers together at most `strangers`, kept below the connection pool's size: the cooperating
peers (`peers`) are counted per host only, up to `per_peer` each, so their traffic always finds a connection."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def authority_of(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


@dataclass
class _Slots:
    semaphore: asyncio.Semaphore
    users: int = 0


@dataclass
class HostLimiter:
    per_host: int = 8
    per_peer: int = 32
    strangers: int = 64
    peers: frozenset[str] = frozenset()
    _hosts: dict[str, _Slots] = field(default_factory=dict, init=False, repr=False)
    _strangers: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    def in_flight(self, host: str) -> int:
        slots = self._hosts.get(host.lower())
        return 0 if slots is None else slots.users

    async def acquire(self, host: str) -> None:
        """Wait for a slot for `host` (cancel the wait to give up); `release(host)` once done."""
        host = host.lower()
        slots = self._hosts.get(host)
        if slots is None:
            slots = self._hosts[host] = _Slots(
                asyncio.Semaphore(self.per_peer if host in self.peers else self.per_host)
            )
        slots.users += 1  # waiters count too: the entry stays while anyone holds or wants it
        try:
            await slots.semaphore.acquire()
        except BaseException:
            self._forget(host, slots)
            raise
        if host in self.peers:
            return
        if self._strangers is None:
            self._strangers = asyncio.Semaphore(self.strangers)
        try:
            await self._strangers.acquire()
        except BaseException:
            slots.semaphore.release()
            self._forget(host, slots)
            raise

    def release(self, host: str) -> None:
        host = host.lower()
        slots = self._hosts[host]
        slots.semaphore.release()
        if host not in self.peers and self._strangers is not None:
            self._strangers.release()
        self._forget(host, slots)

    def _forget(self, host: str, slots: _Slots) -> None:
        slots.users -= 1
        if not slots.users:
            del self._hosts[host]
