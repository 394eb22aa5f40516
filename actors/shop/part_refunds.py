"""Staff refund some of a paid order's tickets: the provider gives back their share of the price, the tickets
leave the event's sold collection (their seats return to the capacity), the order keeps the rest and lists the
refunded ones apart, and the events peer hears a signed `Update{Order}` whose tickets are the ones still valid.
The order's status does not change: it is still paid, for fewer tickets. Refunding every ticket left is the
whole-order refund (staff.py), so the order is then `OrderReturned`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.order import SOLD_STATUSES, OrderStatus
from actors.context import Services
from actors.shop import notices
from actors.shop.orders import capacity_counter, event_tickets_id
from actors.shop.payments import PartRefund, PaymentError, provider_for
from actors.shop.settle import tell_seller
from store import collections, counters
from store.models import StoredObject


class RefundRefused(Exception):
    """A sentence for the staff member: nothing was changed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def share_of(order: dict[str, Any], count: int) -> Decimal:
    """What `count` of the order's tickets cost: the same share of what is still paid for each ticket left."""
    left = len(order.get("tickets", []))
    return (Decimal(str(order.get("price", "0"))) * count / left).quantize(Decimal("0.01"))


async def refund_tickets(session: AsyncSession, services: Services, row: StoredObject, numbers: list[str]) -> str:
    """Refund the (locked) order's tickets numbered `numbers`, some but not all of those left; returns the amount."""
    data = dict(row.data)
    if OrderStatus(data["orderStatus"]) not in SOLD_STATUSES:
        raise RefundRefused("Only a paid order's tickets can be refunded.")
    tickets: list[dict[str, Any]] = list(data.get("tickets", []))
    by_number = {str(t.get("ticketNumber")): t for t in tickets}
    chosen = sorted(set(numbers))
    if not chosen:
        raise RefundRefused("Choose the tickets to refund.")
    unknown = [n for n in chosen if n not in by_number]
    if unknown:
        raise RefundRefused(f"Ticket {unknown[0]} is not one of this order's valid tickets.")
    if len(chosen) == len(tickets):
        raise RefundRefused("That is every ticket left: refund the whole order instead.")
    amount = share_of(data, len(chosen))
    part = PartRefund(amount=f"{amount:.2f}", key="+".join(chosen))
    try:  # before anything moves: a provider that fails leaves the order as it was
        await provider_for(services, data).refund(data, part)
    except PaymentError as exc:
        raise RefundRefused(f"The refund failed: {exc.reason}") from None
    event = str(data["orderedItem"])
    gone = [by_number[n] for n in chosen]
    await collections.remove_many(session, event_tickets_id(services, event), [str(t["id"]) for t in gone])
    await counters.take(session, capacity_counter(event), -len(gone))
    now = services.clock()
    data["tickets"] = [t for t in tickets if str(t.get("ticketNumber")) not in chosen]
    data["refundedTickets"] = [*data.get("refundedTickets", []), *gone]
    data["quantity"] = len(data["tickets"])
    data["price"] = f"{Decimal(str(data['price'])) - amount:.2f}"
    data["description"] = f"{len(gone)} ticket{'s' if len(gone) != 1 else ''} refunded by the shop"
    row.data, row.updated_at = data, now
    await tell_seller(session, services, data)
    message = notices.refunded(data, f"{amount:.2f}", chosen)
    await notices.tell_buyer(session, services, data, message, key=f"order-refunded:{row.id}:{part.key}")
    return part.amount
