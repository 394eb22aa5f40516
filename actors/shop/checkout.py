"""The card checkout: the buyer's payment page for an order due for payment (its capability link; for SumUp, a
redirect to SumUp's hosted page), and the provider's notification that settles it (Stripe's signed; SumUp's
unsigned, so only SumUp's API, asked about the checkout, is believed). No dead ends: an order no longer due sends
the buyer to its page (paid, or why not); a declined card leaves the seats held and the page says so; a payment
that arrives after the expiry takes the seats again if they are free and is refunded if not; a notification whose
amount or currency is not the order's, or whose payment is not the order's, is refused and changes nothing."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activities.order import OrderStatus
from actors.context import Services
from actors.shop.confirmation import due_text
from actors.shop.payments import BadNotification, Notification, PaymentError, PaymentProvider, provider_for
from actors.shop.payments.stripe_provider import StripeProvider, minor_units, stripe_provider
from actors.shop.payments.sumup_provider import ProviderDown, SumUpProvider, Unsettled
from actors.shop.settle import Moved, locked_order, move_order
from actors.web import PAGE_POLICY, redirect, render, services_of
from store import collections, objects
from store.models import StoredObject

log = logging.getLogger(__name__)

PAID_TOO_LATE = "paid after the seats were gone: the payment was refunded"


def payments_id(services: Services) -> str:
    """Each order's card payment (Stripe's intent and its client secret, or SumUp's checkout and its page): kept
    apart from the order, which the seller may read, and written once, so every checkout of one order pays the
    same intent."""
    return services.actor.url("payments")


async def _order_for_buyer(services: Services, number: str, token: str) -> StoredObject:
    async with services.store.read() as session:
        row = await objects.get(session, services.actor.url(f"orders/{number}"))
    if row is None or row.type != "Order" or not row.capability or not hmac.compare_digest(token, row.capability):
        raise HTTPException(404, "There is no such order, or the link is incomplete.")
    return row


async def _intent(
    services: Services, row: StoredObject, make: Callable[[], Awaitable[dict[str, str]]]
) -> dict[str, str]:
    """The order's payment at its provider, made on first use: every checkout of one order pays the same one."""
    async with services.store.read() as session:
        known = await collections.get(session, payments_id(services), row.id)
    if known is not None and known.data:
        return dict(known.data)
    made = await make()
    async with services.store.write() as session:
        if not await collections.add(session, payments_id(services), row.id, services.clock(), made):
            known = await collections.get(session, payments_id(services), row.id)  # a second tab was quicker
            assert known is not None and known.data
            return dict(known.data)
    return made


async def checkout_page(request: Request) -> Response:
    services = services_of(request)
    number, token = request.path_params["number"], request.query_params.get("token", "")
    row = await _order_for_buyer(services, str(number), token)
    order_page = f"{row.id}?token={token}"
    provider = provider_for(services, row.data)
    if row.data.get("orderStatus") != OrderStatus.PAYMENT_DUE or not isinstance(
        provider, StripeProvider | SumUpProvider
    ):
        return redirect(request, services, order_page)
    try:
        if isinstance(provider, SumUpProvider):
            sumup = provider

            async def hosted() -> dict[str, str]:
                return await sumup.intent(
                    row.data, return_url=services.actor.url("payments/sumup"), redirect_url=order_page
                )

            # The buyer pays on SumUp's own page, and comes back to the order's page, which says how it went.
            return redirect(request, services, (await _intent(services, row, hosted))["url"])
        stripe = provider
        intent = await _intent(services, row, lambda: stripe.intent(row.data))
    except PaymentError as exc:
        failed = {
            "order": row.data,
            "held_until": due_text(row.data),
            "error": f"{exc.reason}. Your seats stay held; try again in a moment.",
        }
        return render(request, services, "shop/checkout.html", failed, 503, private=True)
    context: dict[str, Any] = {
        "order": row.data,
        "held_until": due_text(row.data),
        "intent": intent,
        "keys": provider.keys,
        "order_page": order_page,
    }
    page = render(request, services, "shop/checkout.html", context, private=True)
    # Stripe.js (or localstripe's stand-in) loads from the provider and talks to its API from the page.
    js, api = origin_of(provider.keys.js_url), origin_of(provider.keys.api_base)
    page.headers["Content-Security-Policy"] = (
        f"{PAGE_POLICY}; script-src 'self' {js}; connect-src 'self' {api} {js}; frame-src {js} {api}"
    )
    return page


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def stripe_webhook(request: Request) -> Response:
    services = services_of(request)
    if services.stripe is None:
        raise HTTPException(404, "This shop takes no card payments.")
    provider = stripe_provider(services.stripe)
    try:
        notification = provider.verify(await request.body(), request.headers)
        outcome = await settle_payment(services, provider, notification)
    except BadNotification as exc:
        return JSONResponse({"error": exc.reason}, status_code=400)
    return JSONResponse({"status": outcome})


