"""The buyer's confirmation email, end to end with real processes (an events peer and a shop, on SQLite and
PostgreSQL) and a real SMTP server (aiosmtpd on loopback): a free order of two tickets is emailed at once and a
priced one when staff mark it paid; each message carries the order, one QR code per ticket (decoded here back to
the ticket's code with zxing-cpp) inline in the HTML part and listed in the text, and the event as an `.ics`
(parsed with icalendar). A held order that expires sends nothing; a delivery repeated queues one message."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import datetime
from email import message_from_string, policy
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from icalendar import Calendar
from PIL import Image
from sqlalchemy import func, select

from actors.context import Services
from actors.shop.confirmation import order_delivered
from mail import Mailer
from mail.queue import raw_of
from store import Store
from store.models import MailMessage
from tests.faults.conftest import Market, market  # noqa: F401 (the fixture)
from tests.hostile.helpers import Visitor, purchase_state, schedule_event, wait_until
from tests.support.smtp import SmtpSink

START = datetime(2027, 7, 1, 19, 0, tzinfo=ZoneInfo("Europe/London"))


def decoded_qr(png: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def check_confirmation(message: EmailMessage, order: dict[str, Any], event: str, name: str) -> None:
    """The message says the order, carries one QR per ticket (its code) inline and in the text, and the .ics."""
    number = str(order["orderNumber"])
    codes = {str(t["ticketNumber"]): str(t["ticketToken"]) for t in order["tickets"]}
    assert number in str(message["Subject"]) and name in str(message["Subject"])
    text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    for expected in (number, name, "Thu 1 July 2027, 19:00", "Hall", f"Tickets: {order['quantity']}"):
        assert expected in text, (expected, text)
    assert f"{order['id']}?token=" in text  # the order's capability link on the shop
    images: dict[str, bytes] = {}
    ics: list[bytes] = []
    for part in message.walk():
        if part.get_content_type() == "image/png":
            cid = str(part["Content-ID"]).strip("<>")
            assert f"cid:{cid}" in html
            images[cid] = part.get_payload(decode=True)  # type: ignore[assignment]
        elif part.get_content_type() == "text/calendar":
            ics.append(part.get_payload(decode=True))  # type: ignore[arg-type]
    assert len(images) == len(codes) == int(order["quantity"])
    found = sorted(code for png in images.values() for code in decoded_qr(png))
    assert found == sorted(codes.values())
    for ticket_number, code in codes.items():
        assert f"{ticket_number}: {code}" in text and code in html
    [calendar] = ics
    [vevent] = Calendar.from_ical(calendar).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == name and str(vevent["UID"]) == event
    assert vevent.decoded("DTSTART") == START


def to_buyer(sink: SmtpSink) -> list[Any]:
    return [r for r in sink.received if r.envelope_to == ["ada@example.org"]]


@pytest.mark.slow
def test_free_and_paid_orders_email_their_tickets_and_an_expired_hold_sends_nothing(
    market: Callable[..., Market],  # noqa: F811
    smtp_server: SmtpSink,
) -> None:
    m = market(env={"ROSE_ASH_SMTP_URL": smtp_server.url, "ROSE_ASH_HOLD_MINUTES": "0.1"})
    free = schedule_event(m.http, m.events, name="Free Gig", capacity=5)
    priced = schedule_event(m.http, m.events, name="Paid Gig", capacity=5, price="12.00")
    buyer = Visitor(m.events, "/calendars")
    staff = Visitor(m.shop, "/login").login()
    try:
        # Free: delivered at once, emailed at once.
        token = buyer.buy(free, quantity=2)
        wait_until(lambda: purchase_state(m.http, m.events, token)["state"] == "confirmed", what="free order")
        [first] = smtp_server.wait_for(1)
        [order] = [o for o in m.orders() if o["orderedItem"] == free]
        assert first.envelope_to == ["ada@example.org"]
        check_confirmation(first.message, order, free, "Free Gig")

        # Priced: nothing while held; emailed when staff mark it paid; marking it again sends nothing more.
        token = buyer.buy(priced, quantity=1)
        wait_until(lambda: purchase_state(m.http, m.events, token)["state"] == "held", what="priced order held")
        time.sleep(1.0)
        assert len(to_buyer(smtp_server)) == 1
        number = str(purchase_state(m.http, m.events, token)["orderNumber"])
        assert staff.post(f"/orders/{number}/paid").status_code == 303
        _, second = smtp_server.wait_for(2)
        [order] = [o for o in m.orders() if o["orderNumber"] == number]
        check_confirmation(second.message, order, priced, "Paid Gig")
        assert "12.00" in str(second.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert staff.post(f"/orders/{number}/paid").status_code == 409

        # Held and never paid: the hold runs out, and no email goes.
        token = buyer.buy(priced, quantity=1, email="bob@example.org", name="Bob")
        wait_until(
            lambda: purchase_state(m.http, m.events, token)["state"] == "cancelled", timeout=40, what="hold expired"
        )
        time.sleep(1.5)
        assert len(smtp_server.received) == 2 and len(to_buyer(smtp_server)) == 2
        # The buyer's details stay at the shop: the events peer's copy of the orders has no event snapshot
        # and the wire's Update carried none.
        for answer in m.answers():
            result = answer.get("result")
            assert not isinstance(result, dict) or ("customer" not in result and "event" not in result)
    finally:
        buyer.close()
        staff.close()


def _order() -> dict[str, Any]:
    return {
        "id": "https://shop.example/orders/1001",
        "orderNumber": "1001",
        "orderStatus": "OrderDelivered",
        "orderedItem": "https://events.example/events/gig",
        "quantity": 1,
        "price": "0.00",
        "priceCurrency": "GBP",
        "url": "https://shop.example/orders/1001?token=abc",
        "tickets": [{"id": "https://shop.example/orders/1001/tickets/1", "ticketNumber": "1001-1",
                     "ticketToken": "t" * 24}],
        "customer": {"type": "Person", "name": "Ada", "email": "ada@example.org"},
        "event": {"id": "https://events.example/events/gig", "name": "Gig", "startTime": "2027-07-01T19:00:00+01:00",
                  "endTime": "2027-07-01T23:00:00+01:00", "timezone": "Europe/London",
                  "location": {"type": "Place", "name": "Hall"}},
    }  # fmt: skip


async def test_a_repeated_delivery_queues_one_message(store: Store) -> None:
    mailer = Mailer("shop@example.org", clock=time.time)  # no worker here to wake
    services = cast(Services, SimpleNamespace(clock=lambda: 1_800_000_000.0, mail=mailer))
    for _ in range(2):
        async with store.write() as session:
            await order_delivered(session, services, _order())
    async with store.read() as session:
        rows = list(await session.scalars(select(MailMessage)))
        assert await session.scalar(select(func.count()).select_from(MailMessage)) == 1
    [row] = rows
    assert row.recipients == ["ada@example.org"]
    raw = raw_of(row)
    assert raw is not None
    message = message_from_string(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    order = _order()
    check_confirmation(message, order, order["orderedItem"], "Gig")
