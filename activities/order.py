"""Ticket orders: the `Order` an `Offer` carries (schema.org terms), validated before anything is stored."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from activities.errors import ActivityError
from activities.parse import check_url
from activities.text import plain

MAX_QUANTITY = 10
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")


@dataclass(frozen=True)
class TicketLimits:
    """How many tickets one order, and one buyer (by email) per event, may take: one visitor cannot buy out an
    event."""

    per_order: int = MAX_QUANTITY
    per_buyer: int = MAX_QUANTITY

    def __post_init__(self) -> None:
        if not 1 <= self.per_order <= MAX_QUANTITY:
            raise ValueError(f"tickets per order must be between 1 and {MAX_QUANTITY}")
        if self.per_buyer < 1:
            raise ValueError("tickets per buyer must be at least 1")


@dataclass(frozen=True)
class Customer:
    name: str
    email: str


@dataclass(frozen=True)
class OrderRequest:
    event: str
    quantity: int
    customer: Customer
    claimed_price: str | None
    claimed_capacity: int | None


def parse_customer(name: object, email: object) -> Customer:
    clean_email = plain(email, "email", 254)
    if not _EMAIL.match(clean_email):
        raise ActivityError("email must be an address like ada@example.org")
    return Customer(plain(name, "name", 200), clean_email)


def parse_quantity(value: object) -> int:
    try:
        quantity = int(str(value).strip())
    except ValueError:
        raise ActivityError("quantity must be a whole number") from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ActivityError(f"quantity must be between 1 and {MAX_QUANTITY}")
    return quantity


# Typed with Object too: Fedify (and other strict vocabularies) refuse an object whose only type they don't
# know, and schema.org's Order is not in ActivityStreams.
ORDER_TYPE = ["Object", "Order"]


def is_order(obj: object) -> bool:
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    return kind == "Order" or (isinstance(kind, list) and "Order" in kind)


def parse_order(obj: object) -> OrderRequest:
    if not isinstance(obj, dict) or not is_order(obj):
        raise ActivityError("the offer's object must be an Order")
    customer = obj.get("customer")
    if not isinstance(customer, dict):
        raise ActivityError("the order needs a customer with a name and an email")
    capacity = obj.get("maximumAttendeeCapacity")
    if capacity is not None and (not isinstance(capacity, int) or isinstance(capacity, bool)):
        raise ActivityError("maximumAttendeeCapacity must be an integer")
    price = obj.get("price")
    if price is not None and not isinstance(price, str | int | float):
        raise ActivityError("price must be a number")
    return OrderRequest(
        event=check_url(obj.get("orderedItem"), "orderedItem"),
        quantity=parse_quantity(obj.get("quantity", 1)),
        customer=parse_customer(customer.get("name"), customer.get("email")),
        claimed_price=None if price is None else str(price),
        claimed_capacity=capacity,
    )


def order_offer_object(event: str, quantity: int, customer: Customer) -> dict[str, Any]:
    return {
        "type": "Order",
        "orderedItem": event,
        "quantity": quantity,
        "customer": {"type": "Person", "name": customer.name, "email": customer.email},
    }


class OrderStatus(StrEnum):
    """schema.org's OrderStatus names, as the wire carries them in `orderStatus`."""

    PAYMENT_DUE = "OrderPaymentDue"  # tickets held until paymentDueDate while the buyer pays
    PROCESSING = "OrderProcessing"  # paid; the shop is confirming
    DELIVERED = "OrderDelivered"  # paid (or free) and confirmed: the tickets are valid
    CANCELLED = "OrderCancelled"  # expired or cancelled before payment: the seats are free again
    RETURNED = "OrderReturned"  # refunded: the seats are free again


# The states in which an order's tickets count against the event, and in which collection.
HELD_STATUSES = frozenset({OrderStatus.PAYMENT_DUE})
SOLD_STATUSES = frozenset({OrderStatus.PROCESSING, OrderStatus.DELIVERED})


def order_status(order: dict[str, Any]) -> OrderStatus:
    value = order.get("orderStatus")
    try:
        return OrderStatus(str(value))
    except ValueError:
        raise ActivityError(f"orderStatus must be one of {', '.join(OrderStatus)}") from None


def product_key(event: str) -> str:
    """The short key of an event in a shop's product paths (`/products/<key>/tickets`), known to both peers."""
    return hashlib.sha256(event.encode()).hexdigest()[:16]
