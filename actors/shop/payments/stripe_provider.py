"""Stripe through its official package: a PaymentIntent per attempt to pay an order (the order id and attempt are
its idempotency key, and the shop keeps the intent, so a double submit or a reload pays one intent; a declined
card's next attempt gets a fresh one), the webhook's `Stripe-Signature` checked by the package,
refunds through the API. The calls run in a thread: the package's client is synchronous, the peer is not.

`stripe` (with `requests` and `urllib3`) is imported where a payment first needs it, not when the shop starts:
it is several MiB of a peer's resident memory, and most shops take no card payments."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actors.context import StripeKeys
from actors.shop.payments.interface import BadNotification, Notification, PartRefund, PaymentError

if TYPE_CHECKING:
    import stripe

PAID = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"


def minor_units(price: str) -> int:
    """12.00 → 1200: Stripe counts in the currency's smallest unit."""
    return int((Decimal(price) * 100).to_integral_value())


def refund_key(order: dict[str, Any], part: PartRefund | None = None) -> str:
    """Stripe's idempotency key for a refund: the same on every retry of one refund (Stripe then answers the
    first refund again instead of making a second), another for each part and for the whole order."""
    return f"rose-ash:refund:{order['id']}" + (f":{part.key}" if part is not None else "")


@functools.cache
def stripe_provider(keys: StripeKeys) -> StripeProvider:
    """The one provider of the shop's Stripe account: its client is kept, with the connections to Stripe its
    threads keep open (building a client took 3-4 ms of CPU, and each new one connected afresh)."""
    return StripeProvider(keys)


class StripeProvider:
    name = "stripe"

    def __init__(self, keys: StripeKeys) -> None:
        import stripe

        self.keys = keys
        self.client = stripe.StripeClient(keys.secret_key, base_addresses={"api": keys.api_base}, max_network_retries=1)

    async def intent(self, order: dict[str, Any]) -> dict[str, Any]:
        """The order's PaymentIntent (made on first use): its id and client secret."""
        import stripe

        def create() -> Any:
            return self.client.v1.payment_intents.create(
                params={
                    "amount": minor_units(str(order["price"])),
                    "currency": str(order["priceCurrency"]).lower(),
                    "metadata": {"order": str(order["id"])},
                },
                options={"idempotency_key": f"rose-ash:{order['id']}:{order.get('paymentAttempts', 0)}"},
            )

        try:
            made = await asyncio.to_thread(create)
        except stripe.StripeError as exc:
            raise PaymentError(
                f"the card payment service could not start the payment ({exc.user_message or 'unavailable'})"
            ) from None
        return {"id": str(made.id), "client_secret": str(made.client_secret)}

    async def start(self, order: dict[str, Any]) -> str:
        return f"{order['id']}/pay?token={order['url'].rsplit('token=', 1)[-1]}"

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        import stripe

        try:
            event = stripe.Webhook.construct_event(body, headers.get("stripe-signature"), self.keys.webhook_secret)
        except (ValueError, stripe.SignatureVerificationError):
            raise BadNotification("the notification's Stripe signature does not verify") from None
        if event.type not in (PAID, FAILED):
            raise BadNotification(f"this shop takes no {event.type} notifications")
        intent = json.loads(body)["data"]["object"]  # verified above; read as plain JSON
        if not isinstance(intent, dict):
            raise BadNotification("the notification carries no payment")
        order = (intent.get("metadata") or {}).get("order")
        if not isinstance(order, str):
            raise BadNotification("the payment names no order of this shop")
        error = intent.get("last_payment_error") or {}
        return Notification(
            order=order,
            paid=event.type == PAID,
            reference=str(intent.get("id")),
            amount=int(intent.get("amount") or 0),
            currency=str(intent.get("currency") or ""),
            message=str(error.get("message") or "the card was declined") if event.type == FAILED else "",
        )

    async def ask(self, payment: str) -> Notification | None:
        import stripe

        def retrieve() -> Any:
            return self.client.v1.payment_intents.retrieve(payment)

        try:
            intent = await asyncio.to_thread(retrieve)
        except stripe.StripeError as exc:
            raise PaymentError(
                f"the card payment service could not be asked ({exc.user_message or 'unavailable'})"
            ) from None
        found = intent.to_dict()
        order = (found.get("metadata") or {}).get("order")
        if found.get("status") != "succeeded" or not isinstance(order, str):
            return None
        return Notification(
            order=order,
            paid=True,
            reference=str(found.get("id")),
            amount=int(found.get("amount") or 0),
            currency=str(found.get("currency") or ""),
        )

    async def refund(self, order: dict[str, Any], part: PartRefund | None = None) -> None:
        import stripe

        intent = order.get("paymentIntent")
        if not isinstance(intent, str):
            raise PaymentError("the order has no card payment to refund")
        # The amount always named: the order's price is what is still paid after any part refunds.
        amount = part.amount if part is not None else str(order["price"])
        params: stripe.params.RefundCreateParams = {"payment_intent": intent, "amount": minor_units(amount)}
        key = refund_key(order, part)

        def give_back() -> Any:
            return self.client.v1.refunds.create(params=params, options={"idempotency_key": key})

        try:
            await asyncio.to_thread(give_back)
        except stripe.StripeError as exc:
            raise PaymentError(
                f"the card payment service refused the refund ({exc.user_message or 'unavailable'})"
            ) from None
