"""The delivery lifecycles: a fan-out row until it is expanded, a delivery row until it is answered."""

from __future__ import annotations

from enum import StrEnum

from store.lifecycle import Lifecycle


class FanOutState(StrEnum):
    PENDING = "pending"  # waiting to be expanded into deliveries (or to retry resolving its recipients)
    DONE = "done"
    FAILED = "failed"  # a recipient could not be resolved before the give-up horizon


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at; claimed by a worker while its lease lasts
    DELIVERED = "delivered"
    FAILED = "failed"  # refused for good (4xx) or past the give-up horizon
    GONE = "gone"  # 410: the recipient is gone for good


FANOUT = Lifecycle(
    "fan-out",
    FanOutState,
    {FanOutState.PENDING: frozenset({FanOutState.PENDING, FanOutState.DONE, FanOutState.FAILED})},
)

DELIVERY = Lifecycle(
    "delivery",
    DeliveryState,
    {
        DeliveryState.PENDING: frozenset(
            {DeliveryState.PENDING, DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.GONE}
        )
    },
)
