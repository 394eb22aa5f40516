"""What the events actor hears: allocations (`Add`) and the shop's answers to its offers."""

from __future__ import annotations

import functools

from activities.errors import ActivityError
from activities.order import is_order, order_status
from activities.parse import id_of, same_origin
from activities.text import plain
from activities.ticket import parse_tickets
from actors.context import Context, Services
from actors.events import seats, waitlist
from actors.events.buyer_cancel import on_cancel_refused
from actors.events.calendars import allocate_post, allocated_of, calendar_data, hold_for_approval
from actors.events.checkin import index_tickets
from actors.events.order_updates import on_order_update
from actors.events.purchase_states import PURCHASE_LIFECYCLE, STATE_OF_ORDER, PurchaseState
from actors.events.ticket_moves import move_tickets
from actors.events.tickets import PurchaseWaiters, purchase_for_offer, release_buyer_tickets, update_purchase
from actors.pending import TooManyPending
from inbox.dispatch import ListenerKey, Listeners, Outcome
from inbox.errors import FetchError, Forbidden, Malformed, Unprocessable, unfetchable
from inbox.trust import check_attribution, check_same_origin
from store import collections

POST_TYPES = frozenset({"Article", "Note", "Page"})


def register(listeners: Listeners[Services], waiters: PurchaseWaiters) -> None:
    answer = functools.partial(on_offer_answer, waiters=waiters)
    listeners.on(ListenerKey("Add"), on_add)
    listeners.on(ListenerKey("Accept", answering="Offer"), answer)
    listeners.on(ListenerKey("Reject", answering="Offer"), answer)
    listeners.on(ListenerKey("Reject", answering="Undo"), functools.partial(on_cancel_refused, waiters=waiters))
    listeners.on(ListenerKey("Update"), functools.partial(on_order_update, waiters=waiters))


async def on_add(ctx: Context) -> Outcome:
    """Allocate a post to a calendar: the post must be the sender's, the target one of our calendars."""
    services = ctx.services
    add = ctx.activity
    try:
        post, calendar = add.object_id, add.target_id
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    async with services.store.read() as session:
        if await calendar_data(session, services, calendar) is None:
            raise Unprocessable("the target is not a calendar of this peer")
    check_same_origin(add, post)
    try:
        doc = await services.fetcher.get_json(post)
    except FetchError as exc:
        raise Unprocessable(unfetchable("the post", exc)) from None
    if doc.get("id") != post or doc.get("type") not in POST_TYPES:
        raise Unprocessable("the object is not a post")
    check_attribution(add, doc.get("attributedTo"))
    try:
        name = plain(doc.get("name") or doc.get("summary") or post, "name", 300)
    except ActivityError:
        name = post
    data = {
        "name": name[:200],
        "url": url if isinstance(url := doc.get("url"), str) and url.startswith(("http://", "https://")) else post,
        "author": add.actor,
        "add": add.id,
        "published": str(doc.get("published", ""))[:64],
    }
    async with ctx.transaction() as session:
        if await collections.contains(session, allocated_of(calendar), post):
            await allocate_post(session, services, calendar, post, data, add.id, add.actor)
        elif add.actor in services.trusted:
            await allocate_post(session, services, calendar, post, data, add.id, add.actor)
        else:
            try:
                await hold_for_approval(session, services, calendar, add.id, add.actor, {**data, "post": post})
            except TooManyPending as exc:
                raise Unprocessable(exc.reason) from None
    return Outcome.PROCESSED


async def on_offer_answer(ctx: Context, *, waiters: PurchaseWaiters) -> Outcome:
    services = ctx.services
    offer = ctx.answered
    assert offer is not None
    answer = ctx.activity
    # One transaction from the start: the purchase is looked up under its lock (a refusal below rolls back the
    # inbox record with everything else), which saves a separate read before it.
    async with ctx.transaction() as session:
        row = await purchase_for_offer(session, services, offer["id"], lock=True)
        if row is None:
            raise Unprocessable("no purchase waits for that offer")
        if answer.type == "Reject":
            if PURCHASE_LIFECYCLE.can_move(row.data["state"], PurchaseState.REJECTED):
                reason = plain(answer.summary or "the shop refused the order", "reason", 300)
                update_purchase(row, ctx.now, PurchaseState.REJECTED, reason=reason)
                await release_buyer_tickets(session, row.data)
                await waitlist.purchase_refused(session, services, row.data)
                waiters.notify_after_commit(session, row)
            return Outcome.PROCESSED
        order = answer.result if isinstance(answer.result, dict) else None
        if order is None or not is_order(order):
            raise Malformed("an Accept of an offer carries the Order as its result")
        order_id = id_of(order, "result")
        if not same_origin(order_id, answer.actor):
            raise Forbidden("the order is not on the shop's host")
        wanted = offer["object"]
        if order.get("orderedItem") != wanted.get("orderedItem") or order.get("quantity") != wanted.get("quantity"):
            raise Unprocessable("the order does not match the offer")
        try:
            tickets = parse_tickets(order, int(wanted["quantity"]))
            state = STATE_OF_ORDER[order_status(order)]
        except ActivityError as exc:
            raise Malformed(exc.reason) from None
        if state not in (PurchaseState.CONFIRMED, PurchaseState.HELD):
            raise Malformed("an accepted order is due for payment or delivered")
        if row.data["state"] != PurchaseState.PENDING:
            return Outcome.PROCESSED  # answered already: a second Accept changes nothing
        due = order.get("paymentDueDate")
        update_purchase(
            row,
            ctx.now,
            state,
            shop=answer.actor,
            paymentDueDate=due[:40] if isinstance(due, str) and state is PurchaseState.HELD else None,
            order=order_id,
            orderNumber=str(order.get("orderNumber", ""))[:32],
            price=str(order.get("price", ""))[:16],
            priceCurrency=str(order.get("priceCurrency", ""))[:8],
            orderUrl=order.get("url") if isinstance(order.get("url"), str) else order_id,
            tickets=[{"id": t.id, "code": t.code} for t in tickets],
        )
        await index_tickets(session, row.data, ctx.now)
        await move_tickets(session, services, row.data, PurchaseState.PENDING, state)
        quantity, from_waitlist = -int(row.data["quantity"]), bool(row.data.get("waitlist"))
        await seats.add_pending(session, row.data["event"], quantity, waitlist=from_waitlist)  # after the event's lock
        waiters.notify_after_commit(session, row)
    return Outcome.PROCESSED
