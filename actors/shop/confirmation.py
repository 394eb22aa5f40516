"""The moment an order is delivered (paid, or free at once): the buyer's confirmation email is queued.

The email (the order, one QR code per ticket encoding its code, an `.ics` of the event) is queued with
`services.mail.send` in the caller's transaction, the same one that delivers the order, so a crash neither loses
nor doubles it; its key is the order's, so a delivery retried (or repeated) queues it once. The QR codes are
drawn by the mail worker when it builds the message (`mail.QrCode`), after the commit: drawing them here took
about 2.7 ms a ticket while the order's transaction held the event's seat count. The event's details
are the ones the shop fetched for the Offer, kept with the order (`orders.event_snapshot`). The buyer's address and
name go only into this message: nothing here logs them."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from activities import ical
from actors.context import Services
from mail import Attachment, MailError, QrCode

log = logging.getLogger(__name__)


def mail_key(order: dict[str, Any]) -> str:
    return f"order-delivered:{order['id']}"


def order_page(order: dict[str, Any]) -> str | None:
    """The order's capability link on the shop (its `url` carries the token, for the order page or its checkout)."""
    url = order.get("url")
    if not isinstance(url, str):
        return None
    token = parse_qs(urlsplit(url).query).get("token")
    return f"{order['id']}?token={token[0]}" if token else None


def when_text(event: dict[str, Any]) -> str:
    start = event.get("startTime")
    if not isinstance(start, str):
        return ""
    zone = str(event.get("timezone") or "UTC")
    try:
        local = ical.local_time(start, zone)
    except (ValueError, KeyError):
        return start
    return f"{local:%a} {local.day} {local:%B %Y, %H:%M} ({zone})"


def due_text(order: dict[str, Any]) -> str:
    """Until when an order's seats are held, in its event's own time zone."""
    event = order.get("event") if isinstance(order.get("event"), dict) else {}
    zone = event.get("timezone") if isinstance(event, dict) else None
    return when_text({"startTime": order.get("paymentDueDate"), "timezone": zone}) or str(
        order.get("paymentDueDate", "")
    )


def _tickets(order: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for ticket in order.get("tickets", []):
        if isinstance(ticket, dict) and isinstance(ticket.get("ticketToken"), str):
            found.append((str(ticket.get("ticketNumber") or ticket.get("id")), str(ticket["ticketToken"])))
    return found


def message_parts(order: dict[str, Any], stamp: datetime) -> tuple[str, str, str, list[Attachment | QrCode]]:
    """(subject, text, html, attachments) of the order's confirmation."""
    event = order.get("event") if isinstance(order.get("event"), dict) else {}
    assert isinstance(event, dict)
    customer = order.get("customer") or {}
    name = str(event.get("name") or order.get("name") or "your event")
    number = str(order["orderNumber"])
    when, place = when_text(event), ical.location_of(event) if event else ""
    price = f"{order.get('price', '0.00')} {order.get('priceCurrency', '')}".strip()
    link = order_page(order)
    tickets = _tickets(order)
    rows = [
        ("Order", number),
        ("Event", name),
        ("When", when),
        ("Where", place),
        ("Tickets", str(order.get("quantity", len(tickets)))),
        ("Price", "free" if order.get("price") in ("0.00", "0", None) else price),
    ]
    rows = [(label, value) for label, value in rows if value]
    greeting = f"Hello {customer.get('name')}," if customer.get("name") else "Hello,"
    text_lines = [greeting, "", f"Your order {number} is confirmed. Show a ticket's QR code at the door.", ""]
    text_lines += [f"{label}: {value}" for label, value in rows]
    if link:
        text_lines += ["", f"Your order: {link}"]
    text_lines += ["", "Tickets (each code is also in its QR code):"]
    text_lines += [f"  {ticket_number}: {code}" for ticket_number, code in tickets]
    if event.get("startTime"):
        text_lines += ["", "The event is attached as event.ics for your calendar."]
    esc = html.escape
    items = "".join(f"<tr><th align='left'>{esc(label)}</th><td>{esc(value)}</td></tr>" for label, value in rows)
    attachments: list[Attachment | QrCode] = []
    figures = []
    for n, (ticket_number, code) in enumerate(tickets, 1):
        cid = f"ticket-{n}"
        attachments.append(QrCode(f"ticket-{ticket_number}.png", code, inline_id=cid))  # drawn by the mail worker
        figures.append(
            f"<figure><img src='cid:{cid}' alt='QR code of ticket {esc(ticket_number)}' width='250' height='250'>"
            f"<figcaption>Ticket {esc(ticket_number)}: <code>{esc(code)}</code></figcaption></figure>"
        )
    body = (
        f"<p>{esc(greeting)}</p><p>Your order {esc(number)} is confirmed. Show a ticket's QR code at the door.</p>"
        f"<table>{items}</table>" + (f"<p><a href='{esc(link)}'>Your order</a></p>" if link else "") + "".join(figures)
    )
    if event.get("startTime") and event.get("id"):
        ics = ical.single_event(event, stamp, prodid="-//Rose Ash//Shop//EN", description=f"Order {number}")
        attachments.append(Attachment("event.ics", ics, "text/calendar"))
    return f"Your tickets: {name} (order {number})", "\n".join(text_lines) + "\n", body, attachments


async def order_delivered(session: AsyncSession, services: Services, order: dict[str, Any]) -> None:
    """Called when an order becomes OrderDelivered (`order` includes the buyer's details): queue the buyer's
    confirmation, once per order."""
    customer = order.get("customer")
    email = customer.get("email") if isinstance(customer, dict) else None
    if not isinstance(email, str) or not email:
        log.warning("order %s has no buyer address: no confirmation email", order.get("orderNumber"))
        return
    stamp = datetime.fromtimestamp(services.clock(), UTC)
    subject, text, body, attachments = message_parts(order, stamp)
    try:
        await services.mail.send(
            session, to=email, subject=subject, text=text, html=body, attachments=attachments, key=mail_key(order)
        )
    except MailError:
        # The order is delivered either way; the message is refused before anything is written.
        log.warning("the confirmation of order %s could not be queued", order.get("orderNumber"))
