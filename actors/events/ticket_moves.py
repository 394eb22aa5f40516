"""Where a purchase's tickets are counted on the events peer: the event's held collection while the buyer pays,
its sold collection once paid, neither once cancelled or refunded. The same ticket ids the shop counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services
from actors.events.purchase_states import PurchaseState
from actors.events.seats import held_of, recount, sold_of
from actors.events.tickets import release_buyer_tickets, retake_buyer_tickets
from store import collections


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
