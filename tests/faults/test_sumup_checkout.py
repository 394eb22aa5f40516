"""SumUp payments end to end through the official `sumup` package, against a fake of SumUp's HTTP API written
from its published reference (tests/support/sumup_fake.py: no SumUp server can run here). The buyer's checkout
link makes one hosted checkout per order (its reference is the order's id) and sends the buyer to SumUp's page;
paid there, SumUp's unsigned notification makes the shop ask SumUp's API, and the order is confirmed on both
peers. A notification for an unpaid checkout, for a checkout SumUp does not know, for a checkout the order did
not start, or for a checkout whose amount is not the order's changes nothing, whatever its body claims; a
replayed one changes nothing either. Staff refunds go through the API, and so do the refunds of an event its
organiser cancels. A declined card leaves the seats held and the next visit to the payment link starts a fresh
checkout. With SumUp down the buyer is told, and
nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.conftest import Market
from tests.faults.test_order_lifecycle import assert_agree, state_of
from tests.hostile.helpers import Unchanged, Visitor, schedule_event, wait_until
from tests.support.sumup_fake import MERCHANT_CODE, SumUpFake

CAPACITY = 3


def order_of(m: Market, number: str) -> dict[str, Any]:
    (order,) = [o for o in m.orders() if o["orderNumber"] == number]
    return order


def number_of(m: Market, token: str) -> str:
    return str(m.http.get(f"{m.events.url}/tickets/{token}/status").json()["fields"]["orderNumber"])


def held_order(m: Market, buyer: Visitor, event: str, email: str) -> tuple[str, dict[str, Any]]:
    token = buyer.buy(event, email=email)
    wait_until(lambda: state_of(m, token) == "held", what=f"{email}'s seat held")
    return token, order_of(m, number_of(m, token))


def open_checkout(m: Market, order: dict[str, Any]) -> str:
    """The buyer opens the Accept's payment link: the shop sends them to SumUp's hosted page."""
    sent = m.http.get(order["url"], follow_redirects=False)
    assert sent.status_code == 303, sent.text[:500]
    return str(sent.headers["location"])


@pytest.mark.slow
def test_sumup_checkout_through_the_fake(market: Callable[..., Market], sumup: SumUpFake) -> None:
    m = market(env=sumup.env())
    hook = f"{m.shop.url}/payments/sumup"
    event = schedule_event(m.http, m.events, capacity=CAPACITY, price="12.50")
    organiser = Visitor(m.events, "/calendars").login()
    buyer = Visitor(m.events, "/calendars")

    ada, ada_order = held_order(m, buyer, event, "ada@example.org")
    assert ada_order["url"].startswith(f"{ada_order['id']}/pay?token=")
    page = open_checkout(m, ada_order)
    assert open_checkout(m, ada_order) == page  # a reload (or a second tab) pays the same checkout
    assert m.http.get(page).status_code == 200  # the hosted page is SumUp's
    checkout = sumup.checkout_for(page)
    assert (checkout["checkout_reference"], checkout["merchant_code"]) == (ada_order["id"], MERCHANT_CODE)
    assert (checkout["amount"], checkout["currency"], checkout["status"]) == (12.5, "GBP", "PENDING")
    assert checkout["return_url"] == hook
    assert checkout["redirect_url"] == f"{ada_order['id']}?token={ada_order['url'].rsplit('token=', 1)[-1]}"
    assert len(sumup.checkouts) == 1

    # Bea's checkout is tampered with at SumUp (its amount is no longer the order's): she stays held.
    bea, bea_order = held_order(m, buyer, event, "bea@example.org")
    bea_checkout = sumup.checkout_for(open_checkout(m, bea_order))["id"]
    sumup.set_amount(bea_checkout, 0.01)
    assert_agree(m, organiser, event, sold=0, held=2, capacity=CAPACITY)

    with Unchanged(m.shop_db, m.events_db):
        # The body is not believed: a notification claiming Ada paid, while SumUp says the checkout is pending.
        claimed = sumup.notify(hook, checkout["id"], status="PAID", amount=12.5, transaction_id="forged")
        assert claimed.status_code == 200 and claimed.json()["status"] == "not settled: the checkout is pending"
        unknown = sumup.notify(hook, "1c8b4b2e-0000-4000-8000-000000000000")
        assert unknown.status_code == 400 and "no such checkout" in unknown.json()["error"]
        # A checkout the order did not start, paid in full for its next attempt's reference: refused.
        with sumup.api() as api:
            made = api.post("/v0.1/checkouts", json={
                "checkout_reference": f"{ada_order['id']}#attempt-1", "amount": 12.5, "currency": "GBP",
                "merchant_code": MERCHANT_CODE, "return_url": hook})
        assert made.status_code == 201, made.text
        stranger = sumup.pay(made.json()["id"])
        assert stranger is not None and stranger.status_code == 400
        assert "not the one" in stranger.json()["error"]
        tampered = sumup.pay(bea_checkout)
        assert tampered is not None and tampered.status_code == 400 and "amount" in tampered.json()["error"]
        garbage = m.http.post(hook, content=b"{not json", headers={"content-type": "application/json"})
        assert garbage.status_code == 400 and "not JSON" in garbage.json()["error"]
        other = m.http.post(hook, json={"event_type": "PAYOUT_DONE", "id": checkout["id"]})
        assert other.status_code == 400 and "PAYOUT_DONE" in other.json()["error"]
    assert state_of(m, bea) == "held"

    # Ada pays on SumUp's page: SumUp notifies, the shop asks the API, both peers confirm her ticket.
    paid = sumup.pay(checkout["id"])
    assert paid is not None and paid.status_code == 200 and paid.json()["status"] == "paid", paid
    wait_until(lambda: state_of(m, ada) == "confirmed", what="Ada's payment confirmed")
    assert order_of(m, ada_order["orderNumber"])["paymentIntent"] == checkout["id"]
    assert_agree(m, organiser, event, sold=1, held=1, capacity=CAPACITY)
    assert m.http.get(ada_order["url"], follow_redirects=False).status_code == 303  # paid: her order's page

    with Unchanged(m.shop_db, m.events_db):  # SumUp retries, or somebody replays: nothing more happens
        again = sumup.notify(hook, checkout["id"])
        assert again.status_code == 200 and again.json()["status"] == "already settled"

    # Staff refund Ada through SumUp's API: the fake records the refund of her transaction, her seat is back.
    staff = Visitor(m.shop, "/login").login()
    refunded = staff.post(f"/orders/{ada_order['orderNumber']}/refund")
    assert refunded.status_code == 303, refunded.text[:300]
    wait_until(lambda: state_of(m, ada) == "refunded", what="Ada refunded")
    transaction = sumup.checkout(checkout["id"])["transaction_id"]
    assert sumup.refunds(checkout["id"]) == [
        {"transaction_id": transaction, "checkout_id": checkout["id"], "amount": 12.5}
    ]
    assert_agree(m, organiser, event, sold=0, held=1, capacity=CAPACITY)
    again_refused = staff.post(f"/orders/{ada_order['orderNumber']}/refund")
    assert again_refused.status_code == 409 and len(sumup.refunds()) == 1  # refunded once only

    # Cy's card is declined on SumUp's page: his seat stays held and his order's page says so; his next visit
    # to the payment link is a fresh checkout (SumUp takes one per reference), which pays.
    cy, cy_order = held_order(m, buyer, event, "cy@example.org")
    first = sumup.checkout_for(open_checkout(m, cy_order))["id"]
    declined = sumup.decline(first)
    assert declined is not None and declined.json()["status"] == "declined", declined.text
    assert state_of(m, cy) == "held"
    cy_page = m.http.get(sumup.checkout(first)["redirect_url"])  # where SumUp's page sends him back
    assert "The card was declined" in cy_page.text and "Your seats are still held" in cy_page.text
    retry = sumup.checkout_for(open_checkout(m, cy_order))
    assert retry["id"] != first and retry["checkout_reference"] == f"{cy_order['id']}#attempt-1"
    assert sumup.pay(retry["id"]) is not None
    wait_until(lambda: state_of(m, cy) == "confirmed", what="Cy's second card confirmed")
    assert_agree(m, organiser, event, sold=1, held=1, capacity=CAPACITY)

    # The organiser cancels the event: Cy's payment goes back through SumUp's API, Bea's hold is let go, and Ada
    # is not refunded twice.
    assert organiser.post(f"/events/{event.rsplit('/', 1)[-1]}/cancel").status_code == 303
    wait_until(lambda: state_of(m, cy) == "refunded", what="Cy refunded when the event was cancelled")
    wait_until(lambda: state_of(m, bea) == "cancelled", what="Bea's hold let go when the event was cancelled")
    assert [r["amount"] for r in sumup.refunds(retry["id"])] == [12.5]
    assert len(sumup.refunds()) == 2
    for visitor in (organiser, buyer, staff):
        visitor.close()


@pytest.mark.slow
def test_sumup_down_the_buyer_is_told_and_nothing_is_written(
    market: Callable[..., Market], sumup: SumUpFake
) -> None:
    m = market(env=sumup.env())
    event = schedule_event(m.http, m.events, capacity=CAPACITY, price="8.00")
    buyer = Visitor(m.events, "/calendars")
    ada, ada_order = held_order(m, buyer, event, "ada@example.org")
    sumup.stop()
    with Unchanged(m.shop_db, m.events_db):
        page = m.http.get(ada_order["url"], follow_redirects=False)
        assert page.status_code == 503, page.text[:500]
        assert "SumUp could not start the payment (unavailable). Your seats stay held; try again in a moment." in (
            page.text
        )
        asked = m.http.post(f"{m.shop.url}/payments/sumup", json={"event_type": "CHECKOUT_STATUS_CHANGED", "id": "x"})
        assert asked.status_code == 503 and "could not be asked" in asked.json()["error"]
    assert state_of(m, ada) == "held"
    buyer.close()
