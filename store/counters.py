"""Bounded counters: one conditional UPDATE decides, so concurrent buyers can never overshoot."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Counter
from store.upsert import insert_ignore


async def ensure(session: AsyncSession, name: str, limit: int | None) -> None:
    await insert_ignore(session, Counter, {"name": name, "value": 0, "limit": limit}, ("name",))
    if limit is not None:
        await session.execute(update(Counter).where(Counter.name == name).values(limit=limit))


async def take(session: AsyncSession, name: str, amount: int) -> int | None:
    """Add `amount` if that stays within the limit; the new value, or None when it would not fit."""
    result = await session.execute(
        update(Counter)
        .where(
            Counter.name == name,
            (Counter.limit.is_(None)) | (Counter.value + amount <= Counter.limit),
        )
        .values(value=Counter.value + amount)
        .returning(Counter.value)
    )
    return result.scalar_one_or_none()


async def value(session: AsyncSession, name: str) -> int:
    return await session.scalar(select(Counter.value).where(Counter.name == name)) or 0
