"""The calendar's pages: /calendars with its forms, an event's page, the buyer's ticket page."""

from __future__ import annotations

import asyncio
import time
from contextlib import nullcontext
from dataclasses import replace
from functools import partial
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from activities import fep8a8e
from activities.errors import ActivityError
from activities.event import featured_post, parse_event_input
from activities.order import parse_customer, parse_quantity
from activities.series import MAX_OCCURRENCES, parse_rule
from actors import audit
from actors.context import Services
from actors.events.buyer_cancel import ask_to_cancel, locked_purchase
from actors.events.buyer_view import buyer_view
from actors.events.calendars import (
    all_calendars,
    allocated_of,
    create_calendar,
    decide_allocation,
    pending_of,
)
from actors.events.checkin import door_counts
from actors.events.embed import snippet
from actors.events.filters import EventFilter, FilterError, categories, split
from actors.events.page_counts import page_counts
from actors.events.posters import PosterView, poster_image, poster_views, read_poster, too_large
from actors.events.purchase_states import PurchaseState
from actors.events.purchase_watch import RECHECK as RECHECK  # the tests wait on it
from actors.events.purchase_watch import status_fields
from actors.events.schedule import cancel, held_of, reschedule, schedule, sold_of
from actors.events.seats import offered_seats, taken_seats
from actors.events.series import (
    cancel_following,
    reschedule_following,
    schedule_series,
    series_dates,
    this_and_following,
)
from actors.events.tickets import PURCHASE, PurchaseWaiters, buy, purchase_id
from actors.roles import BOX_OFFICE, ORGANISER, requires
from actors.web import checked_form, holds, listing_page, redirect, render, services_of
from media.errors import MediaError
from store import collections, objects
from store.models import StoredObject

MAX_WAIT = 20.0  # seconds a status request may wait for a pending purchase to be answered

# What the event templates use to show and edit the FEP-8a8e fields.
FEP_HELPERS: dict[str, Any] = {
    "fields_of": fep8a8e.form_of,
    "statuses": {status.value: label for status, label in fep8a8e.STATUS_LABELS.items()},
    "place_text": fep8a8e.address_text_of,
    "place_of": fep8a8e.place_of,
    "online_of": fep8a8e.online_url_of,
    "map_url": fep8a8e.osm_url,
}

TOO_LARGE = "The poster is too large to upload; choose a smaller image."
COMMON_ZONES = ["Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin", "America/New_York", "UTC"]


async def sold_counts(services: Services, events: list[dict[str, Any]]) -> dict[str, int]:
    async with services.store.read() as session:
        sizes = await collections.counts(session, [sold_of(e["id"]) for e in events])
    return {e["id"]: sizes[sold_of(e["id"])] for e in events}


async def held_counts(services: Services, events: list[dict[str, Any]]) -> dict[str, int]:
    """Tickets held while their buyers pay: they count against what remains until paid or released."""
    async with services.store.read() as session:
        sizes = await collections.counts(session, [held_of(e["id"]) for e in events])
    return {e["id"]: sizes[held_of(e["id"])] for e in events}


async def posters_of(services: Services, events: list[dict[str, Any]]) -> dict[str, PosterView]:
    async with services.store.read() as session:
        return await poster_views(session, services, events)


async def offered_counts(services: Services, events: list[dict[str, Any]]) -> dict[str, int]:
    """Seats kept for people on the waiting list while their offers last: not on sale to anyone else."""
    async with services.store.read() as session:
        return {e["id"]: await offered_seats(session, e["id"]) for e in events}


