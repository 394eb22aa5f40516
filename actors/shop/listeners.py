"""The shop's inbox: an `Offer{Order}` from an accepted seller for an event it organizes, the seller's `Update` of
such an event (its copy here, event_copies.py), its `Delete` of an event it cancelled (cancellations.py), and its
`Undo` of an Offer when the buyer cancels (buyer_cancels.py)."""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation

from activities.errors import ActivityError
from activities.order import parse_order
from actors.context import Context, Services
from actors.shop.buyer_cancels import on_buyer_cancel
from actors.shop.cancellations import on_event_cancelled
from actors.shop.event_copies import EventCopies
from actors.shop.orders import place_order
from inbox.dispatch import ListenerKey, Listeners, Outcome
from inbox.errors import Forbidden, Malformed, Unprocessable
from inbox.trust import check_same_origin

MAX_READY = 10_000  # events remembered as having their order rows; past it the set starts again (one statement more)


def register(listeners: Listeners[Services], copies: EventCopies | None = None) -> None:
    copies = copies or EventCopies()
    listeners.on(ListenerKey("Offer"), functools.partial(on_offer, copies=copies, ready=set()))
    listeners.on(ListenerKey("Update"), functools.partial(on_event_updated, copies=copies))
    listeners.on(ListenerKey("Delete"), functools.partial(on_event_deleted, copies=copies))
    listeners.on(ListenerKey("Undo", undoing="Offer"), on_buyer_cancel)


async def on_offer(ctx: Context, *, copies: EventCopies | None = None, ready: set[str] | None = None) -> Outcome:
    """`copies`: the shop's copies of its sellers' events (none given: the event is fetched for this Offer).
    `ready`: the events whose order rows (capacity counter, product) a committed Offer of this process made sure
    of, so the next Offer does not ask for them again (orders.place_order)."""
    services = ctx.services
    copies = copies or EventCopies()
    offer = ctx.activity
    if offer.actor not in services.trusted:
        raise Forbidden("the offer's actor is not an accepted seller of this shop")
    try:
        request = parse_order(offer.object)
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    check_same_origin(offer, request.event)
    event = await copies.event_for(services.fetcher, offer, request.event)
    capacity = event["maximumAttendeeCapacity"]
    price = Decimal(str(event.get("price", "0")))
    if request.claimed_capacity is not None and request.claimed_capacity != capacity:
        raise Unprocessable("the offered capacity contradicts the event")
    if request.claimed_price is not None:
        try:
            claimed = Decimal(request.claimed_price)
        except InvalidOperation:
            raise Malformed("the offered price is not a number") from None
        if claimed not in (price, price * request.quantity):
            raise Unprocessable("the offered price contradicts the event")
    known = ready is not None and request.event in ready
    async with ctx.transaction() as session:
        await place_order(
            session, services, offer_id=offer.id, seller=offer.actor, request=request, event=event, ready=known
        )
    if ready is not None and not known:
        if len(ready) >= MAX_READY:
            ready.clear()
        ready.add(request.event)
    return Outcome.PROCESSED


async def on_event_updated(ctx: Context, *, copies: EventCopies) -> Outcome:
    """A seller's Update of one of its events: the shop's copy follows it (the inbox checked the event is the
    seller's own, on its host and attributed to it)."""
    if ctx.activity.actor not in ctx.services.trusted or not copies.updated(ctx.activity):
        return Outcome.IGNORED
    return Outcome.PROCESSED


async def on_event_deleted(ctx: Context, *, copies: EventCopies) -> Outcome:
    try:
        copies.drop(ctx.activity.object_id)
    except ActivityError:
        pass
    return await on_event_cancelled(ctx)
