"""A buyer cancels their own order: the events peer that sold it sends a signed `Undo` of the order's `Offer`
(its `target` the order). The shop believes nothing in it but which order: it fetches the event itself and
checks the organiser's rule (activities/buyer_cancel.py) against its own clock. Allowed, an order still due is
cancelled and a paid one refunded through its provider, the seats return (settle.py tells the events peer) and
the buyer is emailed; refused, the shop answers `Reject{Undo}` with the sentence, and nothing changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.buyer_cancel import cancel_refusal
from activities.errors import ActivityError
from activities.order import OrderStatus
from activities.parse import Activity
from actors.context import Context, Services
from actors.shop import notices
from actors.shop.payments import PaymentError, provider_for
from actors.shop.settle import Moved, locked_order, move_order
from inbox.dispatch import Outcome
from inbox.errors import FetchError, Forbidden, Malformed, TryLater, Unprocessable, unfetchable
from inbox.trust import check_attribution, check_same_origin
from store import objects
from store.models import StoredObject

CANCELLED = "cancelled at the buyer's request"
TARGETS = {OrderStatus.PAYMENT_DUE: OrderStatus.CANCELLED, OrderStatus.DELIVERED: OrderStatus.RETURNED}
OVER = "This order cannot be cancelled any more: it is no longer held or paid."


async def on_buyer_cancel(ctx: Context) -> Outcome:
    services = ctx.services
    undo = ctx.activity
    if undo.actor not in services.trusted:
        raise Forbidden("only a seller of this shop may cancel one of its orders")
    try:
        offer, order_id = undo.object_id, undo.target_id
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    check_same_origin(undo, offer)
    async with services.store.read() as session:
        row = await objects.get(session, order_id)
    if row is None or row.type != "Order" or row.actor != services.actor.name:
        raise Unprocessable("the target is not an order of this shop")
    if row.data.get("acceptedOffer") != offer or row.data.get("broker") != undo.actor:
        raise Forbidden("that order was not sold under that offer by that seller")
    event = await _event(services, str(row.data["orderedItem"]), undo)
    async with ctx.transaction() as session:
        locked = await locked_order(session, order_id)
        assert locked is not None
        refusal = await _cancel(session, services, locked, event)
        if refusal is not None:
            answer = activity(
                "Reject", services.actor.new_activity_id(), services.actor.id, undo.id, to=[undo.actor], summary=refusal
            )
            await services.emit(session, answer)
    return Outcome.PROCESSED


async def _event(services: Services, event_id: str, undo: Activity) -> dict[str, Any] | None:
    """The event as its organiser publishes it now; None when it was cancelled (its orders close with it)."""
    try:
        event = await services.fetcher.get_json(event_id)
    except FetchError as exc:
        if exc.reason == "HTTP 410":
            return None
        raise TryLater(unfetchable("the event now", exc)) from None
    if event.get("id") != event_id or event.get("type") != "Event":
        raise Unprocessable("the ordered item is not an event")
    check_attribution(undo, event.get("attributedTo"))
    return event


async def _cancel(
    session: AsyncSession, services: Services, row: StoredObject, event: dict[str, Any] | None
) -> str | None:
    """Cancel or refund the (locked) order if the event's rule allows it now; else the sentence why not."""
    target = TARGETS.get(OrderStatus(row.data["orderStatus"]))
    if target is None:
        return OVER
    if event is None:
        return "The event was cancelled: its orders are cancelled or refunded by the shop already."
    if (refusal := cancel_refusal(event, services.clock())) is not None:
        return refusal
    if target is OrderStatus.RETURNED:
        try:  # before the move: a provider that fails leaves the order as it was
            await provider_for(services, row.data).refund(row.data)
        except PaymentError as exc:
            return f"The refund could not be made just now ({exc.reason}); try again later."
    amount = str(row.data.get("price", ""))
    if await move_order(session, services, row, target, reason=CANCELLED) is not Moved.MOVED:
        return OVER
    message = notices.cancelled_by_buyer(row.data, amount, refunded=target is OrderStatus.RETURNED)
    await notices.tell_buyer(session, services, row.data, message, key=f"order-buyer-cancelled:{row.id}")
    return None
