"""Moving an order through its lifecycle (order_states.py): its tickets move between the event's held and sold
collections (or out of both, giving the seats back to the capacity counter), and the events peer that sold it is
told by a signed `Update{Order}` in the same transaction."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.order import OrderStatus
from actors.context import Services
from actors.shop.confirmation import order_delivered
from actors.shop.order_states import ORDER_LIFECYCLE
from actors.shop.orders import PRIVATE_FIELDS, capacity_counter, holds_id, tickets_collection
from store import collections, counters
from store.models import StoredObject


class Moved(StrEnum):
    MOVED = "moved"
    NOT_ALLOWED = "not allowed"  # already there, or a move its lifecycle forbids: nothing changed
    NO_SEATS = "no seats"  # the seats it would take again are gone: nothing changed


async def locked_order(session: AsyncSession, order_id: str) -> StoredObject | None:
    """The order's row, held to the end of the transaction: a payment racing an expiry settles it one at a time."""
    row = await session.scalar(
        select(StoredObject)
        .where(StoredObject.id == order_id, StoredObject.type == "Order")
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row


def public_order(data: dict[str, Any]) -> dict[str, Any]:
    """The order as its two parties see it on the wire: without the buyer's details (and the event as the shop
    fetched it), which only the shop keeps."""
    return {k: v for k, v in data.items() if k not in PRIVATE_FIELDS}


async def tell_seller(session: AsyncSession, services: Services, data: dict[str, Any]) -> None:
    """The signed `Update{Order}` that tells the events peer which sold the order how it stands now."""
    broker = data.get("broker")
    if isinstance(broker, str):
        told = activity("Update", services.actor.new_activity_id(), services.actor.id, public_order(data), to=[broker])
        await services.emit(session, told)


async def move_order(
    session: AsyncSession, services: Services, row: StoredObject, status: OrderStatus, *, reason: str = ""
) -> Moved:
    """Move the (locked) order to `status` with its tickets and seats, and send the `Update` that says so."""
    data = dict(row.data)
    old = OrderStatus(data["orderStatus"])
    if not ORDER_LIFECYCLE.can_move(old, status):
        return Moved.NOT_ALLOWED
    event, quantity = str(data["orderedItem"]), int(data["quantity"])
    tickets = [str(t["id"]) for t in data.get("tickets", [])]
    was, will = tickets_collection(services, event, old), tickets_collection(services, event, status)
    counter = capacity_counter(event)
    if was is None and will is not None:  # a payment after the expiry takes the seats again, if they are free
        if await counters.take(session, counter, quantity) is None:
            return Moved.NO_SEATS
    elif was is not None and will is None:
        await counters.take(session, counter, -quantity)
    now = services.clock()
    if was != will:
        if was is not None:
            await collections.remove_many(session, was, tickets)
        if will is not None:
            for ticket in tickets:
                await collections.add(session, will, ticket, now, {"order": row.id})
    if old is OrderStatus.PAYMENT_DUE:
        await collections.remove(session, holds_id(services), row.id)
    data["orderStatus"] = ORDER_LIFECYCLE.move(old, status).value
    if reason:
        data["description"] = reason
    row.data, row.updated_at = data, now
    await tell_seller(session, services, data)
    if status is OrderStatus.DELIVERED:
        await order_delivered(session, services, data)  # the buyer's confirmation (mail hook)
    return Moved.MOVED
