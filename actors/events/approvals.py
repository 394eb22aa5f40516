"""Strangers' allocations waiting in the calendars' pending collections, for the admin's approvals page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services
from actors.events.calendars import all_calendars, decide_allocation, pending_of
from actors.kind import PendingQueue, Waiting
from store import collections


async def waiting_allocations(session: AsyncSession, services: Services) -> list[Waiting]:
    found: list[Waiting] = []
    for calendar in await all_calendars(session, services):
        for item in await collections.all_items(session, pending_of(calendar["id"]), newest_first=False):
            data = item.data or {}
            summary = f"{data.get('name') or data.get('post', '')} to {calendar['name'] or calendar['id']}"
            found.append(Waiting(item.item, str(data.get("author", "")), calendar["id"], summary))
    return found


async def answer_allocation(session: AsyncSession, services: Services, waiting: Waiting, accept: bool) -> bool:
    return await decide_allocation(session, services, waiting.place, waiting.item, accept)


ALLOCATIONS = PendingQueue("allocations", "Allocations awaiting approval", waiting_allocations, answer_allocation)
