"""What the shop's staff do to an order from /orders: mark a manually paid order paid, cancel an order still due
for payment, refund a delivered one (and email the buyer), or some of its tickets (part_refunds.py). Each is one lifecycle move (settle.py), told to the events peer."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.order import OrderStatus
from actors import audit
from actors.roles import SHOP_STAFF, requires
from actors.shop import notices
from actors.shop.order_states import ORDER_LIFECYCLE
from actors.shop.part_refunds import RefundRefused, refund_tickets
from actors.shop.payments import PaymentError, provider_for
from actors.shop.settle import Moved, locked_order, move_order
from actors.web import checked_form, redirect, services_of

AUDITED = {"paid": "order marked paid", "cancel": "order cancelled", "refund": "order refunded"}
ACTIONS = {
    "paid": (OrderStatus.DELIVERED, "marked paid by the shop"),
    "cancel": (OrderStatus.CANCELLED, "cancelled by the shop"),
    "refund": (OrderStatus.RETURNED, "refunded by the shop"),
}
REFUSED = {
    "paid": "Only an order due for payment can be marked paid.",
    "cancel": "Only an order due for payment can be cancelled; refund a paid one instead.",
    "refund": "Only a paid order can be refunded.",
}


@requires(SHOP_STAFF)
async def order_action(request: Request) -> Response:
    services = services_of(request)
    await checked_form(request, services)
    action, number = request.path_params["action"], request.path_params["number"]
    if action not in ACTIONS:
        raise HTTPException(404, "There is no such order action.")
    status, reason = ACTIONS[action]
    order_id = services.actor.url(f"orders/{number}")
    async with services.store.write() as session:
        row = await locked_order(session, order_id)
        if row is None:
            raise HTTPException(404, "There is no such order.")
        if not ORDER_LIFECYCLE.can_move(row.data["orderStatus"], status):
            raise HTTPException(409, REFUSED[action])
        if action == "refund":
            try:  # before the move: a provider that fails leaves the order as it was
                await provider_for(services, row.data).refund(row.data)
            except PaymentError as exc:
                raise HTTPException(502, f"The refund failed: {exc.reason}") from None
        numbers = [str(t.get("ticketNumber")) for t in row.data.get("tickets", [])]
        amount = str(row.data.get("price", ""))
        if await move_order(session, services, row, status, reason=reason) is not Moved.MOVED:
            raise HTTPException(409, "There are no seats left to take this order back.")
        if action == "refund":
            message = notices.refunded({**row.data, "tickets": []}, amount, numbers)
            await notices.tell_buyer(session, services, row.data, message, key=f"order-refunded:{row.id}")
        detail = f"{amount} {row.data.get('priceCurrency', '')}".strip() if action == "refund" else ""
        await audit.record_for(session, request, AUDITED[action], row.id, detail)
    return redirect(request, services, "/orders")


@requires(SHOP_STAFF)
async def refund_some(request: Request) -> Response:
    """Refund the tickets ticked on /orders (`ticket` fields: their numbers), some of a paid order's."""
    services = services_of(request)
    form = await checked_form(request, services)
    numbers = [n for n in form.getlist("ticket") if isinstance(n, str)]
    order_id = services.actor.url(f"orders/{request.path_params['number']}")
    async with services.store.write() as session:
        row = await locked_order(session, order_id)
        if row is None:
            raise HTTPException(404, "There is no such order.")
        try:
            amount = await refund_tickets(session, services, row, numbers)
        except RefundRefused as exc:
            raise HTTPException(409, exc.reason) from None
        await audit.record_for(
            session, request, "tickets refunded", row.id, f"{', '.join(sorted(set(numbers)))}: {amount}"
        )
    return redirect(request, services, "/orders")


ROUTES: tuple[Route, ...] = (
    Route("/orders/{number:int}/refund-tickets", refund_some, methods=["POST"]),
    Route("/orders/{number:int}/{action}", order_action, methods=["POST"]),
)
