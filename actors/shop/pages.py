"""The shop's pages: what it sells (public, counts only), the admin's orders, a buyer's order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.order import product_key
from actors.context import Services
from actors.roles import SHOP_STAFF, requires
from actors.shop.confirmation import due_text
from actors.shop.orders import capacity_counter, orders_id, products_id
from actors.web import render, services_of
from store import collections, counters
from store.models import StoredObject


async def products(services: Services) -> list[dict[str, Any]]:
    async with services.store.read() as session:
        items = await collections.all_items(session, products_id(services))
        return [
            {
                "event": item.item,
                "key": product_key(item.item),
                **(item.data or {}),
                "sold": await counters.value(session, capacity_counter(item.item)),
            }
            for item in items
        ]


async def index(request: Request) -> Response:
    services = services_of(request)
    return render(request, services, "shop/index.html", {"products": await products(services)})


ROUTES: tuple[Route, ...] = (Route("/", index),)


@requires(SHOP_STAFF)
async def orders_page(request: Request) -> Response:
    """/orders for a browser (the collection's HTML view): the admin's list of orders with their buyers."""
    services = services_of(request)
    async with services.store.read() as session:
        ids = [item.item for item in await collections.all_items(session, orders_id(services))]
        rows = {r.id: r.data for r in await session.scalars(select(StoredObject).where(StoredObject.id.in_(ids)))}
    orders = [rows[i] for i in ids if i in rows]
    context = {"orders": orders, "products": await products(services)}
    return render(request, services, "shop/orders.html", context, private=True)


async def order_page(request: Request, services: Services, order: dict[str, Any]) -> Response:
    return render(request, services, "shop/order.html", {"order": order, "held_until": due_text(order)}, private=True)
