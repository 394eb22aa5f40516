"""Orders: checked against the event the shop fetched itself, created under a capacity counter that one
conditional UPDATE moves, so concurrent buyers can never oversell."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, String, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity, iso
from activities.order import HELD_STATUSES, ORDER_TYPE, SOLD_STATUSES, OrderRequest, OrderStatus, product_key
from activities.ticket import ticket_documents
from actors.context import Services
from actors.shop.confirmation import order_delivered
from store import collections, counters, objects
from store.db import table_of
from store.models import Counter, StoredObject
from store.upsert import insert_ignore

ORDER_SEQUENCE = "orders:sequence"
CARD_PROVIDERS = frozenset({"stripe", "sumup"})  # paid through the shop's checkout page


def products_id(services: Services) -> str:
    return services.actor.url("products")


def event_tickets_id(services: Services, event: str) -> str:
    """The event's tickets as the shop counts them: the same ticket ids the events peer's sold collection holds."""
    return services.actor.url(f"products/{product_key(event)}/tickets")


def event_held_id(services: Services, event: str) -> str:
    """The event's tickets held while their buyers pay (the events peer's held collection holds the same ids)."""
    return services.actor.url(f"products/{product_key(event)}/held")


def holds_id(services: Services) -> str:
    """The orders due for payment, each with the time its hold expires: what the expiry sweep reads."""
    return services.actor.url("holds")


def tickets_collection(services: Services, event: str, status: OrderStatus) -> str | None:
    """Where an order's tickets are counted in `status`: held, sold, or nowhere (their seats are free)."""
    if status in HELD_STATUSES:
        return event_held_id(services, event)
    if status in SOLD_STATUSES:
        return event_tickets_id(services, event)
    return None


def orders_id(services: Services) -> str:
    return services.actor.url("orders")


# The event as the shop fetched it for the Offer: what the buyer's confirmation email says of it (kept with the
# order, which only the shop reads whole; the wire's Order leaves it out, like the buyer's details).
EVENT_FIELDS = ("id", "name", "startTime", "endTime", "timezone", "location", "url", "summary")
PRIVATE_FIELDS = frozenset({"customer", "event", "refundedTickets"})


def event_snapshot(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event[k] for k in EVENT_FIELDS if k in event}


def capacity_counter(event: str) -> str:
    return f"capacity:{event}"


