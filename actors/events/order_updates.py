"""`Update{Order}` from the shop: the order a purchase was sold under was paid, expired, cancelled or refunded.

Only the shop that accepted the purchase's offer may move it (a forged Update from anyone else is refused before
anything is read for writing), only for that very order, and only by a move the purchase's lifecycle allows:
a replay, or an Update overtaken by a later one, finds the purchase moved already and changes nothing. The
tickets moved are the ones the Accept listed, never ones an Update names: an Update of a paid order that lists
fewer of them (some tickets refunded) takes the missing ones out, and can never add one."""

from __future__ import annotations

from activities.errors import ActivityError
from activities.order import is_order, order_status
from actors.context import Context
from actors.events.purchase_states import PURCHASE_LIFECYCLE, STATE_OF_ORDER, PurchaseState
from actors.events.ticket_moves import drop_refunded_tickets, move_tickets, place_of
from actors.events.tickets import PurchaseWaiters, purchase_for_offer, update_purchase
from actors.events.waitlist import offer_free_seats
from inbox.dispatch import Outcome
from inbox.errors import Forbidden, Malformed, TryLater, Unprocessable


async def on_order_update(ctx: Context, *, waiters: PurchaseWaiters) -> Outcome:
    services = ctx.services
    update = ctx.activity
    order = update.object_doc
    if order is None or not is_order(order):
        raise Unprocessable("this peer takes Updates of orders only")
    if update.actor != services.peer_actor("shop"):
        raise Forbidden("only the shop that sold the tickets may update an order")
    offer, order_id = order.get("acceptedOffer"), order.get("id")
    if not isinstance(offer, str) or not isinstance(order_id, str):
        raise Malformed("an updated order names its id and the offer it accepted")
    try:
        state = STATE_OF_ORDER[order_status(order)]
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    async with ctx.transaction() as session:
        row = await purchase_for_offer(session, services, offer, lock=True)
        if row is None:
            raise Unprocessable("no purchase of ours was made under that order")
        purchase = row.data
        if purchase["state"] == PurchaseState.PENDING:
            raise TryLater("the shop's Accept of this order has not arrived yet")
        if purchase.get("order") != order_id or purchase.get("shop") != update.actor:
            raise Forbidden("that order is not the one this purchase was sold under")
        old = PurchaseState(purchase["state"])
        if old is state is PurchaseState.CONFIRMED:
            if await drop_refunded_tickets(session, services, row, order):
                await offer_free_seats(session, services, purchase["event"])  # the refunded seats, too
                waiters.notify_after_commit(session, row)
            return Outcome.PROCESSED
        if not PURCHASE_LIFECYCLE.can_move(old, state):
            return Outcome.PROCESSED  # a replay, or overtaken by a later Update: nothing to change
        reason = order.get("description")
        update_purchase(row, ctx.now, state, reason=reason[:300] if isinstance(reason, str) else None)
        await move_tickets(session, services, row.data, old, state)
        if place_of(purchase["event"], state) is None:  # seats released (cancelled, refunded): to the waiting list
            await offer_free_seats(session, services, purchase["event"])
        waiters.notify_after_commit(session, row)
    return Outcome.PROCESSED
