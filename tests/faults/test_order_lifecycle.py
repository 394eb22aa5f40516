"""The order lifecycle across both peers (real processes, signed Offer, Accept and Update between them): a priced
order is held while the buyer pays (OrderPaymentDue), paid when the shop's staff mark it (the `manual` provider),
released when its time to pay runs out (also across a shop restart), refunded by staff. After every transition
the events peer's sold and held collections and the shop's hold the same counts, remaining is capacity - sold -
held, and the events peer's reconciliation page says both sides agree."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from activities.order import product_key
from tests.faults.conftest import Market
from tests.hostile.helpers import AS2, Unchanged, Visitor, purchase_state, schedule_event, wait_until

CAPACITY = 5
HOLD_MINUTES = "0.1"  # six seconds to pay
AGREE = re.compile(r'data-event="([^"]+)" data-agree="(yes|no)"')


def items_at(m: Market, url: str) -> int:
    """A collection's totalItems; 0 for the shop's collections of an event it has no order for yet (404)."""
    response = m.http.get(url, headers={"accept": AS2})
    if response.status_code == 404 and url.startswith(m.shop.url):
        return 0
    assert response.status_code == 200, response.text
    return int(response.json()["totalItems"])


def counts(m: Market, event: str) -> tuple[int, int, int, int, int]:
    """(sold here, held here, sold at the shop, held at the shop, remaining on the event)."""
    products = f"{m.shop.url}/products/{product_key(event)}"
    return (
        items_at(m, f"{event}/sold"),
        items_at(m, f"{event}/held"),
        items_at(m, f"{products}/tickets"),
        items_at(m, f"{products}/held"),
        m.remaining(event),
    )


def assert_agree(m: Market, organiser: Visitor, event: str, sold: int, held: int, capacity: int = CAPACITY) -> None:
    expected = (sold, held, sold, held, capacity - sold - held)
    wait_until(lambda: counts(m, event) == expected, what=f"both sides at sold {sold}, held {held}")
    page = organiser.get("/admin/tickets")
    assert page.status_code == 200, page.text[:300]
    assert dict(AGREE.findall(page.text)) == {event: "yes"}, page.text


def state_of(m: Market, token: str) -> str:
    return str(purchase_state(m.http, m.events, token)["state"])


def order_number(m: Market, token: str) -> str:
    return str(purchase_state(m.http, m.events, token)["orderNumber"])


@pytest.mark.slow
def test_held_paid_expired_refunded_and_both_sides_agree_after_each(market: Callable[..., Market]) -> None:
    m = market(env={"ROSE_ASH_HOLD_MINUTES": HOLD_MINUTES})
    event = schedule_event(m.http, m.events, capacity=CAPACITY, price="12.00")
    organiser = Visitor(m.events, "/calendars").login()
    staff = Visitor(m.shop, "/login").login()
    buyer = Visitor(m.events, "/calendars")
    assert_agree(m, organiser, event, sold=0, held=0)

    # Bought: held while the buyer pays; the Accept's Order carries the payment link and the due date.
    paid_later = buyer.buy(event, quantity=2)
    wait_until(lambda: state_of(m, paid_later) == "held", what="the purchase held")
    assert_agree(m, organiser, event, sold=0, held=2)
    (order,) = m.orders()
    assert order["orderStatus"] == "OrderPaymentDue" and order["paymentDueDate"]
    checkout = m.http.get(order["url"])
    assert checkout.status_code == 200 and "held until" in checkout.text and order["orderNumber"] in checkout.text

    # Paid (staff mark it): sold on both sides.
    number = order_number(m, paid_later)
    marked = staff.post(f"/orders/{number}/paid")
    assert marked.status_code == 303, marked.text[:300]
    wait_until(lambda: state_of(m, paid_later) == "confirmed", what="the purchase confirmed")
    assert_agree(m, organiser, event, sold=2, held=0)

    # Marking it paid again changes nothing, on either side.
    with Unchanged(m.shop_db, m.events_db):
        again = staff.post(f"/orders/{number}/paid")
        assert again.status_code == 409 and "due for payment" in again.text

    # Not paid in time: the hold runs out and the seats come back.
    expires = buyer.buy(event, quantity=1)
    wait_until(lambda: state_of(m, expires) == "held", what="the second purchase held")
    assert_agree(m, organiser, event, sold=2, held=1)
    wait_until(lambda: state_of(m, expires) == "cancelled", timeout=40, what="the hold expired")
    assert_agree(m, organiser, event, sold=2, held=0)
    page = buyer.get(f"/tickets/{expires}").text
    assert "the time to pay ran out" in page and 'id="buy-again"' in page  # the event still sells tickets

    # A hold that runs out while the shop is down is released once it is back.
    across = buyer.buy(event, quantity=1)
    wait_until(lambda: state_of(m, across) == "held", what="the third purchase held")
    m.shop.stop()
    time.sleep(7)
    m.shop.start()
    wait_until(lambda: state_of(m, across) == "cancelled", timeout=40, what="the hold expired across a restart")
    staff = Visitor(m.shop, "/login").login()
    assert_agree(m, organiser, event, sold=2, held=0)

    # Refunded by staff: the seats are back on both peers.
    refunded = staff.post(f"/orders/{number}/refund")
    assert refunded.status_code == 303, refunded.text[:300]
    wait_until(lambda: state_of(m, paid_later) == "refunded", what="the purchase refunded")
    assert_agree(m, organiser, event, sold=0, held=0)
    statuses = sorted(o["orderStatus"] for o in m.orders())
    assert statuses == ["OrderCancelled", "OrderCancelled", "OrderReturned"]
    for closed in (organiser, staff, buyer):
        closed.close()
