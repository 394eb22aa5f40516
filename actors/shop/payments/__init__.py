"""The shop's payment providers behind one interface: start a payment for an order (where the buyer goes to pay),
verify a provider's notification (signature checked; a replay finds the order moved already and changes nothing),
refund. `stripe` and `sumup` are paid through the shop's checkout page; SumUp's notifications are unsigned, so
the `sumup` provider believes only what SumUp's API says when asked. `free` takes orders priced 0 (delivered at
once, at placement); `manual` is paid at the door or by transfer, and staff mark the order paid on /orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors.context import Services
from actors.shop.payments.interface import BadNotification, Notification, PartRefund, PaymentError, PaymentProvider
from actors.shop.payments.simple import Free, Manual
from actors.shop.payments.stripe_provider import stripe_provider
from actors.shop.payments.sumup_provider import SumUpProvider

__all__ = [
    "BadNotification",
    "Notification",
    "PartRefund",
    "PaymentError",
    "PaymentProvider",
    "provider_for",
    "provider_named",
    "stripe_provider",
]

FREE, MANUAL = Free(), Manual()


def provider_named(services: Services, name: str) -> PaymentProvider:
    if name == "free":
        return FREE
    if name == "manual":
        return MANUAL
    if name == "stripe" and services.stripe is not None:
        return stripe_provider(services.stripe)
    if name == "sumup" and services.sumup is not None:
        return SumUpProvider(services.sumup)
    raise PaymentError(f"the payment provider {name!r} is not set up on this shop")


def provider_for(services: Services, order: dict[str, Any]) -> PaymentProvider:
    """The provider an order is paid through: `free` for price 0, else the one chosen when it was placed."""
    if Decimal(str(order.get("price", "0"))) == 0:
        return FREE
    return provider_named(services, str(order.get("paymentMethod") or services.payment_provider))
