"""SumUp through its official package (`sumup`): a hosted checkout per attempt to pay an order, whose
`checkout_reference` is the order's id (with the attempt's number after a declined card), and refunds of the
checkout's transaction through the API.

SumUp does not sign its checkout notifications: the POST to the checkout's `return_url` says only
`{"event_type": "CHECKOUT_STATUS_CHANGED", "id": <checkout id>}`, and anybody can send one. So nothing in the body
is believed but the checkout's id: the provider fetches that checkout from SumUp's API with the shop's key and
settles on what the API says: the checkout is this merchant's, its reference names one of our orders, and only a
`PAID` checkout pays (the shop then checks that it is the checkout that order's payment started and that its
amount and currency are the order's). A forged or replayed notification therefore can do no more than ask the
shop to look again.

The `sumup` package (with pydantic) is imported where a payment first needs it, not when the shop starts: it is
several MiB of a peer's resident memory, and most shops take no SumUp payments."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actors.context import SumUpKeys
from actors.shop.payments.interface import BadNotification, Notification, PartRefund, PaymentError

if TYPE_CHECKING:
    from sumup import AsyncSumup
    from sumup.errors import APIError

CHANGED = "CHECKOUT_STATUS_CHANGED"
ATTEMPT = "#attempt-"  # never in an order id (a URL without a fragment)
TIMEOUT = 15.0


CENT = Decimal("0.01")


class Unsettled(Exception):
    """The notification is about a checkout that is neither paid nor failed (yet): nothing to do."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class ProviderDown(PaymentError):
    """SumUp could not be reached: the notification is to be retried."""


def reference_of(order: dict[str, Any]) -> str:
    """The checkout's `checkout_reference`: the order's id, then the attempt after a declined card (SumUp refuses a
    second checkout with the same reference)."""
    attempt = int(order.get("paymentAttempts", 0))
    return f"{order['id']}{ATTEMPT}{attempt}" if attempt else str(order["id"])


def order_of(reference: str) -> str:
    return reference.split(ATTEMPT, 1)[0]


def minor_units_of(amount: float | None) -> int:
    """SumUp counts in major units (12.5); the shop compares minor ones (1250)."""
    return int((Decimal(str(amount or 0)) * 100).to_integral_value())


def checkout_id_in(body: bytes) -> str:
    """The checkout a notification names; everything else in it is ignored (see the module's docstring)."""
    try:
        said = json.loads(body)
    except ValueError:
        raise BadNotification("the notification is not JSON") from None
    if not isinstance(said, dict) or not isinstance(said.get("id"), str) or not said["id"]:
        raise BadNotification("the notification names no checkout")
    if said.get("event_type") != CHANGED:
        raise BadNotification(f"this shop takes no {said.get('event_type')!r} notifications")
    return str(said["id"])


def _why(exc: APIError) -> str:
    from sumup.errors import APIConnectionError

    return "unavailable" if isinstance(exc, APIConnectionError) else f"status {exc.status}"


