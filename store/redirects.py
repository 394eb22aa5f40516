"""Old addresses of objects that moved (a post whose slug changed): answered with a permanent redirect."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import SlugRedirect


async def moved(session: AsyncSession, old_id: str, new_id: str, now: float) -> None:
    """`old_id` now lives at `new_id`; older addresses that led to `old_id` lead there directly."""
    await session.execute(update(SlugRedirect).where(SlugRedirect.new_id == old_id).values(new_id=new_id))
    back = await session.get(SlugRedirect, new_id)
    if back is not None:  # moving back to an address it had before: that one is live again
        await session.delete(back)
    row = await session.get(SlugRedirect, old_id)
    if row is None:
        session.add(SlugRedirect(old_id=old_id, new_id=new_id, created_at=now))
    else:
        row.new_id = new_id
    await session.flush()


async def target(session: AsyncSession, old_id: str) -> str | None:
    row = await session.get(SlugRedirect, old_id)
    return row.new_id if row is not None else None
