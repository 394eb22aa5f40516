"""A ticket purchase on the events peer: pending while its Offer waits for the shop's answer."""

from __future__ import annotations

from enum import StrEnum

from store.lifecycle import Lifecycle


class PurchaseState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


PURCHASE_LIFECYCLE = Lifecycle(
    "purchase",
    PurchaseState,
    {PurchaseState.PENDING: frozenset({PurchaseState.CONFIRMED, PurchaseState.REJECTED})},
)
