"""Buying a ticket: an `Offer{Order}` to the shop, and the visitor's purchase page that follows it from
pending to confirmed or rejected. Buyer details travel only in the private Offer."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.errors import ActivityError
from activities.order import Customer, order_offer_object
from actors.context import Services
from store import collections, objects
from store.models import StoredObject

PURCHASE = "TicketPurchase"


def offers_index(services: Services) -> str:
    return services.actor.url("offers")


def purchase_id(services: Services, token: str) -> str:
    return services.actor.url(f"tickets/{token}")


async def buy(session: AsyncSession, services: Services, event: StoredObject, quantity: int, customer: Customer) -> str:
    """Record the purchase and send the Offer in one transaction; returns the purchase page token."""
    shop = services.peer_actor("shop")
    if shop is None:
        raise ActivityError("no shop is configured for this calendar")
    if event.deleted_at is not None or event.type != "Event":
        raise ActivityError("this event was cancelled")
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
        "state": "pending",
    }
    await objects.put(session, purchase, actor=services.actor.name, now=now, public=False, readers=[])
    await collections.add(session, offers_index(services), offer_id, now, {"purchase": purchase["id"]})
    offer = activity(
        "Offer", offer_id, services.actor.id, order_offer_object(event.id, quantity, customer), to=[shop], target=shop
    )
    await services.emit(session, offer)
    return token


async def purchase_for_offer(
    session: AsyncSession, services: Services, offer_id: str, *, lock: bool = False
) -> StoredObject | None:
    """The purchase an offer was made for; `lock` holds its row to the end of the transaction, so answers
    racing each other (PostgreSQL runs them side by side) settle it one at a time."""
    item = await collections.get(session, offers_index(services), offer_id)
    if item is None or not item.data:
        return None
    if lock:
        return await session.scalar(
            select(StoredObject)
            .where(StoredObject.id == item.data["purchase"])
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    return await objects.get(session, item.data["purchase"])


def update_purchase(row: StoredObject, now: float, **changes: Any) -> None:
    data = dict(row.data)
    data.update(changes)
    row.data, row.updated_at = data, now
