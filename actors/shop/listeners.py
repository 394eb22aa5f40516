"""The shop's inbox: an `Offer{Order}` from an accepted seller for an event it organizes, and the seller's `Delete`
of an event it cancelled (cancellations.py), and its `Undo` of an Offer when the buyer cancels (buyer_cancels.py)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from activities.errors import ActivityError
from activities.order import parse_order
from actors.context import Context, Services
from actors.shop.buyer_cancels import on_buyer_cancel
from actors.shop.cancellations import on_event_cancelled
from actors.shop.orders import place_order
from inbox.dispatch import ListenerKey, Listeners, Outcome
from inbox.errors import FetchError, Forbidden, Malformed, TryLater, Unprocessable, unfetchable
from inbox.trust import check_attribution, check_same_origin


def register(listeners: Listeners[Services]) -> None:
    listeners.on(ListenerKey("Offer"), on_offer).on(ListenerKey("Delete"), on_event_cancelled)
    listeners.on(ListenerKey("Undo", undoing="Offer"), on_buyer_cancel)


async def on_offer(ctx: Context) -> Outcome:
    services = ctx.services
    offer = ctx.activity
    if offer.actor not in services.trusted:
        raise Forbidden("the offer's actor is not an accepted seller of this shop")
    try:
        request = parse_order(offer.object)
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    check_same_origin(offer, request.event)
    try:
        event = await services.fetcher.get_json(request.event)
    except FetchError as exc:
        if exc.reason == "HTTP 410":
            raise Unprocessable("the event was cancelled") from None
        raise TryLater(unfetchable("the event now", exc)) from None
    if event.get("id") != request.event or event.get("type") != "Event":
        raise Unprocessable("the ordered item is not an event")
    try:
        check_attribution(offer, event.get("attributedTo"))
    except Forbidden:
        raise Forbidden("the offer's actor does not organize that event") from None
    capacity = event.get("maximumAttendeeCapacity")
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0:
        raise Unprocessable("the event has no usable capacity")
    try:
        price = Decimal(str(event.get("price", "0")))
    except InvalidOperation:
        raise Unprocessable("the event has no usable price") from None
    if request.claimed_capacity is not None and request.claimed_capacity != capacity:
        raise Unprocessable("the offered capacity contradicts the event")
    if request.claimed_price is not None:
        try:
            claimed = Decimal(request.claimed_price)
        except InvalidOperation:
            raise Malformed("the offered price is not a number") from None
        if claimed not in (price, price * request.quantity):
            raise Unprocessable("the offered price contradicts the event")
    async with ctx.transaction() as session:
        await place_order(session, services, offer_id=offer.id, seller=offer.actor, request=request, event=event)
    return Outcome.PROCESSED
