"""The providers that need no outside service: `free` and `manual`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.shop.payments.interface import BadNotification, Notification, PartRefund


class Free:
    """Orders priced 0: nothing to pay, nothing to give back."""

    name = "free"

    async def start(self, order: dict[str, Any]) -> str:
        return str(order["url"])

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        raise BadNotification("free orders get no payment notifications")

    async def ask(self, payment: str) -> Notification | None:
        return None

    async def refund(self, order: dict[str, Any], part: PartRefund | None = None) -> None:
        return None


class Manual:
    """Paid at the door or by bank transfer: the order's own page tells the buyer how, staff mark it paid, and a
    refund is handed back the same way (the order's status records it)."""

    name = "manual"

    async def start(self, order: dict[str, Any]) -> str:
        return str(order["url"])

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        raise BadNotification("manual payments are marked paid by the shop's staff, not notified")

    async def ask(self, payment: str) -> Notification | None:
        return None

    async def refund(self, order: dict[str, Any], part: PartRefund | None = None) -> None:
        return None
