"""Calendars: each an OrderedCollection of its events, with the posts allocated to it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.text import plain, slugify
from actors.context import Services
from store import collections, counters


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


# Allocations from untrusted actors wait for the admin; one actor, or one host, may keep only so many waiting.
PENDING_PER_ACTOR = 20
PENDING_PER_HOST = 100


class TooManyPending(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _pending_counters(services: Services, sender: str) -> list[tuple[str, int, str]]:
    host = urlsplit(sender).netloc.lower()
    base = services.actor.url("pending")
    return [
        (f"{base}/actor/{sender}", PENDING_PER_ACTOR, "this actor"),
        (f"{base}/host/{host}", PENDING_PER_HOST, f"actors on {host}"),
    ]


async def hold_for_approval(
    session: AsyncSession, services: Services, calendar: str, add: str, sender: str, data: dict[str, Any]
) -> None:
    """Put an untrusted allocation in the calendar's pending collection, within the per-actor and per-host
    limits (TooManyPending beyond them)."""
    for name, limit, whose in _pending_counters(services, sender):
        await counters.ensure(session, name, limit)
        if await counters.take(session, name, 1) is None:
            raise TooManyPending(f"{limit} allocations from {whose} wait for the calendar admin already")
    await collections.add(session, pending_of(calendar), add, services.clock(), {**data, "author": sender})


async def decide_allocation(session: AsyncSession, services: Services, calendar: str, add: str, accept: bool) -> bool:
    """The admin's answer to a waiting allocation; False when it no longer waits."""
    item = await collections.get(session, pending_of(calendar), add)
    if item is None:
        return False
    data = dict(item.data or {})
    await collections.remove(session, pending_of(calendar), add)
    for name, _, _ in _pending_counters(services, data["author"]):
        await counters.take(session, name, -1)
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
