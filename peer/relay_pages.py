"""The admin's relay page: subscribe to a relay in either style, see each subscription's state, unsubscribe."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.web import admin_only, checked_form, redirect, render, services_of, session
from peer import relays

# What the admin reads for each state of the subscription's Follow.
STATE_LABELS = {"pending": "pending", "accepted": "accepted", "rejected": "refused", "undone": "unsubscribed"}


@admin_only
async def relay_list(request: Request) -> Response:
    services = services_of(request)
    async with services.store.read() as db:
        rows = await relays.subscriptions(db)
    context = {
        "subscriptions": [(sub, STATE_LABELS.get(state, state)) for sub, state in rows],
        "message": request.query_params.get("m"),
        "styles": list(relays.RelayStyle),
    }
    return render(request, services, "layout/relays.html", context)


@admin_only
async def relay_add(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    url = str(form.get("relay", ""))
    try:
        await relays.subscribe(services, url, str(form.get("style", "")), session(request, services))
        message = f"Subscription sent to the relay at {url.strip()}; it is pending until the relay answers."
    except relays.RelayRefused as exc:
        message = str(exc)
    return redirect(request, services, f"/admin/relays?m={quote(message)}")


@admin_only
async def relay_remove(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    if await relays.unsubscribe(services, str(form.get("follow", "")), session(request, services)):
        message = "Unsubscribed: the relay was sent an Undo of the subscription."
    else:
        message = "No such subscription is pending or accepted."
    return redirect(request, services, f"/admin/relays?m={quote(message)}")


ROUTES: tuple[Route, ...] = (
    Route("/admin/relays", relay_list),
    Route("/admin/relays/add", relay_add, methods=["POST"]),
    Route("/admin/relays/remove", relay_remove, methods=["POST"]),
)
