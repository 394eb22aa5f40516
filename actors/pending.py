"""What untrusted actors leave waiting for an admin is bounded: so many items per actor and per host, counted
in the transaction that adds or answers the item, so a flood from one actor cannot grow the admin's queue."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services
from store import collections, counters

PER_ACTOR = 20
PER_HOST = 100


class TooManyPending(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _counters(services: Services, queue: str, sender: str) -> list[tuple[str, int, str]]:
    base = services.actor.url(f"pending/{queue}")
    host = urlsplit(sender).netloc.lower()
    return [(f"{base}/actor/{sender}", PER_ACTOR, "this actor"), (f"{base}/host/{host}", PER_HOST, f"actors on {host}")]


async def hold(session: AsyncSession, services: Services, queue: str, sender: str, what: str) -> None:
    """Count one more item of `sender` waiting in `queue`; TooManyPending past the limits."""
    for name, limit, whose in _counters(services, queue, sender):
        await counters.ensure(session, name, limit)
        if await counters.take(session, name, 1) is None:
            raise TooManyPending(f"{limit} {what} from {whose} wait for the admin already")


async def take(
    session: AsyncSession, services: Services, queue: str, collection: str, item: str, sender_field: str
) -> dict[str, Any] | None:
    """Take `item` out of the waiting `collection` (the admin answered it): its data, or None when it no
    longer waits. The sender's place in the queue is given back."""
    waiting = await collections.get(session, collection, item)
    if waiting is None:
        return None
    data = dict(waiting.data or {})
    await collections.remove(session, collection, item)
    await release(session, services, queue, str(data.get(sender_field, "")))
    return data


async def release(session: AsyncSession, services: Services, queue: str, sender: str) -> None:
    """One item of `sender` left `queue` (answered by the admin, or withdrawn)."""
    for name, _, _ in _counters(services, queue, sender):
        await counters.take(session, name, -1)