class SumUpProvider:
    name = "sumup"

    def __init__(self, keys: SumUpKeys) -> None:
        self.keys = keys

    def client(self) -> AsyncSumup:
        from sumup import AsyncSumup

        return AsyncSumup(api_key=self.keys.api_key, base_url=self.keys.api_base, timeout=TIMEOUT)

    async def intent(self, order: dict[str, Any], *, return_url: str, redirect_url: str) -> dict[str, str]:
        """A hosted checkout for the order: its id and the SumUp page where the buyer pays."""
        from sumup.errors import APIError

        try:
            async with self.client() as sumup:
                made = await sumup.checkouts.create(
                    checkout_reference=reference_of(order),
                    amount=float(Decimal(str(order["price"]))),
                    currency=str(order["priceCurrency"]).upper(),
                    merchant_code=self.keys.merchant_code,
                    description=str(order.get("name") or f"Order {order.get('orderNumber', '')}")[:255],
                    return_url=return_url,
                    redirect_url=redirect_url,
                    hosted_checkout={"enabled": True},
                )
        except APIError as exc:
            raise PaymentError(f"SumUp could not start the payment ({_why(exc)})") from None
        if not made.id or not made.hosted_checkout_url:
            raise PaymentError("SumUp started no payment page for this order")
        return {"id": made.id, "url": made.hosted_checkout_url}

    async def start(self, order: dict[str, Any]) -> str:
        return f"{order['id']}/pay?token={order['url'].rsplit('token=', 1)[-1]}"

    async def notification(self, body: bytes) -> Notification:
        """The notification's checkout, as SumUp's API tells it: BadNotification for a checkout that is not ours,
        Unsettled for one neither paid nor failed, ProviderDown when SumUp cannot be asked."""
        return await self.checkout_state(checkout_id_in(body))

    async def ask(self, payment: str) -> Notification | None:
        try:
            found = await self.checkout_state(payment)
        except Unsettled:
            return None
        except BadNotification as exc:
            raise PaymentError(exc.reason) from None
        return found if found.paid else None

    async def checkout_state(self, checkout_id: str) -> Notification:
        """The checkout as SumUp's API tells it (see `notification`)."""
        from sumup.errors import APIError, APIStatusError, NotFoundError

        try:
            async with self.client() as sumup:
                checkout = await sumup.checkouts.get(checkout_id)
        except NotFoundError:
            raise BadNotification("SumUp knows no such checkout") from None
        except APIStatusError as exc:
            if exc.status is not None and exc.status < 500:
                raise BadNotification(f"SumUp would not show the checkout ({_why(exc)})") from None
            raise ProviderDown(f"SumUp could not be asked about the checkout ({_why(exc)})") from None
        except APIError as exc:
            raise ProviderDown(f"SumUp could not be asked about the checkout ({_why(exc)})") from None
        if checkout.merchant_code != self.keys.merchant_code:
            raise BadNotification("the checkout is not this shop's")
        if not checkout.checkout_reference:
            raise BadNotification("the checkout names no order of this shop")
        status = str(checkout.status or "")
        if status not in ("PAID", "FAILED"):
            raise Unsettled(status.lower() or "unknown")
        return Notification(
            order=order_of(checkout.checkout_reference),
            paid=status == "PAID",
            reference=str(checkout.id),
            amount=minor_units_of(checkout.amount),
            currency=str(checkout.currency or ""),
            message="" if status == "PAID" else "SumUp could not take the payment",
        )

    async def _refunded_unrecorded(self, sumup: AsyncSumup, transaction_id: str, order: dict[str, Any]) -> Decimal:
        """What SumUp has refunded of the transaction beyond what the order records as refunded."""
        transaction = await sumup.transactions.get(self.keys.merchant_code, id=transaction_id)
        refunds = [e.amount for e in transaction.events or [] if e.type == "REFUND" and e.status != "FAILED"]
        refunded = sum((Decimal(str(a)) for a in refunds if a is not None), Decimal(0))
        recorded = Decimal(str(transaction.amount or 0)) - Decimal(str(order["price"]))
        return (refunded - recorded).quantize(CENT)

    def verify(self, body: bytes, headers: Any) -> Notification:
        raise BadNotification("SumUp notifications are unsigned: the shop asks SumUp's API instead")

    async def refund(self, order: dict[str, Any], part: PartRefund | None = None) -> None:
        """Refund the checkout's successful transaction, which the API names (the order keeps the checkout's id):
        `part`'s amount, else what is still paid (the order's price after any part refunds).

        SumUp's refund takes no idempotency key. A whole refund that SumUp answers "nothing left to refund" (409)
        was made already. A part refund is reconciled first with the refunds SumUp lists for the transaction: the
        order's price is what the shop has recorded as still paid, so SumUp's refunds beyond what was paid less
        that price are a refund made but not recorded (the shop stopped between SumUp's answer and its commit);
        when they cover this part, it is not refunded again."""
        checkout_id = order.get("paymentIntent")
        if not isinstance(checkout_id, str):
            raise PaymentError("the order has no SumUp payment to refund")
        amount = Decimal(part.amount if part is not None else str(order["price"]))
        from sumup.errors import APIError, ConflictError

        try:
            async with self.client() as sumup:
                checkout = await sumup.checkouts.get(checkout_id)
                transactions = checkout.transactions or []
                paid = [t.id for t in transactions if t.status in ("SUCCESSFUL", "REFUNDED") and t.id]
                if not paid:
                    raise PaymentError("SumUp shows no payment to refund for this order")
                if part is not None and await self._refunded_unrecorded(sumup, paid[0], order) >= amount:
                    return None
                await sumup.transactions.refund(self.keys.merchant_code, paid[0], amount=float(amount))
        except ConflictError:
            if part is None:
                return None
            raise PaymentError("SumUp says this part cannot be refunded (more than is left of the payment)") from None
        except APIError as exc:
            raise PaymentError(f"SumUp refused the refund ({_why(exc)})") from None
