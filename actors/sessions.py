"""Browser sessions: signed-in sessions kept in the store (logout revokes them, sign-in makes a new one),
the random secret that signs anonymous cookies and CSRF tokens, and a throttle on sign-in attempts."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete

from store.db import Store
from store.models import PeerSecret, WebSession
from store.upsert import insert_ignore

SESSION_SECONDS = 12 * 3600.0  # a signed-in session ends this long after sign-in


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """A peer's browser sessions: its cookie-signing secret (loaded by `start`) and its signed-in sessions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._secret: bytes | None = None
        self.throttle = Throttle()

    async def start(self) -> None:
        self._secret = await session_secret(self.store)

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            raise RuntimeError("the peer's session secret is loaded at start")
        return self._secret

    async def open(self, data: dict[str, Any]) -> str:
        return await open_session(self.store, data)

    async def load(self, token: str) -> dict[str, Any] | None:
        return await load_session(self.store, token)

    async def close(self, token: str) -> None:
        await close_session(self.store, token)

    async def update(self, token: str, data: dict[str, Any]) -> bool:
        return await update_session(self.store, token, data)


async def session_secret(store: Store) -> bytes:
    """The peer's cookie-signing secret: made at random on first start, then read from the store."""
    async with store.write() as session:
        await insert_ignore(
            session,
            PeerSecret,
            {"name": "sessions", "value": secrets.token_hex(32), "created_at": store.clock()},
            ("name",),
        )
        row = await session.get(PeerSecret, "sessions")
        assert row is not None
        return bytes.fromhex(row.value)


async def open_session(store: Store, data: dict[str, Any], lifetime: float = SESSION_SECONDS) -> str:
    """A new signed-in session; its token (for the cookie). Expired sessions are swept on the way."""
    token = secrets.token_urlsafe(32)
    now = store.clock()
    async with store.write() as session:
        await session.execute(delete(WebSession).where(WebSession.expires_at < now))
        member = data.get("member")
        session.add(
            WebSession(
                id=_digest(token),
                data=data,
                created_at=now,
                expires_at=now + lifetime,
                member=member if isinstance(member, str) else None,
            )
        )
    return token


async def load_session(store: Store, token: str) -> dict[str, Any] | None:
    async with store.read() as session:
        row = await session.get(WebSession, _digest(token))
    if row is None or row.expires_at < store.clock():
        return None
    return dict(row.data)


async def close_member_sessions(store: Store, member: str) -> int:
    """End every signed-in session of a member on this peer (signing out everywhere); how many there were."""
    async with store.write() as session:
        result = await session.execute(delete(WebSession).where(WebSession.member == member))
    return int(getattr(result, "rowcount", 0) or 0)


async def close_session(store: Store, token: str) -> None:
    async with store.write() as session:
        await session.execute(delete(WebSession).where(WebSession.id == _digest(token)))


@dataclass
class Throttle:
    """Failed sign-ins: at most `per_client` per client address and `overall` in all within `window` seconds,
    then no attempt is even checked until the window moves on (a guesser with many addresses is still held
    by the overall limit). Successful sign-ins cost nothing."""

    per_client: int = 5
    overall: int = 50
    window: float = 60.0
    _clients: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)

    def allows(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self._forget(self._all, now)
        mine = self._clients.get(client)
        if mine is not None:
            self._forget(mine, now)
            if not mine:
                del self._clients[client]
        return len(self._all) < self.overall and (mine is None or len(mine) < self.per_client)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._clients.setdefault(client, deque()).append(now)
        self._all.append(now)

    def _forget(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()


async def update_session(store: Store, token: str, data: dict[str, Any]) -> bool:
    """Replace a live session's data (its roles refreshed, its refresh token rotated); False if it has ended."""
    async with store.write() as session:
        row = await session.get(WebSession, _digest(token))
        if row is None or row.expires_at < store.clock():
            return False
        row.data = data
    return True
