"""Where a purchase's tickets are counted on the events peer: the event's held collection while the buyer pays,
its sold collection once paid, neither once cancelled or refunded. The same ticket ids the shop counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services
from actors.events.purchase_states import PurchaseState
from actors.events.seats import held_of, recount, sold_of
from actors.events.tickets import buyer_counter, release_buyer_tickets, retake_buyer_tickets
from inbox.errors import Malformed, Unprocessable
from store import collections, counters
from store.models import StoredObject


def place_of(event: str, state: PurchaseState) -> str | None:
    if state is PurchaseState.HELD:
        return held_of(event)
    if state is PurchaseState.CONFIRMED:
        return sold_of(event)
    return None


async def move_tickets(
    session: AsyncSession, services: Services, purchase: dict[str, Any], old: PurchaseState, new: PurchaseState
) -> None:
    """Move the purchase's tickets from where `old` counts them to where `new` does, and recount the event."""
    event, order = purchase["event"], purchase.get("order")
    tickets = [str(t["id"]) for t in purchase.get("tickets", [])]
    was, will = place_of(event, old), place_of(event, new)
    if was == will:
        return
    if was is not None:
        await collections.remove_many(session, was, tickets)
    if will is not None:
        now = services.clock()
        for ticket in tickets:
            await collections.add(session, will, ticket, now, {"order": order})
    if will is None and old is not PurchaseState.PENDING:
        await release_buyer_tickets(session, purchase)
    elif was is None and old is PurchaseState.CANCELLED:
        await retake_buyer_tickets(session, purchase)
    await recount(session, services, event)


async def drop_refunded_tickets(
    session: AsyncSession, services: Services, row: StoredObject, order: dict[str, Any]
) -> bool:
    """A paid order the shop now lists with fewer of its tickets: those it left out were refunded. They leave the
    sold collection and the purchase (kept apart, so the door says "refunded"); True when any did."""
    purchase = dict(row.data)
    listed = order.get("tickets")
    if not isinstance(listed, list):
        raise Malformed("an updated order lists its tickets")
    still = {t.get("id") for t in listed if isinstance(t, dict)}
    tickets = [t for t in purchase.get("tickets", []) if isinstance(t, dict)]
    kept = [t for t in tickets if t.get("id") in still]
    gone = [t for t in tickets if t.get("id") not in still]
    if not gone:
        return False  # a replay, or an older Update overtaken by this purchase's state
    if not kept:
        raise Unprocessable("a paid order with no ticket left is refunded, not updated")
    await collections.remove_many(session, sold_of(purchase["event"]), [str(t["id"]) for t in gone])
    purchase.update(tickets=kept, quantity=len(kept), refundedTickets=[*purchase.get("refundedTickets", []), *gone])
    reason = order.get("description")
    if isinstance(reason, str):
        purchase["reason"] = reason[:300]
    row.data, row.updated_at = purchase, services.clock()
    await counters.take(session, buyer_counter(purchase["event"], purchase["customer"]["email"]), -len(gone))
    await recount(session, services, purchase["event"])
    return True
