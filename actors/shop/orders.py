"""Orders: checked against the event the shop fetched itself, created under a capacity counter that one
conditional UPDATE moves, so concurrent buyers can never oversell."""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity, iso
from activities.order import ORDER_TYPE, OrderRequest
from actors.context import Services
from store import collections, counters, objects

ORDER_SEQUENCE = "orders:sequence"


def products_id(services: Services) -> str:
    return services.actor.url("products")


def product_key(event: str) -> str:
    return hashlib.sha256(event.encode()).hexdigest()[:16]


def event_orders_id(services: Services, event: str) -> str:
    return services.actor.url(f"products/{product_key(event)}/orders")


def orders_id(services: Services) -> str:
    return services.actor.url("orders")


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
) -> dict[str, Any]:
    """Create the order and its Accept, or a Reject when the tickets are gone. Returns the answer."""
    now = services.clock()
    capacity = int(event["maximumAttendeeCapacity"])
    unit_price = Decimal(str(event.get("price", "0")))
    currency = str(event.get("priceCurrency", services.currency))
    name = str(event.get("name", ""))[:200]
    counter = capacity_counter(request.event)
    await counters.ensure(session, counter, capacity)
    await collections.add(
        session,
        products_id(services),
        request.event,
        now,
        {"name": name, "price": f"{unit_price:.2f}", "priceCurrency": currency, "capacity": capacity},
    )
    if await counters.take(session, counter, request.quantity) is None:
        left = capacity - await counters.value(session, counter)
        reason = "sold out" if left <= 0 else f"only {left} ticket{'s' if left != 1 else ''} left"
        answer = activity(
            "Reject", services.actor.new_activity_id(), services.actor.id, offer_id, to=[seller], summary=reason
        )
        await services.emit(session, answer)
        return answer
    await counters.ensure(session, ORDER_SEQUENCE, None)
    number = str(1000 + (await counters.take(session, ORDER_SEQUENCE, 1) or 0))
    order_id = services.actor.url(f"orders/{number}")
    token = secrets.token_urlsafe(18)
    order = {
        "id": order_id,
        "type": ORDER_TYPE,
        "orderNumber": number,
        "orderStatus": "confirmed",
        "orderedItem": request.event,
        "name": f"{request.quantity} ticket(s): {name}",
        "quantity": request.quantity,
        "price": f"{unit_price * request.quantity:.2f}",
        "priceCurrency": currency,
        "seller": services.actor.id,
        "broker": seller,
        "acceptedOffer": offer_id,
        "orderDate": iso(now),
        "url": f"{order_id}?token={token}",
    }
    private = {**order, "customer": {"type": "Person", "name": request.customer.name, "email": request.customer.email}}
    await objects.put(
        session, private, actor=services.actor.name, now=now, public=False, readers=[seller], capability=token
    )
    await collections.add(
        session, orders_id(services), order_id, now, {"event": request.event, "quantity": request.quantity}
    )
    await collections.add(
        session, event_orders_id(services, request.event), order_id, now, {"quantity": request.quantity}
    )
    answer = activity(
        "Accept", services.actor.new_activity_id(), services.actor.id, offer_id, to=[seller], result=order
    )
    await services.emit(session, answer)
    return answer
