"""An order's lifecycle at the shop, in schema.org's OrderStatus names (activities/order.py OrderStatus).

A priced order is due for payment, its tickets held until its paymentDueDate; paid, it is delivered; expired or
cancelled before payment, its seats are free again; refunded, it is returned. A payment that arrives after the
expiry re-delivers a cancelled order (when its seats can be taken again; otherwise the provider refunds it)."""

from __future__ import annotations

from activities.order import OrderStatus
from store.lifecycle import Lifecycle

ORDER_LIFECYCLE = Lifecycle(
    "order",
    OrderStatus,
    {
        OrderStatus.PAYMENT_DUE: frozenset({OrderStatus.PROCESSING, OrderStatus.DELIVERED, OrderStatus.CANCELLED}),
        OrderStatus.PROCESSING: frozenset({OrderStatus.DELIVERED, OrderStatus.RETURNED}),
        OrderStatus.DELIVERED: frozenset({OrderStatus.RETURNED}),
        OrderStatus.CANCELLED: frozenset({OrderStatus.DELIVERED}),
    },
)
