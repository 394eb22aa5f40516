"""The events calendar: calendars that take allocated posts, events announced with `Create(Event)`, and
tickets bought from the shop with `Offer{Order}`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from activities.errors import ActivityError, RuleRefused
from activities.event import featured_post, parse_event_input
from activities.parse import id_of
from actors import scopes
from actors.context import Services
from actors.events import (
    approvals,
    checkin,
    embed,
    feeds,
    ical,
    listeners,
    pages,
    reconcile,
    rsvp,
    series,
    waitlist,
    waitlist_pages,
)
from actors.events.calendars import all_calendars, calendar_data, create_calendar
from actors.events.event_form import form_of_event
from actors.events.member_summary import register as member_summary
from actors.events.schedule import cancel, events_id, reschedule, schedule
from actors.events.tickets import PurchaseWaiters
from actors.kind import C2SKey, CollectionSpec, Kind, KindSetup, public_objects
from actors.roles import SHOP_STAFF
from inbox.errors import Malformed, Unprocessable
from store import objects


async def seed(services: Services) -> None:
    async with services.store.write() as session:
        if not await all_calendars(session, services):
            await create_calendar(session, services, "Main", "The cooperative's main calendar")


async def c2s_create_event(request: Request, services: Services, doc: dict[str, Any]) -> str:
    """`Create{Event}` from the admin's client: the same checks as the schedule form."""
    event = doc["object"]
    form = form_of_event(event)
    calendar = event.get("context")
    try:
        data = parse_event_input(form)
        async with services.store.write() as session:
            if not isinstance(calendar, str):
                calendars = await all_calendars(session, services)
                calendar = calendars[0]["id"] if calendars else ""
            created = await schedule(session, services, calendar, data, featured_post(event))
    except RuleRefused as exc:
        raise Unprocessable(exc.reason) from None
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    return str(created["id"])


async def _own_event(session: AsyncSession, doc: dict[str, Any]) -> Any:
    try:
        event = id_of(doc.get("object"), "object")
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    row = await objects.get(session, event)
    if row is None or row.type != "Event" or row.deleted_at is not None:
        raise Unprocessable("no such event here")
    return row


async def c2s_update_event(request: Request, services: Services, doc: dict[str, Any]) -> str:
    """Reschedule: fields not given keep their values."""
    async with services.store.write() as session:
        row = await _own_event(session, doc)
        changes = form_of_event(doc["object"], defaults=False)
        merged = {**form_of_event(row.data), **{k: v for k, v in changes.items() if v not in (None, "")}}
        try:
            data = replace(parse_event_input(merged), image=row.data.get("image"))  # the poster stays
            await reschedule(session, services, row, data)
        except ActivityError as exc:
            raise Malformed(exc.reason) from None
        return str(row.id)


async def c2s_delete_event(request: Request, services: Services, doc: dict[str, Any]) -> str:
    async with services.store.write() as session:
        row = await _own_event(session, doc)
        await cancel(session, services, row)
        return str(row.id)


async def embed_calendars(session: AsyncSession, services: Services, ids: list[str]) -> list[Any]:
    docs = {c["id"]: c for c in await all_calendars(session, services)}
    return [docs.get(i, i) for i in ids]


async def calendar_fields(session: AsyncSession, services: Services, calendar: str) -> dict[str, Any]:
    data = await calendar_data(session, services, calendar) or {}
    return {"name": data.get("name", ""), "summary": data.get("summary", ""), "allocated": f"{calendar}/allocated"}


async def is_calendar(session: AsyncSession, services: Services, calendar: str) -> bool:
    return await calendar_data(session, services, calendar) is not None


async def is_sold_of_event(session: AsyncSession, services: Services, sold: str) -> bool:
    row = await objects.get(session, sold.rsplit("/", 1)[0])  # …/sold or …/held
    return row is not None and row.type in ("Event", "Tombstone")


async def is_allocated_of_calendar(session: AsyncSession, services: Services, allocated: str) -> bool:
    return await is_calendar(session, services, allocated.removesuffix("/allocated"))


def register(setup: KindSetup) -> None:
    member_summary(setup)  # the account service's view of a member, and their erasure
    waiters = PurchaseWaiters()  # this process's buyers waiting on their purchase page
    listeners.register(setup.listeners, waiters)
    rsvp.register(setup.listeners)
    setup.routes += [*ical.ROUTES, *feeds.ROUTES]  # before the pages: /events/{slug}.ics is not an event page
    setup.routes += waitlist_pages.ROUTES  # before the pages: they are all under /events/{slug}/waitlist
    setup.routes += pages.routes(waiters)
    setup.routes += embed.ROUTES
    setup.routes += reconcile.ROUTES
    setup.routes += checkin.ROUTES
    setup.html["Event"] = pages.event_page
    setup.collections += [
        CollectionSpec("/calendars", embed=embed_calendars, html=pages.calendars_page),
        CollectionSpec("/calendars/{slug}/allocated", exists=is_allocated_of_calendar),
        CollectionSpec("/calendars/{slug}", embed=public_objects, exists=is_calendar, extra=calendar_fields),
        CollectionSpec("/events", embed=public_objects),
        CollectionSpec("/events/{slug}/sold", exists=is_sold_of_event),
        CollectionSpec("/events/{slug}/held", exists=is_sold_of_event),
        CollectionSpec("/events/{slug}/attendees", exists=rsvp.is_attendees_of_event),
        CollectionSpec("/series/{slug}", exists=series.is_series, extra=series.series_fields),
    ]
    setup.actor_fields["upcomingEvents"] = events_id(setup.services)
    setup.on_c2s(C2SKey("Create", "Event"), c2s_create_event)
    setup.on_c2s(C2SKey("Update", "Event"), c2s_update_event)
    setup.on_c2s(C2SKey("Delete"), c2s_delete_event)
    setup.pending.append(approvals.ALLOCATIONS)
    setup.on_start.append(seed)
    setup.tasks.append(waitlist.sweep_offers)  # offers not used in time pass to the next person


# Application, not Service: relays (activityrelay, Pleroma's) take a Follow only from an instance actor, which
# they recognise by that type; Mastodon shows both types alike, as an automated account.
KIND = Kind(
    "events",
    "Application",
    "Events",
    "The cooperative's events calendar. Follow it to see every event as it is announced.",
    register,
    nav=(("Calendars", "/calendars"),),
    c2s_access=scopes.EVENTS_WRITE,
    uses_relays=True,
    staff_nav=(("Tickets sold", "/admin/tickets", SHOP_STAFF),),
)
