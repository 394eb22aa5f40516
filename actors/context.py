"""What a running peer offers its kind: the store, the actor, remote look-ups, sending."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from activities.identity import LocalActor
from inbox.directory import Directory
from inbox.remote import RemoteFetcher
from outbox.record import emit
from store.db import Store


@dataclass
class Services:
    actor: LocalActor
    store: Store
    directory: Directory
    fetcher: RemoteFetcher
    peers: Mapping[str, str]  # kind → base URL of the peers this one works with
    trusted: frozenset[str]  # actor ids trusted at once
    admin_token: str
    secret: bytes
    clock: Callable[[], float]
    currency: str = "GBP"
    wake_delivery: Callable[[], None] = lambda: None
    extra: dict[str, Any] = field(default_factory=dict)

    def peer_actor(self, kind: str) -> str | None:
        base = self.peers.get(kind)
        return f"{base}/actor" if base else None

    async def emit(self, session: AsyncSession, activity: dict[str, Any]) -> dict[str, Any]:
        """Record `activity` in the caller's transaction; the delivery worker is woken once it commits."""
        sent = await emit(session, self.actor, activity, self.clock())
        wake = self.wake_delivery
        event.listen(session.sync_session, "after_commit", lambda _s: wake(), once=True)
        return sent