async def place_order(
    session: AsyncSession,
    services: Services,
    *,
    offer_id: str,
    seller: str,
    request: OrderRequest,
    event: dict[str, Any],
    ready: bool = False,
) -> dict[str, Any]:
    """Create the order and its Accept, or a Reject when the tickets are gone. Returns the answer.

    Concurrent offers queue on two rows, the event's capacity counter and the order sequence, from the UPDATE
    that takes each until they commit. So nothing before those UPDATEs locks a row (the counters are created if
    missing, not updated up front), and after them the order is inserted without a look-up first.

    `ready`: an earlier order of this event committed, so its rows (the counters, the product) exist and are not
    created again; should one be missing after all (a store emptied under a running shop), it is created then."""
    now = services.clock()
    capacity = int(event["maximumAttendeeCapacity"])
    unit_price = Decimal(str(event.get("price", "0")))
    currency = str(event.get("priceCurrency", services.currency))
    name = str(event.get("name", ""))[:200]
    product = {"name": name, "price": f"{unit_price:.2f}", "priceCurrency": currency, "capacity": capacity}
    if not ready:
        await _prepare(session, services, request.event, capacity, product, now)
    taken = await _take_seats(session, request, capacity)
    if taken is None:
        sold = await session.scalar(_SET_CAPACITY, {"counter": capacity_counter(request.event), "capacity": capacity})
        if sold is None and ready:  # the counter is missing after all: create the rows, then take again
            return await place_order(
                session, services, offer_id=offer_id, seller=seller, request=request, event=event, ready=False
            )
        left = capacity - (sold or 0)
        reason = "sold out" if left <= 0 else f"only {left} ticket{'s' if left != 1 else ''} left"
        answer = activity(
            "Reject", services.actor.new_activity_id(), services.actor.id, offer_id, to=[seller], summary=reason
        )
        await services.emit(session, answer)
        return answer
    sequence = await counters.take(session, ORDER_SEQUENCE, 1)
    if sequence is None:  # only when `ready` was wrong about the sequence: a number must never be reused
        await counters.ensure(session, ORDER_SEQUENCE, None)
        sequence = await counters.take(session, ORDER_SEQUENCE, 1)
    number = str(1000 + (sequence or 0))
    order_id = services.actor.url(f"orders/{number}")
    token = secrets.token_urlsafe(18)
    tickets = ticket_documents(order_id, number, request.event, services.actor.id, request.quantity)
    total = unit_price * request.quantity
    status = OrderStatus.DELIVERED if total == 0 else OrderStatus.PAYMENT_DUE
    due = now + services.hold_seconds
    order: dict[str, Any] = {
        "id": order_id,
        "type": ORDER_TYPE,
        "orderNumber": number,
        "orderStatus": status.value,
        "orderedItem": request.event,
        "name": f"{request.quantity} ticket(s): {name}",
        "quantity": request.quantity,
        "price": f"{total:.2f}",
        "priceCurrency": currency,
        "seller": services.actor.id,
        "broker": seller,
        "acceptedOffer": offer_id,
        "orderDate": iso(now),
        "url": f"{order_id}?token={token}",
        "tickets": tickets,
    }
    if status is OrderStatus.PAYMENT_DUE:
        # FEP-0837's Accept of the offer carries the agreement; its `url` is where the buyer pays: the card
        # checkout for a card provider, else the order's own page, which says how to pay.
        order |= {"paymentDueDate": iso(due), "paymentMethod": services.payment_provider}
        if services.payment_provider in CARD_PROVIDERS:
            order["url"] = f"{order_id}/pay?token={token}"
    private = {
        **order,
        "customer": {"type": "Person", "name": request.customer.name, "email": request.customer.email},
        "event": event_snapshot(event),
    }
    # A new order number is a new id: insert the documents (objects.put would look for one to replace first).
    # Each ticket is a document of its own, so its id dereferences, read by the same two parties as the order.
    for doc in (private, *tickets):
        session.add(
            StoredObject(
                id=doc["id"],
                actor=services.actor.name,
                type=objects.primary_type(doc),
                data=doc,
                public=False,
                readers=[seller],
                capability=token,
                created_at=now,
                updated_at=now,
                deleted_at=None,
            )
        )
    await collections.add(
        session, orders_id(services), order_id, now, {"event": request.event, "quantity": request.quantity}
    )
    counted = tickets_collection(services, request.event, status)
    assert counted is not None  # a new order's tickets are held or sold
    for ticket in tickets:
        await collections.add(session, counted, ticket["id"], now, {"order": order_id})
    if status is OrderStatus.PAYMENT_DUE:
        await collections.add(session, holds_id(services), order_id, now, {"due": due})
    if status is OrderStatus.DELIVERED:
        await order_delivered(session, services, private)  # the buyer's confirmation (mail hook)
    answer = activity(
        "Accept", services.actor.new_activity_id(), services.actor.id, offer_id, to=[seller], result=order
    )
    await services.emit(session, answer)
    return answer


async def _prepare(
    session: AsyncSession, services: Services, event: str, capacity: int, product: dict[str, Any], now: float
) -> None:
    """The rows every order of the event needs, created if missing (none is locked: see place_order)."""
    await insert_ignore(session, Counter, {"name": capacity_counter(event), "value": 0, "limit": capacity}, ("name",))
    await counters.ensure(session, ORDER_SEQUENCE, None)
    await collections.add(session, products_id(services), event, now, product)


async def _take_seats(session: AsyncSession, request: OrderRequest, capacity: int) -> int | None:
    """The event's seats taken after this order's, or None when they do not fit. The capacity is the event's as
    the shop has it for this Offer: the limit is set and checked in the same UPDATE."""
    values = {"counter": capacity_counter(request.event), "quantity": request.quantity, "capacity": capacity}
    taken: int | None = await session.scalar(_TAKE_SEATS, values)
    return taken


# Built once, values bound at execution: building and keying them for every Offer cost more than their round trip.
_COUNTERS = table_of(Counter)
_COUNTER, _CAPACITY = bindparam("counter", type_=String()), bindparam("capacity", type_=Integer())
_QUANTITY = bindparam("quantity", type_=Integer())
_TAKE_SEATS = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == _COUNTER, _COUNTERS.c.value + _QUANTITY <= _CAPACITY)
    .values(value=_COUNTERS.c.value + _QUANTITY, limit=_CAPACITY)
    .returning(_COUNTERS.c.value)
)
_SET_CAPACITY = (
    update(_COUNTERS).where(_COUNTERS.c.name == _COUNTER).values(limit=_CAPACITY).returning(_COUNTERS.c.value)
)
