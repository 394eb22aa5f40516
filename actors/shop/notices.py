"""Short emails to a buyer about an order that changed after it was confirmed: refunded (whole or some tickets)
or closed because its event was cancelled. Queued in the transaction that makes the change, keyed so a change
retried or repeated queues its message once (see confirmation.py for the confirmation itself)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services
from actors.shop.confirmation import order_page, when_text
from mail import MailError

log = logging.getLogger(__name__)


def _event_of(order: dict[str, Any]) -> dict[str, Any]:
    event = order.get("event")
    return event if isinstance(event, dict) else {}


def _name_of(order: dict[str, Any]) -> str:
    return str(_event_of(order).get("name") or order.get("name") or "your event")


def _hello(order: dict[str, Any]) -> str:
    customer = order.get("customer")
    name = customer.get("name") if isinstance(customer, dict) else None
    return f"Hello {name}," if name else "Hello,"


def _money(amount: object, order: dict[str, Any]) -> str:
    return f"{amount} {order.get('priceCurrency', '')}".strip()


def event_cancelled(order: dict[str, Any], *, refunded: bool) -> tuple[str, list[str]]:
    name, number, when = _name_of(order), str(order.get("orderNumber")), when_text(_event_of(order))
    lines = [f"{name}{f' on {when}' if when else ''} has been cancelled by its organiser and will not take place."]
    if refunded:
        lines.append(
            f"Your order {number} is refunded ({_money(order.get('price', ''), order)}): the money goes back the way "
            "you paid. A card refund can take a few days to show on your statement."
        )
    else:
        lines.append(
            f"Your order {number} is cancelled: there is nothing to pay, and your tickets are no longer valid."
        )
    return f"Cancelled: {name} (order {number})", lines


def cancelled_by_buyer(order: dict[str, Any], amount: str, *, refunded: bool) -> tuple[str, list[str]]:
    name, number = _name_of(order), str(order.get("orderNumber"))
    lines = [f"As you asked, your order {number} for {name} is cancelled: its tickets are no longer valid."]
    if refunded:
        lines.append(
            f"It is refunded ({_money(amount, order)}): the money goes back the way you paid. A card refund can "
            "take a few days to show on your statement."
        )
    else:
        lines.append("Nothing was paid, so there is nothing to refund.")
    return f"Cancelled: your order {number} for {name}", lines


def refunded(order: dict[str, Any], amount: str, tickets: list[str]) -> tuple[str, list[str]]:
    """`tickets` are the ticket numbers given back; all of the order's when it was refunded whole."""
    name, number = _name_of(order), str(order.get("orderNumber"))
    which = "ticket " + tickets[0] if len(tickets) == 1 else "tickets " + ", ".join(tickets)
    lines = [
        f"The shop has refunded {which} of your order {number} for {name}: {_money(amount, order)}, back the way "
        "you paid. A card refund can take a few days to show on your statement.",
        f"{'That ticket is' if len(tickets) == 1 else 'Those tickets are'} no longer valid at the door.",
    ]
    if order.get("tickets"):
        lines.append(f"Your other tickets ({len(order['tickets'])}) are still valid.")
    return f"Refunded: {name} (order {number})", lines


async def tell_buyer(
    session: AsyncSession, services: Services, order: dict[str, Any], message: tuple[str, list[str]], *, key: str
) -> None:
    customer = order.get("customer")
    email = customer.get("email") if isinstance(customer, dict) else None
    if not isinstance(email, str) or not email:
        return
    subject, lines = message
    text = [_hello(order), "", *lines]
    if (link := order_page(order)) is not None:
        text += ["", f"Your order: {link}"]
    try:
        await services.mail.send(session, to=email, subject=subject, text="\n".join(text) + "\n", key=key)
    except MailError:
        log.warning("a notice about order %s could not be queued", order.get("orderNumber"))
