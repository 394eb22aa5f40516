"""Card payments end to end through the official `stripe` package against localstripe run as a real process:
the checkout page starts one PaymentIntent per order, a declined card leaves the seats held with a clear message
and a retry pays, the signed webhook confirms the order on both peers, a payment after the hold ran out takes the
seats again when they are free and is refunded when they are not, staff refunds go through the API, and so do
the refunds of an event its organiser cancels. Webhooks with
a bad signature, a tampered amount or for a payment the order did not start are refused and change nothing; a
replayed one changes nothing either."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.shop.checkout import PAID_TOO_LATE
from tests.faults.conftest import Market
from tests.faults.test_order_lifecycle import assert_agree, state_of
from tests.hostile.helpers import Unchanged, Visitor, schedule_event, wait_until
from tests.support.localstripe import DECLINED_CARD, GOOD_CARD, LocalStripe, signed

SECRET = re.compile(r'data-client-secret="([^"]+)"')
CAPACITY = 2


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[LocalStripe]:
    running = LocalStripe.start(tmp_path / "localstripe.log")
    try:
        yield running
    finally:
        running.stop()


def order_of(m: Market, number: str) -> dict[str, Any]:
    (order,) = [o for o in m.orders() if o["orderNumber"] == number]
    return order


def open_checkout(m: Market, order: dict[str, Any]) -> tuple[str, str]:
    """The buyer opens the Accept's payment link: (page text, the PaymentIntent's id)."""
    page = m.http.get(order["url"])
    assert page.status_code == 200, page.text[:300]
    match = SECRET.search(page.text)
    assert match, page.text[:1000]
    return page.text, match.group(1).split("_secret_")[0]


def number_of(m: Market, token: str) -> str:
    return str(m.http.get(f"{m.events.url}/tickets/{token}/status").json()["fields"]["orderNumber"])


@pytest.mark.slow
def test_card_checkout_through_localstripe(market: Callable[..., Market], localstripe: LocalStripe) -> None:
    m = market(env={**localstripe.env(), "ROSE_ASH_HOLD_MINUTES": "0.25"})
    localstripe.send_webhooks_to(f"{m.shop.url}/payments/stripe")
    event = schedule_event(m.http, m.events, capacity=CAPACITY, price="12.50")
    organiser = Visitor(m.events, "/calendars").login()
    buyer = Visitor(m.events, "/calendars")

    # Ada's card is declined: a clear message, her seat still held; her second card pays.
    ada = buyer.buy(event, email="ada@example.org")
    wait_until(lambda: state_of(m, ada) == "held", what="Ada's seat held")
    ada_order = order_of(m, number_of(m, ada))
    assert ada_order["url"].startswith(f"{ada_order['id']}/pay?token=")
    _, ada_intent = open_checkout(m, ada_order)
    assert open_checkout(m, ada_order)[1] == ada_intent  # a reload (or a second tab) pays the same intent
    assert localstripe.intent(ada_intent)["amount"] == 1250
    localstripe.pay(ada_intent, DECLINED_CARD)
    wait_until(lambda: "declined" in open_checkout(m, ada_order)[0], what="the decline on the checkout page")
    assert state_of(m, ada) == "held"
    assert_agree(m, organiser, event, sold=0, held=1, capacity=CAPACITY)
    _, ada_intent = open_checkout(m, ada_order)  # the retry: a fresh intent for the next card
    assert localstripe.pay(ada_intent, GOOD_CARD)["status"] == "succeeded"
    wait_until(lambda: state_of(m, ada) == "confirmed", what="Ada's payment confirmed")
    assert_agree(m, organiser, event, sold=1, held=0, capacity=CAPACITY)

    # Bea opens the checkout and lets the hold run out; Cy takes the last seat; Bea's late payment is refunded.
    bea = buyer.buy(event, email="bea@example.org")
    wait_until(lambda: state_of(m, bea) == "held", what="Bea's seat held")
    bea_order = order_of(m, number_of(m, bea))
    _, bea_intent = open_checkout(m, bea_order)
    wait_until(lambda: state_of(m, bea) == "cancelled", timeout=60, what="Bea's hold expired")
    assert m.http.get(bea_order["url"], follow_redirects=False).status_code == 303  # no longer payable: its page
    cy = buyer.buy(event, email="cy@example.org")
    wait_until(lambda: state_of(m, cy) == "held", what="Cy's seat held")
    cy_order = order_of(m, number_of(m, cy))
    localstripe.pay(open_checkout(m, cy_order)[1], GOOD_CARD)
    wait_until(lambda: state_of(m, cy) == "confirmed", what="Cy's payment confirmed")
    assert_agree(m, organiser, event, sold=2, held=0, capacity=CAPACITY)
    localstripe.pay(bea_intent, GOOD_CARD)
    wait_until(lambda: localstripe.refunds_of(bea_intent), what="Bea's late payment refunded")
    assert order_of(m, bea_order["orderNumber"])["description"] == PAID_TOO_LATE
    assert state_of(m, bea) == "cancelled"
    assert_agree(m, organiser, event, sold=2, held=0, capacity=CAPACITY)

    # Forged, tampered and replayed notifications change nothing.
    paid = {"id": "evt_test", "type": "payment_intent.succeeded", "created": 0,
            "data": {"object": {**localstripe.intent(ada_intent), "object": "payment_intent"}}}
    hook = f"{m.shop.url}/payments/stripe"
    with Unchanged(m.shop_db, m.events_db):
        body, headers = signed(paid, secret="whsec_somebody_else")
        refused = m.http.post(hook, content=body, headers=headers)
        assert refused.status_code == 400 and "signature" in refused.json()["error"]
        tampered = {**paid, "data": {"object": {**paid["data"]["object"], "amount": 1}}}
        body, headers = signed(tampered)
        refused = m.http.post(hook, content=body, headers=headers)
        assert refused.status_code == 400 and "amount" in refused.json()["error"]
        stranger = {**paid, "data": {"object": {**paid["data"]["object"], "id": "pi_not_ours"}}}
        body, headers = signed(stranger)
        refused = m.http.post(hook, content=body, headers=headers)
        assert refused.status_code == 400 and "not the one" in refused.json()["error"]
        body, headers = signed(paid)
        replayed = m.http.post(hook, content=body, headers=headers)
        assert replayed.status_code == 200 and replayed.json()["status"] == "already settled"

    # Staff refund Ada through the API: her seat is back on both peers.
    staff = Visitor(m.shop, "/login").login()
    refunded = staff.post(f"/orders/{ada_order['orderNumber']}/refund")
    assert refunded.status_code == 303, refunded.text[:300]
    wait_until(lambda: state_of(m, ada) == "refunded", what="Ada refunded")
    assert [r["amount"] for r in localstripe.refunds_of(ada_intent)] == [1250]
    assert_agree(m, organiser, event, sold=1, held=0, capacity=CAPACITY)

    # The organiser cancels the event: Cy's card payment goes back through the API; Ada is not refunded twice.
    assert organiser.post(f"/events/{event.rsplit('/', 1)[-1]}/cancel").status_code == 303
    wait_until(lambda: state_of(m, cy) == "refunded", what="Cy refunded when the event was cancelled")
    assert [r["amount"] for r in localstripe.refunds_of(order_of(m, cy_order["orderNumber"])["paymentIntent"])] == [1250]
    assert [r["amount"] for r in localstripe.refunds_of(ada_intent)] == [1250]
    for visitor in (organiser, buyer, staff):
        visitor.close()
