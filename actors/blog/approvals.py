"""Strangers' events featuring our posts, waiting for the editor, for the admin's approvals page."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.blog.posts import decide_event, pending_events_of, post_id
from actors.context import Services
from actors.kind import PendingQueue, Waiting
from store.models import CollectionItem

SUFFIX = pending_events_of("")


async def waiting_events(session: AsyncSession, services: Services) -> list[Waiting]:
    """One query over the posts' pending collections (their items are bounded by actors/pending.py)."""
    prefix = post_id(services, "")
    rows = await session.scalars(
        select(CollectionItem).where(CollectionItem.collection.like(f"{prefix}%{SUFFIX}")).order_by(CollectionItem.seq)
    )
    found: list[Waiting] = []
    for row in rows:
        post = row.collection.removesuffix(SUFFIX)
        data = row.data or {}
        summary = f"{data.get('name') or row.item} on {post}"
        found.append(Waiting(row.item, str(data.get("actor", "")), post, summary))
    return found


async def answer_event(session: AsyncSession, services: Services, waiting: Waiting, accept: bool) -> bool:
    return await decide_event(session, services, waiting.place, waiting.item, accept)


EVENTS = PendingQueue("events", "Events featuring our posts, waiting for the editor", waiting_events, answer_event)
