"""What iCalendar needs of an event beyond its current document: its SEQUENCE, bumped on every change, and the
last Event data of a cancelled one (its stored object is a Tombstone then)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store import collections, counters


def sequence_counter(event: str) -> str:
    return f"{event}#sequence"


def cancelled_of(calendar: str) -> str:
    """The calendar's cancelled events, each item holding the event's last document."""
    return f"{calendar}/cancelled"


async def bump(session: AsyncSession, event: str) -> int:
    """One more change of `event`: its new SEQUENCE."""
    name = sequence_counter(event)
    await counters.ensure(session, name, None)
    value = await counters.take(session, name, 1)
    return value or 0


async def sequence(session: AsyncSession, event: str) -> int:
    return await counters.value(session, sequence_counter(event))


async def keep_cancelled(session: AsyncSession, data: dict[str, Any], now: float) -> None:
    """Before the event becomes a Tombstone: keep its last document in its calendar's cancelled collection."""
    event, calendar = data.get("id"), data.get("context")
    if not isinstance(event, str):
        return
    if isinstance(calendar, str):
        await collections.add(session, cancelled_of(calendar), event, now, dict(data))
    await bump(session, event)


async def cancelled_data(session: AsyncSession, calendar: str, event: str) -> dict[str, Any] | None:
    item = await collections.get(session, cancelled_of(calendar), event)
    return item.data if item else None


async def all_cancelled(session: AsyncSession, calendar: str) -> list[dict[str, Any]]:
    return [i.data for i in await collections.all_items(session, cancelled_of(calendar)) if i.data]
