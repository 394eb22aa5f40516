"""A buyer cancels their own tickets from their ticket page, while the event's rule (activities/buyer_cancel.py)
allows it: the events peer asks the shop with a signed `Undo` of the purchase's `Offer` (its `target` the order).
The shop decides on its own clock and the event as it fetches it: it moves the order (cancelled when unpaid,
refunded when paid) and tells us with its usual `Update{Order}`, or answers `Reject{Undo}` with a sentence,
which the ticket page shows; nothing else changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.buyer_cancel import cancel_refusal
from activities.errors import ActivityError
from activities.text import plain
from actors.context import Context, Services
from actors.events.purchase_states import PurchaseState
from actors.events.tickets import PurchaseWaiters, purchase_for_offer
from inbox.dispatch import Outcome
from store import objects
from store.models import StoredObject

CANCELLABLE = frozenset({PurchaseState.HELD, PurchaseState.CONFIRMED})
ASKED = "cancelAsked"  # the Undo on its way to the shop: the page says the shop is deciding
REFUSED = "cancelRefused"  # the shop's sentence when it said no


def buyer_cancel_refusal(purchase: dict[str, Any], event: dict[str, Any] | None, now: float) -> str | None:
    """Why the ticket page offers no "Cancel my tickets" now (a sentence), or None when it does."""
    if purchase.get("state") not in CANCELLABLE or not isinstance(purchase.get("order"), str):
        return "Only tickets held or paid for can be cancelled."
    if purchase.get(ASKED):
        return "You asked the shop to cancel these tickets already: its answer shows on this page."
    if event is None:
        return "This event was cancelled: the shop cancels or refunds its orders itself."
    return cancel_refusal(event, now)


async def ask_to_cancel(session: AsyncSession, services: Services, purchase_row: StoredObject) -> None:
    """Send the shop the buyer's request (the purchase's row locked); an ActivityError says why not."""
    purchase = dict(purchase_row.data)
    event = await objects.get(session, str(purchase.get("event", "")))
    doc = event.data if event is not None and event.type == "Event" else None
    shop = purchase.get("shop")
    if (refusal := buyer_cancel_refusal(purchase, doc, services.clock())) is not None:
        raise ActivityError(refusal)
    if not isinstance(shop, str):
        raise ActivityError("Only tickets held or paid for can be cancelled.")
    undone = {"id": purchase["offer"], "type": "Offer", "actor": services.actor.id}
    undo = activity(
        "Undo", services.actor.new_activity_id(), services.actor.id, undone, to=[shop], target=purchase["order"]
    )
    await services.emit(session, undo)
    purchase[ASKED] = undo["id"]
    purchase.pop(REFUSED, None)
    purchase_row.data, purchase_row.updated_at = purchase, services.clock()


async def locked_purchase(session: AsyncSession, purchase: str) -> StoredObject | None:
    """The purchase's row, held to the end of the transaction (the buyer's two clicks send one request)."""
    return await session.scalar(
        select(StoredObject)
        .where(StoredObject.id == purchase, StoredObject.type == "TicketPurchase")
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def on_cancel_refused(ctx: Context, *, waiters: PurchaseWaiters) -> Outcome:
    """The shop's `Reject` of our `Undo`: the purchase keeps its tickets and its page says why."""
    asked = ctx.answered
    assert asked is not None
    reason = plain(ctx.activity.summary or "The shop refused to cancel these tickets.", "reason", 300)
    undone = asked.get("object")
    offer = undone.get("id") if isinstance(undone, dict) else None
    async with ctx.transaction() as session:
        row = await purchase_for_offer(session, ctx.services, str(offer), lock=True)
        if row is None or row.data.get(ASKED) != asked["id"]:
            return Outcome.PROCESSED  # answered already, or overtaken by the shop's Update
        data = dict(row.data)
        del data[ASKED]
        data[REFUSED] = reason
        row.data, row.updated_at = data, ctx.now
        waiters.notify_after_commit(session, row)
    return Outcome.PROCESSED
