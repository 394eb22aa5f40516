"""Followers the admin trusts: a mark kept per follower, which a kind may use (the blog lists their replies
without waiting for approval). Kept in a collection no route serves."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from activities.identity import LocalActor
from store import collections


def trusted_of(actor: LocalActor) -> str:
    return actor.url("followers/trusted")


async def is_trusted_follower(session: AsyncSession, actor: LocalActor, remote: str) -> bool:
    """Marked trusted, and following us still (an unfollow ends the trust's effect, not the mark)."""
    return await collections.contains(session, trusted_of(actor), remote) and await collections.contains(
        session, actor.followers, remote
    )


async def trusted(session: AsyncSession, actor: LocalActor) -> set[str]:
    return {item.item for item in await collections.all_items(session, trusted_of(actor))}


async def mark(session: AsyncSession, actor: LocalActor, remote: str, trust: bool, now: float) -> bool:
    """Set or clear the mark on a follower; False when `remote` does not follow us (nothing is marked)."""
    if trust and not await collections.contains(session, actor.followers, remote):
        return False
    if trust:
        await collections.add(session, trusted_of(actor), remote, now)
    else:
        await collections.remove(session, trusted_of(actor), remote)
    return True
