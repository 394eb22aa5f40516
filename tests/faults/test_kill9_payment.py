"""kill -9 of the shop between a card payment and its confirmation (real events and shop processes, a real
localstripe): the buyers pay at the provider while the shop is dead, so its webhooks never arrive. Once the shop
is back, its payment sweep asks the provider and confirms both orders, including the one whose hold ran out while
the shop was down (the expiry asks the provider first); both peers agree, and nothing is sold twice."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from tests.faults.conftest import Market
from tests.faults.test_order_lifecycle import assert_agree, state_of
from tests.faults.test_stripe_checkout import localstripe, number_of, open_checkout, order_of  # noqa: F401
from tests.hostile.helpers import Visitor, schedule_event, wait_until
from tests.support.localstripe import GOOD_CARD, LocalStripe

CAPACITY = 3


@pytest.mark.slow
def test_payments_made_while_the_shop_was_killed_are_confirmed_when_it_is_back(
    market: Callable[..., Market],
    localstripe: LocalStripe,  # noqa: F811
) -> None:
    m = market(env={**localstripe.env(), "ROSE_ASH_HOLD_MINUTES": "0.1"})  # six seconds to pay
    localstripe.send_webhooks_to(f"{m.shop.url}/payments/stripe")
    event = schedule_event(m.http, m.events, capacity=CAPACITY, price="12.50")
    organiser = Visitor(m.events, "/calendars").login()
    buyer = Visitor(m.events, "/calendars")
    try:
        ada = buyer.buy(event, email="ada@example.org")
        bea = buyer.buy(event, email="bea@example.org")
        for token in (ada, bea):
            wait_until(lambda token=token: state_of(m, token) == "held", what="each seat held")
        intents = {t: open_checkout(m, order_of(m, number_of(m, t)))[1] for t in (ada, bea)}

        m.shop.kill(signal.SIGKILL)
        assert localstripe.pay(intents[ada], GOOD_CARD)["status"] == "succeeded"
        assert localstripe.pay(intents[bea], GOOD_CARD)["status"] == "succeeded"
        time.sleep(7)  # both holds run out while the shop is down
        m.shop.start()

        for token in (ada, bea):
            wait_until(lambda token=token: state_of(m, token) == "confirmed", timeout=40, what="payment settled")
        assert_agree(m, organiser, event, sold=2, held=0, capacity=CAPACITY)
        orders = m.orders()
        assert sorted(o["orderStatus"] for o in orders) == ["OrderDelivered", "OrderDelivered"]
        assert {o["paymentIntent"] for o in orders} == set(intents.values())
        assert not localstripe.refunds_of(intents[ada]) and not localstripe.refunds_of(intents[bea])
    finally:
        organiser.close()
        buyer.close()
