"""An organiser cancels an event that has sold and held tickets (real events and shop processes, a real SMTP
server): the events peer's `Delete` reaches the shop, which refunds each paid order and cancels each held one,
tells each buyer by email, and both peers' collections of the event empty; another event's orders are untouched."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from activities.order import product_key
from actors.shop.cancellations import CANCELLED
from tests.faults.conftest import Market
from tests.faults.test_order_lifecycle import counts, items_at, state_of
from tests.hostile.helpers import Visitor, purchase_state, schedule_event, slug_of, wait_until
from tests.support.smtp import SmtpSink


def tickets_of(m: Market, event: str) -> tuple[int, int, int, int]:
    """(sold here, held here, sold at the shop, held at the shop): the event's collections outlive its Tombstone."""
    products = f"{m.shop.url}/products/{product_key(event)}"
    return tuple(  # type: ignore[return-value]
        items_at(m, url) for url in (f"{event}/sold", f"{event}/held", f"{products}/tickets", f"{products}/held")
    )


def body_of(sink: SmtpSink, to: str, subject_part: str) -> str:
    [found] = [r for r in sink.received if r.envelope_to == [to] and subject_part in str(r.message["Subject"])]
    return str(found.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


@pytest.mark.slow
def test_cancelling_an_event_refunds_paid_orders_cancels_held_ones_and_tells_the_buyers(
    market: Callable[..., Market], smtp_server: SmtpSink
) -> None:
    m = market(env={"ROSE_ASH_SMTP_URL": smtp_server.url, "ROSE_ASH_HOLD_MINUTES": "30"})
    doomed = schedule_event(m.http, m.events, name="Rained Off", capacity=5, price="12.00")
    kept = schedule_event(m.http, m.events, name="Still On", capacity=5, price="8.00")
    organiser = Visitor(m.events, "/calendars").login()
    staff = Visitor(m.shop, "/login").login()
    buyer = Visitor(m.events, "/calendars")
    try:
        paid = buyer.buy(doomed, quantity=2)
        held = buyer.buy(doomed, quantity=1, name="Bob", email="bob@example.org")
        other = buyer.buy(kept, quantity=1, name="Cy", email="cy@example.org")
        for token in (paid, held, other):
            wait_until(lambda token=token: state_of(m, token) == "held", what="each purchase held")
        for token in (paid, other):
            number = purchase_state(m.http, m.events, token)["orderNumber"]
            assert staff.post(f"/orders/{number}/paid").status_code == 303
            wait_until(lambda token=token: state_of(m, token) == "confirmed", what="paid orders confirmed")
        smtp_server.wait_for(2)  # the two confirmations
        assert tickets_of(m, doomed) == (2, 1, 2, 1)

        assert organiser.post(f"/events/{slug_of(doomed)}/cancel").status_code == 303

        wait_until(lambda: state_of(m, paid) == "refunded", what="the paid purchase refunded")
        wait_until(lambda: state_of(m, held) == "cancelled", what="the held purchase cancelled")
        page = buyer.get(f"/tickets/{paid}").text
        assert "refunded: the event was cancelled" in page and 'id="buy-again"' not in page
        by_buyer = {o["customer"]["name"]: o for o in m.orders()}
        assert by_buyer["Ada"]["orderStatus"] == "OrderReturned" and by_buyer["Ada"]["description"] == CANCELLED
        assert by_buyer["Bob"]["orderStatus"] == "OrderCancelled" and by_buyer["Bob"]["description"] == CANCELLED
        assert by_buyer["Cy"]["orderStatus"] == "OrderDelivered" and state_of(m, other) == "confirmed"
        # Both peers' collections of the cancelled event are empty; the other event still has its sale.
        wait_until(lambda: tickets_of(m, doomed) == (0, 0, 0, 0), what="the cancelled event's tickets released")
        assert counts(m, kept) == (1, 0, 1, 0, 4)

        smtp_server.wait_for(4)
        refunded = body_of(smtp_server, "ada@example.org", "Cancelled: Rained Off")
        assert "is refunded (24.00 GBP)" in refunded and by_buyer["Ada"]["orderNumber"] in refunded
        cancelled = body_of(smtp_server, "bob@example.org", "Cancelled: Rained Off")
        assert "nothing to pay" in cancelled and "refunded" not in cancelled
        assert not [r for r in smtp_server.received if r.envelope_to == ["cy@example.org"] and "Cancelled" in
                    str(r.message["Subject"])]
    finally:
        for visitor in (organiser, staff, buyer):
            visitor.close()