async def sumup_webhook(request: Request) -> Response:
    """SumUp's notification is unsigned: the provider asks SumUp's API about the checkout it names, and the order
    is settled on the API's answer alone (see actors/shop/payments/sumup_provider.py)."""
    services = services_of(request)
    if services.sumup is None:
        raise HTTPException(404, "This shop takes no SumUp payments.")
    provider = SumUpProvider(services.sumup)
    try:
        notification = await provider.notification(await request.body())
        outcome = await settle_payment(services, provider, notification)
    except Unsettled as still:
        return JSONResponse({"status": f"not settled: the checkout is {still.status}"})
    except ProviderDown as exc:
        return JSONResponse({"error": exc.reason}, status_code=503)  # SumUp sends it again
    except BadNotification as exc:
        return JSONResponse({"error": exc.reason}, status_code=400)
    return JSONResponse({"status": outcome})


async def settle_payment(services: Services, provider: PaymentProvider, n: Notification) -> str:
    """Apply a verified notification to its order; what happened, in a word. Refusals raise BadNotification."""
    async with services.store.write() as session:
        row = await locked_order(session, n.order)
        if row is None:
            raise BadNotification("the payment is for no order of this shop")
        known = await collections.get(session, payments_id(services), row.id)
        if known is None or (known.data or {}).get("id") != n.reference:
            raise BadNotification("the payment is not the one this order's checkout started")
        order = row.data
        if n.amount != minor_units(str(order["price"])) or n.currency.lower() != str(order["priceCurrency"]).lower():
            raise BadNotification("the amount paid does not match the order")
        status = OrderStatus(order["orderStatus"])
        if not n.paid:
            if status is OrderStatus.PAYMENT_DUE:
                # The seats stay held; the next checkout starts a fresh intent for the buyer's next card.
                row.data = {
                    **order,
                    "description": f"The card was declined: {n.message.rstrip('.')}. Your seats are still held.",
                    "paymentAttempts": int(order.get("paymentAttempts", 0)) + 1,
                }
                await collections.remove(session, payments_id(services), row.id)
                return "declined"
            return "ignored"
        if status not in (OrderStatus.PAYMENT_DUE, OrderStatus.CANCELLED):
            return "already settled"  # a replay, or paid twice over one intent: nothing more to do
        row.data = {**order, "paymentIntent": n.reference}
        moved = await move_order(session, services, row, OrderStatus.DELIVERED, reason="paid by card")
        if moved is Moved.MOVED:
            return "paid"
        row.data = {**row.data, "description": PAID_TOO_LATE}
        refund = dict(row.data)
    try:  # after the commit: the order says why; a refund that fails is logged for the staff to repeat
        await provider.refund(refund)
    except PaymentError as exc:
        log.warning("order %s was paid after its seats were gone and the refund failed: %s", n.order, exc.reason)
    return "refunded"


ROUTES: tuple[Route, ...] = (
    Route("/orders/{number:int}/pay", checkout_page),
    Route("/payments/stripe", stripe_webhook, methods=["POST"]),
    Route("/payments/sumup", sumup_webhook, methods=["POST"]),
)