async def calendars_view(services: Services, with_pending: bool) -> list[dict[str, Any]]:
    views = []
    async with services.store.read() as session:
        for calendar in await all_calendars(session, services):
            cid = calendar["id"]
            allocated = [
                {"id": i.item, **(i.data or {})} for i in await collections.all_items(session, allocated_of(cid))
            ]
            event_ids = [i.item for i in await collections.all_items(session, cid, newest_first=False)]
            rows = await objects.get_many(session, event_ids)
            events = [row.data for eid in event_ids if (row := rows.get(eid)) and not row.deleted_at]
            events.sort(key=lambda e: e.get("startTime", ""))
            pending = (
                [{"id": i.item, **(i.data or {})} for i in await collections.all_items(session, pending_of(cid))]
                if with_pending
                else []
            )
            views.append({**calendar, "allocated": allocated, "events": events, "pending": pending})
    return views


def _wait_seconds(value: str | None) -> float:
    try:
        wait = float(value or 0)
    except ValueError:
        return 0.0
    return min(MAX_WAIT, wait) if wait > 0 else 0.0  # NaN and negatives: no wait


def event_slug(event: str) -> str:
    return event.rsplit("/", 1)[-1]


async def calendars_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    """/calendars for a browser (the collection's HTML view); the forms come back here with their error."""
    services = services_of(request)

    async def kept() -> dict[str, Any] | None:
        context, code = await _calendars_context(request, services, None, 200)
        return context if code == 200 else None

    if error is None and (page := await listing_page(request, services, "events/calendars.html", kept)):
        return page
    context, status = await _calendars_context(request, services, error, status)
    return render(request, services, "events/calendars.html", context, status)


async def _calendars_context(
    request: Request, services: Services, error: str | None, status: int
) -> tuple[dict[str, Any], int]:
    views = await calendars_view(services, holds(request, services, ORGANISER))
    sold = await sold_counts(services, [e for v in views for e in v["events"]])
    held = await held_counts(services, [e for v in views for e in v["events"]])
    names = {a["id"]: a.get("name", a["id"]) for v in views for a in v["allocated"]}
    try:
        wanted = EventFilter.from_query(request.query_params)
    except FilterError as exc:
        wanted, error, status = EventFilter(), error or exc.reason, 400
    for view in views:
        view["upcoming"], view["past"] = split([e for e in view["events"] if wanted.matches(e)], services.clock())
    posters = await posters_of(services, [e for v in views for e in v["events"]])
    return (
        {
            "calendars": views,
            "sold": sold,
            "held": held,
            "post_names": names,
            "featured": featured_post,
            "error": error,
            "zones": COMMON_ZONES,
            "max_dates": MAX_OCCURRENCES,
            "slug": event_slug,
            "wanted": wanted,
            "categories": categories([e for v in views for e in v["events"]]),
            "posters": posters,
            "embed_snippet": lambda cal: snippet(f"{cal['id']}/embed", f"{cal['name']}: upcoming events"),
            "embed_ancestors": services.embed_ancestors,
            **FEP_HELPERS,
        },
        status,
    )


async def live(request: Request) -> Response:
    services = services_of(request)
    views = await calendars_view(services, False)
    events = [e for v in views for e in v["events"]]
    sold = await sold_counts(services, events)
    held = await held_counts(services, events)
    kept = await offered_counts(services, events)
    fields: dict[str, Any] = {}
    widths: dict[str, float] = {}
    for e in events:
        capacity = int(e.get("maximumAttendeeCapacity", 0)) or 1
        fields[f"sold:{e['id']}"] = sold[e["id"]]
        fields[f"held:{e['id']}"] = held[e["id"]]
        fields[f"remaining:{e['id']}"] = max(0, capacity - sold[e["id"]] - held[e["id"]] - kept[e["id"]])
        widths[f"sold:{e['id']}"] = round(100 * sold[e["id"]] / capacity, 1)
    return JSONResponse({"fields": fields, "widths": widths})


