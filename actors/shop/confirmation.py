"""The moment an order is delivered (paid, or free): where the buyer's confirmation is to be queued.

MAIL HOOK. The buyer's email (the order, one QR code per ticket, an .ics attachment) is enqueued here with
`mail.enqueue(session, message)` from the mail package, in the caller's transaction, the same one that delivers
the order, so a crash neither loses nor doubles it. Until that package lands, nothing is sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services


async def order_delivered(session: AsyncSession, services: Services, order: dict[str, Any]) -> None:
    """Called once per order, when it becomes OrderDelivered (`order` includes the buyer's details)."""
    return None
