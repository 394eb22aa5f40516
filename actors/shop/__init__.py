"""The ticket shop: it answers an events peer's `Offer{Order}` with `Accept{result: Order}` or `Reject`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.order import product_key
from actors import scopes
from actors.context import Services
from actors.kind import CollectionSpec, Kind, KindSetup
from actors.roles import SHOP_STAFF
from actors.shop import checkout, listeners, pages, staff
from actors.shop.holds import sweep_holds
from actors.shop.member_summary import register as member_summary
from actors.shop.orders import products_id
from actors.shop.payment_sweep import sweep_payments
from store import collections


async def product_fields(session: AsyncSession, services: Services, collection: str) -> dict[str, Any]:
    key = collection.rsplit("/", 2)[-2]  # …/products/<key>/tickets or …/held
    for item in await collections.all_items(session, products_id(services)):
        if product_key(item.item) == key:
            return {"name": (item.data or {}).get("name", ""), "orderedItem": item.item}
    return {}


async def is_product_tickets(session: AsyncSession, services: Services, collection: str) -> bool:
    return bool(await product_fields(session, services, collection))


def register(setup: KindSetup) -> None:
    member_summary(setup)  # the account service's view of a member, and their erasure
    listeners.register(setup.listeners)
    setup.routes += [*pages.ROUTES, *checkout.ROUTES, *staff.ROUTES]
    setup.html["Order"] = pages.order_page
    setup.collections += [
        CollectionSpec("/orders", public=False, html=pages.orders_page),
        CollectionSpec("/products/{key}/tickets", exists=is_product_tickets, extra=product_fields),
        CollectionSpec("/products/{key}/held", exists=is_product_tickets, extra=product_fields),
    ]
    setup.tasks += [sweep_holds, sweep_payments]


KIND = Kind(
    "shop",
    "Service",
    "Shop",
    "The cooperative's ticket shop. It sells tickets for events its trusted calendars organize.",
    register,
    nav=(("Tickets", "/"),),
    c2s_access=scopes.SHOP_WRITE,
    staff_nav=(("Orders", "/orders", SHOP_STAFF),),
)
