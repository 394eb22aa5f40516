"""The shop's part of a member's account page (their orders, found by the buyer's address) and of the erasure
of their data when the account is deleted: each order keeps its number, amounts and tickets, for the accounts,
while the buyer's name and address are erased from it and from the Offer that carried them here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import iso
from actors import member_data
from actors.context import Services
from actors.kind import KindSetup
from actors.shop.confirmation import order_page
from store.models import InboxActivity


def _order(data: dict[str, Any]) -> dict[str, Any]:
    event = data.get("event") if isinstance(data.get("event"), dict) else {}
    assert isinstance(event, dict)
    return {
        "number": str(data.get("orderNumber", "")),
        "event": data.get("orderedItem"),
        "eventName": str(event.get("name") or data.get("name") or ""),
        "startTime": event.get("startTime"),
        "timezone": event.get("timezone"),
        "status": data.get("orderStatus"),
        "tickets": len(data.get("tickets") or []),
        "total": data.get("price"),
        "currency": data.get("priceCurrency"),
        "link": order_page(data),  # the capability link of the buyer's confirmation email
    }


async def summary(session: AsyncSession, services: Services, ref: member_data.MemberRef) -> dict[str, Any]:
    rows = await member_data.buyer_rows(session, services, "Order", ref.digest)
    return {"orders": [_order(row.data) for row in rows]}


async def erase(session: AsyncSession, services: Services, ref: member_data.MemberRef) -> None:
    now = services.clock()
    for row in await member_data.buyer_rows(session, services, "Order", ref.digest):
        row.data = {**row.data, "customer": member_data.erased_customer(row.data.get("customer"), iso(now))}
        row.updated_at = now
        offer = await session.get(InboxActivity, str(row.data.get("acceptedOffer", "")))
        if offer is not None and isinstance(offer.data.get("object"), dict):
            order = offer.data["object"]
            offer.data = {
                **offer.data,
                "object": {**order, "customer": member_data.erased_customer(order.get("customer"), iso(now))},
            }


def register(setup: KindSetup) -> None:
    member_data.register(setup, summary, erase)
