"""Holds that run out: an order still due for payment after its paymentDueDate is cancelled and its seats
released on both peers. The sweep reads the store (the shop's holds collection), so a restart loses nothing: a
hold that expired while the shop was down is released by the first sweep after it starts."""

from __future__ import annotations

import logging
from functools import partial

from activities.order import OrderStatus
from actors.context import Services
from actors.shop.orders import holds_id
from actors.shop.payment_sweep import reconcile
from actors.shop.settle import Moved, locked_order, move_order
from actors.sweeps import keep_sweeping
from store import collections

log = logging.getLogger(__name__)

EVERY = 5.0  # seconds between sweeps: a released seat is on sale again within this of its expiry
BATCH = 200
EXPIRED = "the time to pay ran out"


async def expire_due(services: Services) -> int:
    """Cancel every order whose hold has expired; how many were."""
    now = services.clock()
    async with services.store.read() as session:
        items = await collections.all_items(session, holds_id(services), newest_first=False)
    due = [i.item for i in items if float((i.data or {}).get("due", 0)) <= now][:BATCH]
    if due:
        await reconcile(services, due)  # a payment made but never notified settles its order instead
    expired = 0
    for order in due:  # one transaction each: a payment racing an expiry waits on one order's lock, not all
        async with services.store.write() as session:
            row = await locked_order(session, order)
            if row is None or row.data.get("orderStatus") != OrderStatus.PAYMENT_DUE:
                await collections.remove(session, holds_id(services), order)
                continue
            if await move_order(session, services, row, OrderStatus.CANCELLED, reason=EXPIRED) is Moved.MOVED:
                expired += 1
    return expired


async def sweep_holds(services: Services, every: float = EVERY) -> None:
    await keep_sweeping(
        partial(expire_due, services),
        every,
        log=log,
        name="the hold expiry sweep",
        done="released the seats of %d orders whose time to pay ran out",
    )
