"""Buying a ticket: an `Offer{Order}` to the shop, and the visitor's purchase page that follows it from
pending to confirmed or rejected. Buyer details travel only in the private Offer."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.errors import ActivityError
from activities.order import Customer, order_offer_object
from actors.context import Services
from actors.events import seats
from actors.events.purchase_states import PURCHASE_LIFECYCLE, PurchaseState
from actors.events.purchase_watch import PurchaseWaiters as PurchaseWaiters  # found here too
from store import collections, counters, objects
from store.models import CollectionItem, Counter, StoredObject
from store.upsert import insert_ignore

PURCHASE = "TicketPurchase"


def offers_index(services: Services) -> str:
    return services.actor.url("offers")


def purchase_id(services: Services, token: str) -> str:
    return services.actor.url(f"tickets/{token}")


RESERVED = (
    "The tickets left are kept for people on the waiting list for now: join the list below and we email you "
    "when seats are yours."
)


async def buy(
    session: AsyncSession,
    services: Services,
    event: StoredObject,
    quantity: int,
    customer: Customer,
    *,
    from_waitlist: bool = False,
) -> str:
    """Record the purchase and send the Offer in one transaction; returns the purchase page token. While seats
    are kept for the waiting list, an ordinary buyer (not `from_waitlist`) who would take them is refused."""
    shop = services.peer_actor("shop")
    if shop is None:
        raise ActivityError("no shop is configured for this calendar")
    if event.deleted_at is not None or event.type != "Event":
        raise ActivityError("this event was cancelled")
    limits = services.ticket_limits
    if quantity > limits.per_order:
        raise ActivityError(f"one order can take at most {limits.per_order} tickets")
    if not await _take_for_buyer(session, buyer_counter(event.id, customer.email), quantity, limits.per_buyer):
        raise ActivityError(f"one buyer can hold at most {limits.per_buyer} tickets for this event")
    token = secrets.token_urlsafe(18)
    offer_id = services.actor.new_activity_id()
    now = services.clock()
    purchase = {
        "id": purchase_id(services, token),
        "type": PURCHASE,
        "event": event.id,
        "eventName": event.data.get("name", ""),
        "quantity": quantity,
        "customer": {"name": customer.name, "email": customer.email},
        "offer": offer_id,
        "state": PurchaseState.PENDING.value,
        **({"waitlist": True} if from_waitlist else {}),
    }
    await objects.put_new(session, purchase, actor=services.actor.name, now=now, public=False, readers=[])
    offer = activity(
        "Offer", offer_id, services.actor.id, order_offer_object(event.id, quantity, customer), to=[shop], target=shop
    )
    await services.emit(session, offer)
    # Last: every buyer adds to this one collection, so whatever the store keeps per collection (its size) is a
    # row all their transactions update; taken just before the commit, it is held the shortest time.
    await collections.add(session, offers_index(services), offer_id, now, {"purchase": purchase["id"]})
    # Its tickets count as pending until the shop answers; the counter's row, taken after everything else, is
    # where a buyer and a release of seats to the waiting list meet (actors/events/seats.py).
    pending = await seats.add_pending(session, event.id, quantity, waitlist=from_waitlist)
    if not from_waitlist and await seats.kept_for_waitlist(session, event.id):
        if (await seats.seats_of(session, event.data, pending)).free < 0:
            raise ActivityError(RESERVED)  # the caller's transaction rolls back: nothing was written
    return token


async def _take_for_buyer(session: AsyncSession, counter: str, quantity: int, limit: int) -> bool:
    """Count `quantity` more tickets against the buyer's allowance of `limit`; False when they would not fit.
    A buyer's first purchase (most in a rush) creates the counter with its tickets in one statement."""
    if quantity > limit:
        return False
    if await insert_ignore(session, Counter, {"name": counter, "value": quantity, "limit": limit}, ("name",)):
        return True
    await counters.ensure(session, counter, limit)  # the limit as configured now
    return await counters.take(session, counter, quantity) is not None


def buyer_counter(event: str, email: str) -> str:
    """The tickets one email address holds for an event (its digest: the counter's name is no place for it)."""
    return f"{event}#buyer:{hashlib.sha256(email.strip().lower().encode()).hexdigest()}"


async def release_buyer_tickets(session: AsyncSession, purchase: dict[str, Any]) -> None:
    """A refused purchase gives the buyer's allowance back."""
    await counters.take(session, buyer_counter(purchase["event"], purchase["customer"]["email"]), -purchase["quantity"])


async def retake_buyer_tickets(session: AsyncSession, purchase: dict[str, Any]) -> None:
    """A cancelled purchase paid after all counts against its buyer's allowance again."""
    await counters.take(session, buyer_counter(purchase["event"], purchase["customer"]["email"]), purchase["quantity"])


async def purchase_for_offer(
    session: AsyncSession, services: Services, offer_id: str, *, lock: bool = False
) -> StoredObject | None:
    """The purchase an offer was made for, found through the offers index in the same statement; `lock` holds
    its row to the end of the transaction, so answers racing each other (PostgreSQL runs them side by side)
    settle it one at a time."""
    values = {"offers": offers_index(services), "offer": offer_id}
    return await session.scalar(_LOCKED_PURCHASE if lock else _PURCHASE, values)


_PURCHASE_OF_OFFER = (
    select(CollectionItem.data["purchase"].as_string())
    .where(
        CollectionItem.collection == bindparam("offers", type_=String()),
        CollectionItem.item == bindparam("offer", type_=String()),
    )
    .scalar_subquery()
)
_PURCHASE = select(StoredObject).where(StoredObject.id == _PURCHASE_OF_OFFER)  # built once: every answer asks
_LOCKED_PURCHASE = _PURCHASE.with_for_update().execution_options(populate_existing=True)


def update_purchase(row: StoredObject, now: float, state: PurchaseState, **changes: Any) -> None:
    """Move the purchase to `state` (a move its lifecycle allows), with the fields that come with it."""
    data = dict(row.data)
    data.update(changes, state=PURCHASE_LIFECYCLE.move(data["state"], state).value)
    row.data, row.updated_at = data, now