@requires(ORGANISER)
async def schedule_event(request: Request) -> Response:
    services = services_of(request)
    if too_large(request, services):
        return await calendars_page(request, TOO_LARGE, 413)
    form = await checked_form(request, services, max_files=1)
    try:
        data = parse_event_input(_fields(form))
        rule = parse_rule(_fields(form))
        poster = await read_poster(form, services)
        post = str(form.get("featured") or "") or None
        calendar = str(form.get("calendar", ""))
        async with services.store.write() as session:
            data = replace(data, image=await poster_image(session, services, poster, None))
            if rule is None:
                doc = await schedule(session, services, calendar, data, post)
                await audit.record_for(session, request, "event scheduled", doc["id"], str(doc.get("name", "")))
            else:
                series, docs = await schedule_series(session, services, calendar, data, post, rule)
                doc = docs[0]
                detail = f"{len(docs)} dates of {doc.get('name', '')}"
                await audit.record_for(session, request, "series scheduled", series, detail)
    except (ActivityError, MediaError) as exc:
        return await calendars_page(request, exc.reason, 400)
    return redirect(request, services, f"/calendars#{event_slug(doc['id'])}")


@requires(ORGANISER)
async def new_calendar(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    try:
        async with services.store.write() as session:
            made = await create_calendar(session, services, str(form.get("name", "")), str(form.get("summary", "")))
            await audit.record_for(session, request, "calendar created", made)
    except ActivityError as exc:
        return await calendars_page(request, exc.reason, 400)
    return redirect(request, services, "/calendars")


@requires(ORGANISER)
async def decide(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    calendar, add = str(form.get("calendar", "")), str(form.get("add", ""))
    async with services.store.write() as session:
        accept = form.get("decision") == "accept"
        if not await decide_allocation(session, services, calendar, add, accept):
            raise HTTPException(404, "That allocation is no longer waiting.")
        await audit.record_for(
            session, request, "allocation approved" if accept else "allocation refused", add, calendar
        )
    return redirect(request, services, "/calendars")


async def _event(services: Services, slug: str) -> StoredObject:
    async with services.store.read() as session:
        row = await objects.get(session, services.actor.url(f"events/{slug}"))
    if row is None or row.type not in ("Event", "Tombstone"):
        raise HTTPException(404, "There is no such event.")
    return row


@requires(ORGANISER)
async def edit_event(request: Request) -> Response:
    services = services_of(request)
    row = await _event(services, request.path_params["slug"])
    if row.deleted_at is not None:
        raise HTTPException(410, "This event was cancelled.")
    if request.method == "GET":
        return await _edit_page(request, services, row)
    if too_large(request, services):
        return await _edit_page(request, services, row, TOO_LARGE, 413)
    form = await checked_form(request, services, max_files=1)
    try:
        scope = _scope(form.get("scope"))
        data = parse_event_input(_fields(form))
        poster = await read_poster(form, services)
        async with services.store.write() as session:
            fresh = await objects.get(session, row.id)
            assert fresh is not None
            data = replace(data, image=await poster_image(session, services, poster, fresh.data.get("image")))
            if scope == "following":
                await reschedule_following(session, services, fresh, data)
            else:
                await reschedule(session, services, fresh, data)
            action = "event edited, with the following dates" if scope == "following" else "event edited"
            await audit.record_for(session, request, action, fresh.id, data.name)
    except (ActivityError, MediaError) as exc:
        return await _edit_page(request, services, row, exc.reason, 400)
    return redirect(request, services, f"/events/{request.path_params['slug']}")


def _scope(value: object) -> str:
    """Which dates of a series an edit or cancel is for: "this" (the default) or "following"."""
    scope = str(value or "this")
    if scope not in ("this", "following"):
        raise ActivityError("choose this date or this and all following dates")
    return scope


def _fields(form: Any) -> dict[str, Any]:
    """The form's text fields (the poster file is read apart)."""
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _edit_page(
    request: Request, services: Services, row: StoredObject, error: str | None = None, status: int = 200
) -> Response:
    context: dict[str, Any] = {
        "event": row.data,
        "error": error,
        "zones": COMMON_ZONES,
        "slug": event_slug(row.id),
        "posters": await posters_of(services, [row.data]),
        **FEP_HELPERS,
    }
    async with services.store.read() as session:
        context["following"] = len(await this_and_following(session, row)) - 1
    return render(request, services, "events/edit.html", context, status)


@requires(ORGANISER)
async def cancel_event(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    row = await _event(services, request.path_params["slug"])
    try:
        scope = _scope(form.get("scope"))
    except ActivityError as exc:
        raise HTTPException(400, exc.reason) from None
    async with services.store.write() as session:
        fresh = await objects.get(session, row.id)
        assert fresh is not None
        if fresh.deleted_at is None:
            name = str(fresh.data.get("name", ""))  # the cancelled event becomes a Tombstone
            if scope == "following":
                await cancel_following(session, services, fresh)
            else:
                await cancel(session, services, fresh)
            action = "event cancelled, with the following dates" if scope == "following" else "event cancelled"
            await audit.record_for(session, request, action, fresh.id, name)
    return redirect(request, services, "/calendars")


async def buy_ticket(request: Request, waiters: PurchaseWaiters) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    slug = request.path_params["slug"]
    try:
        customer = parse_customer(form.get("name"), form.get("email"))
        quantity = parse_quantity(form.get("quantity", "1"))
        async with services.store.write() as session:  # the event is read where the purchase is written
            row = await objects.get(session, services.actor.url(f"events/{slug}"))
            if row is None or row.type not in ("Event", "Tombstone"):
                raise HTTPException(404, "There is no such event.")
            if (refused := fep8a8e.ticket_refusal(row.data)) is not None:
                raise ActivityError(refused)
            token = await buy(session, services, row, quantity, customer)
        waiters.record(
            purchase_id(services, token), {"state": PurchaseState.PENDING.value, "orderNumber": "", "reason": ""}
        )
    except ActivityError as exc:
        row = await _event(services, slug)
        return await event_page(request, services, row.data, error=exc.reason, status=400)
    return redirect(request, services, f"/tickets/{token}")


async def _purchase(services: Services, token: str) -> dict[str, Any]:
    async with services.store.read() as session:
        row = await objects.get(session, purchase_id(services, token))
    if row is None:
        raise HTTPException(404, "There is no such ticket purchase.")
    return row.data


async def ticket_page(request: Request) -> Response:
    services = services_of(request)
    purchase = await _purchase(services, request.path_params["token"])
    context = {
        "purchase": purchase,
        "token": request.path_params["token"],
        "view": await buyer_view(services, purchase),
    }
    return render(request, services, "events/ticket.html", context, private=True)


async def cancel_tickets(request: Request) -> Response:
    """The buyer's "Cancel my tickets": the request goes to the shop, which decides (buyer_cancel.py)."""
    services = services_of(request)
    await checked_form(request, services)
    token = request.path_params["token"]
    try:
        async with services.store.write() as session:
            row = await locked_purchase(session, purchase_id(services, token))
            if row is None:
                raise HTTPException(404, "There is no such ticket purchase.")
            await ask_to_cancel(session, services, row)
    except ActivityError as exc:
        purchase = await _purchase(services, token)
        view = await buyer_view(services, purchase)
        context = {"purchase": purchase, "token": token, "view": view, "error": exc.reason}
        return render(request, services, "events/ticket.html", context, 409, private=True)
    return redirect(request, services, f"/tickets/{token}")


async def ticket_status(request: Request, waiters: PurchaseWaiters) -> Response:
    """The purchase's state. With `?wait=SECONDS` (at most MAX_WAIT) a pending purchase is answered when it
    is settled or the time is up, whichever comes first: one request instead of a poll every moment.
    `waiters` are this process's buyers waiting on their purchase, which the kind's listeners wake with the state
    they committed; what this process knows of a purchase answers a waiting request while it is fresh."""
    services = services_of(request)
    token = request.path_params["token"]
    wait = _wait_seconds(request.query_params.get("wait"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pid = purchase_id(services, token)
    waiting = waiters.waiting(pid) if wait else nullcontext(None)
    with waiting as woken:
        # looked at after the waiter is registered: no answer slips between
        fields = (waiters.known(pid) if woken is not None else None) or await _status_read(services, waiters, token)
        if fields["state"] == PurchaseState.PENDING and woken is not None:
            waiters.watch(partial(_read_states, services))
        while fields["state"] == PurchaseState.PENDING and woken is not None and (left := deadline - loop.time()) > 0:
            try:
                await asyncio.wait_for(woken.wait(), left)
            except TimeoutError:
                break
            woken.clear()
            fields = waiters.known(pid, fresh=False) or await _status_read(services, waiters, token)
    return JSONResponse({"fields": fields}, headers={"Cache-Control": "no-store"})


async def _status_read(services: Services, waiters: PurchaseWaiters, token: str) -> dict[str, Any]:
    seen = time.monotonic()
    fields = status_fields(await _purchase(services, token))
    waiters.record(purchase_id(services, token), fields, seen)
    return fields


async def _read_states(services: Services, purchases: list[str]) -> dict[str, dict[str, Any]]:
    """The status fields of these purchases, in one read (the waiters' look for other processes' answers)."""
    async with services.store.read() as session:
        rows = await objects.get_many(session, purchases)
    return {pid: status_fields(row.data) for pid, row in rows.items() if row.type == PURCHASE}


async def home(_request: Request) -> Response:
    return RedirectResponse("/calendars", status_code=303)


def routes(waiters: PurchaseWaiters) -> list[Route]:
    """The pages' routes; the ticket status waits on `waiters`, the kind's own."""
    return [
        Route("/", home),
        Route("/calendars/live", live),
        Route("/calendars/schedule", schedule_event, methods=["POST"]),
        Route("/calendars/new", new_calendar, methods=["POST"]),
        Route("/calendars/decide", decide, methods=["POST"]),
        Route("/events/{slug}/edit", edit_event, methods=["GET", "POST"]),
        Route("/events/{slug}/cancel", cancel_event, methods=["POST"]),
        Route("/events/{slug}/buy", partial(buy_ticket, waiters=waiters), methods=["POST"]),
        Route("/tickets/{token}", ticket_page),
        Route("/tickets/{token}/cancel", cancel_tickets, methods=["POST"]),
        Route("/tickets/{token}/status", partial(ticket_status, waiters=waiters), name="ticket_status"),
    ]


async def event_page(
    request: Request,
    services: Services,
    event: dict[str, Any],
    error: str | None = None,
    status: int = 200,
    waitlist_form: dict[str, str] | None = None,
) -> Response:
    post = featured_post(event)
    door_staff = holds(request, services, ORGANISER) or holds(request, services, BOX_OFFICE)
    checked_in = (await door_counts(services, event["id"]))[0] if door_staff else None

    async def read() -> dict[str, Any]:
        async with services.store.read() as session:  # one read for the page: in a ticket rush every buyer opens it
            sold, held, kept = await taken_seats(session, event["id"])
            return {
                "sold": sold,
                "held": held,
                "kept": kept,
                "attending": await collections.count(session, fep8a8e.attendees_of(event["id"])),
                "series_dates": await series_dates(session, services, event),
                "posters": await poster_views(session, services, [event]),
            }

    # staff see the store as it is now (they have just edited the event, or count at the door)
    counts = await read() if door_staff else await page_counts(event["id"], read)
    return render(
        request,
        services,
        "events/event.html",
        {
            "event": event,
            **counts,
            "waitlist_form": waitlist_form or {},
            "post": post,
            "error": error,
            "slug": event_slug(event["id"]),
            "checked_in": checked_in,
            **FEP_HELPERS,
        },
        status,
    )
