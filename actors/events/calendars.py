"""Calendars: each an OrderedCollection of its events, with the posts allocated to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.text import plain, slugify
from actors import pending
from actors.context import Services
from store import collections


def calendars_id(services: Services) -> str:
    return services.actor.url("calendars")


def calendar_id(services: Services, slug: str) -> str:
    return services.actor.url(f"calendars/{slug}")


def allocated_of(calendar: str) -> str:
    return f"{calendar}/allocated"


def pending_of(calendar: str) -> str:
    return f"{calendar}/pending"


def calendar_doc(calendar: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": calendar,
        "type": "OrderedCollection",
        "name": data.get("name", ""),
        "summary": data.get("summary", ""),
        "attributedTo": data.get("attributedTo"),
        "allocated": allocated_of(calendar),
        "first": f"{calendar}?page=true",
    }


async def create_calendar(session: AsyncSession, services: Services, name: str, summary: str = "") -> str:
    name = plain(name, "name", 100)
    calendar = calendar_id(services, slugify(name, 40))
    await collections.add(
        session,
        calendars_id(services),
        calendar,
        services.clock(),
        {"name": name, "summary": plain(summary, "summary", 500, required=False), "attributedTo": services.actor.id},
    )
    return calendar


async def calendar_data(session: AsyncSession, services: Services, calendar: str) -> dict[str, Any] | None:
    item = await collections.get(session, calendars_id(services), calendar)
    return item.data or {} if item else None


async def all_calendars(session: AsyncSession, services: Services) -> list[dict[str, Any]]:
    items = await collections.all_items(session, calendars_id(services), newest_first=False)
    return [calendar_doc(item.item, item.data or {}) for item in items]


async def allocate_post(
    session: AsyncSession, services: Services, calendar: str, post: str, data: dict[str, Any], add: str, sender: str
) -> None:
    """Put the post into the calendar's allocated collection and answer the Add with Accept."""
    await collections.add(session, allocated_of(calendar), post, services.clock(), data)
    await services.emit(
        session, activity("Accept", services.actor.new_activity_id(), services.actor.id, add, to=[sender])
    )


async def hold_for_approval(
    session: AsyncSession, services: Services, calendar: str, add: str, sender: str, data: dict[str, Any]
) -> None:
    """Put an untrusted allocation in the calendar's pending collection, within the per-actor and per-host
    limits (pending.TooManyPending beyond them)."""
    await pending.hold(session, services, "allocations", sender, "allocations")
    await collections.add(session, pending_of(calendar), add, services.clock(), {**data, "author": sender})


async def decide_allocation(session: AsyncSession, services: Services, calendar: str, add: str, accept: bool) -> bool:
    """The admin's answer to a waiting allocation; False when it no longer waits."""
    data = await pending.take(session, services, "allocations", pending_of(calendar), add, "author")
    if data is None:
        return False
    if accept:
        await allocate_post(session, services, calendar, data.pop("post"), data, add, data["author"])
    else:
        await refuse_allocation(session, services, add, data["author"], "the calendar admin declined")
    return True


async def refuse_allocation(session: AsyncSession, services: Services, add: str, sender: str, reason: str) -> None:
    await services.emit(
        session,
        activity("Reject", services.actor.new_activity_id(), services.actor.id, add, to=[sender], summary=reason),
    )
