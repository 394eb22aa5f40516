"""An event its organiser cancelled: the events peer's `Delete` of it reaches the shop, which closes every order
for it (one still due for payment is cancelled, a paid one is refunded through its provider) and tells each buyer.

All of it is one transaction with the Delete's record: a provider that cannot refund one order rolls every move
back and the Delete is tried again later (`TryLater`). Refunds carry an idempotency key per order (see the
providers), so the orders refunded before the failure are not paid back twice when it is retried."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from activities.order import OrderStatus
from actors.context import Context, Services
from actors.shop import notices
from actors.shop.orders import event_held_id, event_tickets_id
from actors.shop.payments import PaymentError, provider_for
from actors.shop.settle import Moved, locked_order, move_order
from inbox.dispatch import Outcome
from inbox.errors import TryLater
from inbox.trust import check_same_origin
from store import collections

CANCELLED = "the event was cancelled"


async def orders_of_event(session: AsyncSession, services: Services, event: str) -> list[str]:
    """The orders whose tickets are held or sold for `event`, oldest first, each once."""
    seen: dict[str, None] = {}
    for collection in (event_held_id(services, event), event_tickets_id(services, event)):
        for item in await collections.all_items(session, collection, newest_first=False):
            order = (item.data or {}).get("order")
            if isinstance(order, str):
                seen.setdefault(order, None)
    return list(seen)


async def on_event_cancelled(ctx: Context) -> Outcome:
    services = ctx.services
    deleted = ctx.activity
    if deleted.actor not in services.trusted:
        return Outcome.IGNORED  # only a seller's events have orders here; anyone else's Delete is not ours to act on
    event = deleted.object_id
    check_same_origin(deleted, event)
    async with ctx.transaction() as session:
        for order in await orders_of_event(session, services, event):
            row = await locked_order(session, order)
            if row is None or row.data.get("broker") != deleted.actor or row.data.get("orderedItem") != event:
                continue
            status = OrderStatus(row.data["orderStatus"])
            if status is OrderStatus.PAYMENT_DUE:
                target = OrderStatus.CANCELLED
            elif status is OrderStatus.DELIVERED:
                target = OrderStatus.RETURNED
                try:
                    await provider_for(services, row.data).refund(row.data)
                except PaymentError as exc:
                    raise TryLater(f"order {row.data.get('orderNumber')} could not be refunded: {exc.reason}") from None
            else:
                continue
            if await move_order(session, services, row, target, reason=CANCELLED) is Moved.MOVED:
                told = notices.event_cancelled(row.data, refunded=target is OrderStatus.RETURNED)
                await notices.tell_buyer(session, services, row.data, told, key=f"order-cancelled:{order}")
    return Outcome.PROCESSED
