"""Payments whose notification never came (the shop was down, or killed between the provider taking the money
and the shop recording it): every order still due for payment with a checkout started is looked up at its
provider, at start and then every so often, and a payment found there settles the order exactly as its
notification would have (`checkout.settle_payment`, under the order's lock, so a late notification and the
sweep settle it once). The hold expiry asks first too, so a paid order is not cancelled for want of a message."""

from __future__ import annotations

import logging
from functools import partial

from activities.order import OrderStatus
from actors.context import Services
from actors.shop.checkout import payments_id, settle_payment
from actors.shop.orders import holds_id
from actors.shop.payments import BadNotification, PaymentError, provider_for
from actors.sweeps import keep_sweeping
from store import collections, objects

log = logging.getLogger(__name__)

EVERY = 30.0  # seconds between sweeps; a notification that arrives settles the order at once anyway


async def started_payments(services: Services, orders: list[str] | None = None) -> dict[str, str]:
    """Order id → its payment's id at the provider, for orders due for payment (all, or those in `orders`)."""
    async with services.store.read() as session:
        due = (
            orders if orders is not None else [i.item for i in await collections.all_items(session, holds_id(services))]
        )
        found: dict[str, str] = {}
        for order in due:
            payment = await collections.get(session, payments_id(services), order)
            if payment is not None and isinstance((payment.data or {}).get("id"), str):
                found[order] = str(payment.data["id"])  # type: ignore[index]
        return found


async def reconcile(services: Services, orders: list[str] | None = None) -> int:
    """Settle every due order whose payment the provider reports paid; how many were."""
    settled = 0
    for order, payment in (await started_payments(services, orders)).items():
        async with services.store.read() as session:
            row = await objects.get(session, order)
        if row is None or row.data.get("orderStatus") != OrderStatus.PAYMENT_DUE:
            continue
        provider = provider_for(services, row.data)
        try:
            found = await provider.ask(payment)
            if found is not None and found.order == order:
                settled += await settle_payment(services, provider, found) == "paid"
        except (PaymentError, BadNotification) as exc:
            log.warning("the payment of order %s could not be checked: %s", row.data.get("orderNumber"), exc)
    return settled


async def sweep_payments(services: Services, every: float = EVERY) -> None:
    await keep_sweeping(
        partial(reconcile, services),
        every,
        log=log,
        name="the payment sweep",
        done="settled %d orders whose payment notification never arrived",
    )
