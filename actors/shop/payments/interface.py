"""What every payment provider offers the shop (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class PaymentError(Exception):
    """The provider refused or could not be reached; `reason` is a sentence for the person who asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadNotification(PaymentError):
    """A notification that is not the provider's (bad or missing signature) or not about one of our orders."""


@dataclass(frozen=True)
class Notification:
    order: str  # the order's id
    paid: bool  # paid (True) or failed (False)
    reference: str  # the provider's id of the payment
    amount: int = 0  # in the currency's minor unit (pence)
    currency: str = ""
    message: str = ""  # why it failed, for the buyer


@dataclass(frozen=True)
class PartRefund:
    """Some of an order's tickets given back: their `amount` (a decimal string in the order's currency) and a key
    that names them, so the same part refunded twice is refunded once."""

    amount: str
    key: str


class PaymentProvider(Protocol):
    name: str

    async def start(self, order: dict[str, Any]) -> str:
        """Where the buyer pays for `order`: a URL."""
        ...

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        """The notification in a provider's callback, once its signature is checked; BadNotification otherwise."""
        ...

    async def ask(self, payment: str) -> Notification | None:
        """What the provider says now of a payment the shop started (its id): a Notification once it is paid,
        None while it is not; PaymentError when the provider cannot be asked. How a notification that never
        arrived (the shop was down) is made good."""
        ...

    async def refund(self, order: dict[str, Any], part: PartRefund | None = None) -> None:
        """Give the order's money back (what is left of it), or only `part` of it; PaymentError when the provider
        cannot."""
        ...
