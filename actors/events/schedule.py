"""Scheduling, rescheduling and cancelling events; each change sent to Public, followers and the author
of the featured post."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity, iso, tombstone
from activities.errors import RuleRefused
from activities.event import EventInput, event_document, featured_post
from activities.fep8a8e import EventStatus, JoinMode, attendees_of
from activities.text import slugify
from activities.vocab import PUBLIC
from actors.context import Services
from actors.events import revisions
from actors.events.announce import announce_change
from actors.events.calendars import allocated_of, calendar_data
from actors.events.seats import held_of as held_of  # where the event's tickets are counted, for its importers
from actors.events.seats import offered_seats, recount
from actors.events.seats import sold_of as sold_of
from actors.events.waitlist import end_for_cancelled_event, offer_free_seats
from store import collections, objects
from store.models import StoredObject


def events_id(services: Services) -> str:
    return services.actor.url("events")


async def _free_id(session: AsyncSession, services: Services, name: str, day: str = "") -> str:
    """A free id from the event's name; a date of a series carries its day too (`quiz-night-2027-03-20`)."""
    base = services.actor.url(f"events/{slugify(name, 48)}-{day}" if day else f"events/{slugify(name)}")
    event, n = base, 1
    while await objects.get(session, event) is not None:
        n += 1
        event = f"{base}-{n}"
    return event


async def _featured_author(session: AsyncSession, calendar: str, post: str | None) -> list[str]:
    if not post:
        return []
    item = await collections.get(session, allocated_of(calendar), post)
    if item is None:
        raise RuleRefused("the featured post must be one allocated to this calendar")
    author = (item.data or {}).get("author")
    return [author] if isinstance(author, str) else []


async def schedule(
    session: AsyncSession,
    services: Services,
    calendar: str,
    data: EventInput,
    post: str | None,
    series: str | None = None,
) -> dict[str, Any]:
    if await calendar_data(session, services, calendar) is None:
        raise RuleRefused("no such calendar")
    now = services.clock()
    event = await _free_id(session, services, data.name, data.start.date().isoformat() if series else "")
    doc = event_document(
        event_id=event,
        organizer=services.actor.id,
        calendar=calendar,
        data=data,
        featured_post=post,
        sold=0,
        public=PUBLIC,
        followers=services.actor.followers,
        extra_cc=await _featured_author(session, calendar, post),
        currency=services.currency,
        published=iso(now),
        series=series,
    )
    await objects.put(session, doc, actor=services.actor.name, now=now)
    await collections.add(session, calendar, event, now)
    await collections.add(session, events_id(services), event, now)
    await services.emit(session, _wrap(services, "Create", doc))
    return doc


async def reschedule(session: AsyncSession, services: Services, row: StoredObject, data: EventInput) -> dict[str, Any]:
    now = services.clock()
    old = row.data
    sold = await collections.count(session, sold_of(row.id))
    taken = sold + await collections.count(session, held_of(row.id))
    if data.capacity < taken:
        raise RuleRefused(f"{taken} tickets are sold or held already; capacity cannot go below that")
    attending = await collections.count(session, attendees_of(row.id))
    if data.capacity < attending:
        raise RuleRefused(f"{attending} people are attending already; capacity cannot go below that")
    moved = old.get("startTime") != data.start.isoformat()
    previous_start = old.get("startTime") if moved else old.get("previousStartTime")
    if moved and data.details.status == EventStatus.SCHEDULED:
        data = replace(data, details=replace(data.details, status=EventStatus.RESCHEDULED))
    post = featured_post(old)
    doc = event_document(
        event_id=row.id,
        organizer=services.actor.id,
        calendar=old["context"],
        data=data,
        featured_post=post,
        # what remains counts the held tickets, the attendees and the seats kept for the waiting list too
        sold=taken + attending + await offered_seats(session, row.id),
        public=PUBLIC,
        followers=services.actor.followers,
        extra_cc=await _featured_author(session, old["context"], post),
        currency=services.currency,
        published=old["published"],
        updated=iso(now),
        previous_start=previous_start if isinstance(previous_start, str) else None,
        series=old.get("series") if isinstance(old.get("series"), str) else None,
    )
    await objects.put(session, doc, actor=services.actor.name, now=now)
    await revisions.bump(session, row.id)
    update = _wrap(services, "Update", doc)
    shop = services.peer_actor("shop")
    cc = list(update.get("cc") or [])
    if shop and shop not in cc and doc.get("joinMode") != JoinMode.FREE:
        update["cc"] = [*cc, shop]  # the shop's copy of the event follows it (capacity, price)
    await services.emit(session, update)
    await announce_change(session, services, old, doc)
    await offer_free_seats(session, services, row.id)  # a capacity raised frees seats for the waiting list
    return doc


async def cancel(session: AsyncSession, services: Services, row: StoredObject) -> None:
    now = services.clock()
    cc = [c for c in row.data.get("cc", []) if isinstance(c, str)]
    shop = services.peer_actor("shop")
    if shop and shop not in cc and await _has_tickets(session, row.id):
        cc.append(shop)  # the shop closes the event's orders: cancels the held ones, refunds the paid ones
    await end_for_cancelled_event(session, services, row.data)  # the waiting list hears it once, here
    gone = tombstone(row.id, "Event", iso(now))
    gone.pop("@context")
    await announce_change(session, services, row.data, {**row.data, "eventStatus": EventStatus.CANCELLED.value})
    await revisions.keep_cancelled(session, row.data, now)
    row.data, row.type, row.deleted_at, row.updated_at = gone, "Tombstone", now, now
    await collections.remove(session, events_id(services), row.id)
    await services.emit(
        session,
        activity("Delete", services.actor.new_activity_id(), services.actor.id, gone, to=[PUBLIC], cc=cc),
    )


async def _has_tickets(session: AsyncSession, event: str) -> bool:
    return bool(await collections.count(session, sold_of(event)) or await collections.count(session, held_of(event)))


async def record_sale(session: AsyncSession, services: Services, event: str, order: str, tickets: list[str]) -> int:
    """Add the order's tickets (the shop's ticket ids) to the sold collection and keep the event's remaining
    capacity current."""
    now = services.clock()
    for ticket in tickets:
        await collections.add(session, sold_of(event), ticket, now, {"order": order})
    return await recount(session, services, event)


def _wrap(services: Services, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    return activity(kind, services.actor.new_activity_id(), services.actor.id, doc, to=doc.get("to"), cc=doc.get("cc"))
