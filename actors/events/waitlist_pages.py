"""The waiting list's pages: joining from a sold-out event's page (or a refused purchase's), the confirmation,
and the link emailed to each person, which shows their place, buys the seats offered to them, or leaves."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.build import iso
from activities.errors import ActivityError
from activities.order import parse_customer, parse_quantity
from activities.text import plain
from actors.context import Services
from actors.events.buyer_view import local_text
from actors.events.pages import event_page
from actors.events.waitlist import WaitState, buy_offered, entry_by_secret, join, leave, lock_event, position_of
from actors.web import checked_form, redirect, render, services_of
from store import objects
from store.models import StoredObject, WaitlistEntry

NO_SUCH_LINK = "This waiting-list link is not valid: use the link in your latest email from us."


def _event_id(services: Services, request: Request) -> str:
    return services.actor.url(f"events/{request.path_params['slug']}")


async def _event_row(services: Services, request: Request) -> StoredObject:
    async with services.store.read() as session:
        row = await objects.get(session, _event_id(services, request))
    if row is None or row.type not in ("Event", "Tombstone"):
        raise HTTPException(404, "There is no such event.")
    return row


async def join_waitlist(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    slug = request.path_params["slug"]
    typed = {k: str(form.get(k, ""))[:254] for k in ("name", "email", "quantity")}
    try:
        customer = parse_customer(form.get("name"), form.get("email"))
        quantity = parse_quantity(form.get("quantity", "1"))
        async with services.store.write() as session:
            row = await lock_event(session, _event_id(services, request))
            if row is None or row.type not in ("Event", "Tombstone"):
                raise HTTPException(404, "There is no such event.")
            await join(session, services, row, customer, quantity)
    except ActivityError as exc:
        row = await _event_row(services, request)
        return await event_page(request, services, row.data, error=exc.reason, status=400, waitlist_form=typed)
    return redirect(request, services, f"/events/{slug}/waitlist/joined")


async def joined(request: Request) -> Response:
    services = services_of(request)
    row = await _event_row(services, request)
    return render(request, services, "events/waitlist.html", {"event": row.data, "page": "joined", "error": None})


async def _entry_view(services: Services, request: Request) -> tuple[StoredObject, WaitlistEntry, dict[str, Any]]:
    row = await _event_row(services, request)
    async with services.store.read() as session:
        entry = await entry_by_secret(session, row.id, request.path_params["secret"])
        if entry is None:
            raise HTTPException(404, NO_SUCH_LINK)
        position = await position_of(session, entry) if entry.state == WaitState.WAITING else None
    zone = str(row.data.get("timezone") or "UTC")
    now = services.clock()
    view = {
        "state": entry.state,
        "position": position,
        "quantity": entry.quantity,
        "name": entry.name,
        "email": entry.email,
        "until": local_text(iso(entry.offered_until), zone) if entry.offered_until else "",
        "open": entry.state == WaitState.OFFERED and (entry.offered_until or 0) > now,
        "ran_out": entry.state == WaitState.LAPSED
        or (entry.state == WaitState.OFFERED and (entry.offered_until or 0) <= now),
        "purchase": entry.purchase,
        "secret": request.path_params["secret"],
    }
    return row, entry, view


async def entry_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    services = services_of(request)
    row, _entry, view = await _entry_view(services, request)
    context = {"event": row.data, "page": "entry", "entry": view, "error": error}
    return render(request, services, "events/waitlist.html", context, status, private=True)


async def buy_from_offer(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    try:
        quantity = parse_quantity(form.get("quantity", "1"))
        name = plain(form.get("name"), "name", 200)
        async with services.store.write() as session:
            row = await lock_event(session, _event_id(services, request))
            if row is None or row.type != "Event" or row.deleted_at is not None:
                raise ActivityError("This event was cancelled: no tickets are sold.")
            entry = await entry_by_secret(session, row.id, request.path_params["secret"], lock=True)
            if entry is None:
                raise HTTPException(404, NO_SUCH_LINK)
            token = await buy_offered(session, services, row, entry, name or entry.name, quantity)
    except ActivityError as exc:
        return await entry_page(request, exc.reason, 400)
    return redirect(request, services, f"/tickets/{token}")


async def leave_waitlist(request: Request) -> Response:
    services = services_of(request)
    await checked_form(request, services)
    async with services.store.write() as session:
        row = await lock_event(session, _event_id(services, request))
        if row is None:
            raise HTTPException(404, "There is no such event.")
        entry = await entry_by_secret(session, row.id, request.path_params["secret"], lock=True)
        if entry is None:
            raise HTTPException(404, NO_SUCH_LINK)
        await leave(session, services, entry)
    return redirect(
        request, services, f"/events/{request.path_params['slug']}/waitlist/{request.path_params['secret']}"
    )


ROUTES = [
    Route("/events/{slug}/waitlist", join_waitlist, methods=["POST"]),
    Route("/events/{slug}/waitlist/joined", joined),
    Route("/events/{slug}/waitlist/{secret}", entry_page),
    Route("/events/{slug}/waitlist/{secret}/buy", buy_from_offer, methods=["POST"]),
    Route("/events/{slug}/waitlist/{secret}/leave", leave_waitlist, methods=["POST"]),
]
