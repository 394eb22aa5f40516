"""A ticket purchase on the events peer: pending while its Offer waits for the shop's answer; then held while
the buyer pays (the shop's order is OrderPaymentDue) or confirmed (paid, or free), or rejected. A held purchase
is confirmed when paid, cancelled when its time to pay runs out; a confirmed one may be refunded; a payment
that arrives after the expiry confirms a cancelled one again (the shop re-took its seats)."""

from __future__ import annotations

from enum import StrEnum

from activities.order import OrderStatus
from store.lifecycle import Lifecycle


class PurchaseState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    HELD = "held"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


PURCHASE_LIFECYCLE = Lifecycle(
    "purchase",
    PurchaseState,
    {
        PurchaseState.PENDING: frozenset({PurchaseState.CONFIRMED, PurchaseState.REJECTED, PurchaseState.HELD}),
        # Updates may arrive out of order (each is its own delivery): a refund may overtake the payment it undoes.
        PurchaseState.HELD: frozenset({PurchaseState.CONFIRMED, PurchaseState.CANCELLED, PurchaseState.REFUNDED}),
        PurchaseState.CONFIRMED: frozenset({PurchaseState.REFUNDED}),
        PurchaseState.CANCELLED: frozenset({PurchaseState.CONFIRMED}),
    },
)

# The purchase's state for each status of the shop's order.
STATE_OF_ORDER = {
    OrderStatus.PAYMENT_DUE: PurchaseState.HELD,
    OrderStatus.PROCESSING: PurchaseState.CONFIRMED,
    OrderStatus.DELIVERED: PurchaseState.CONFIRMED,
    OrderStatus.CANCELLED: PurchaseState.CANCELLED,
    OrderStatus.RETURNED: PurchaseState.REFUNDED,
}
