"""The shop is down while tickets are bought: the offers wait and retry with backoff, and when the shop comes
back every order is confirmed once, the sold count is right, and the shop agrees."""

from __future__ import annotations

import itertools
import signal
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from store.models import Delivery, DeliveryAttempt, FanOut
from tests.faults.conftest import Market
from tests.hostile.helpers import Visitor, schedule_event, wait_until

CAPACITY = 5
BUYERS = 7


def buy_all(market: Market, event: str, n: int, start: int = 0) -> list[str]:
    visitor = Visitor(market.events, "/calendars")
    try:
        return [visitor.buy(event, name=f"Buyer {i}", email=f"buyer{i}@example.org") for i in range(start, start + n)]
    finally:
        visitor.close()


def assert_settled_once(market: Market, event: str, purchases: int) -> None:
    """Every purchase answered exactly once; sold count, shop orders and confirmations agree."""
    wait_until(lambda: market.settled(purchases), timeout=60, what=f"{purchases} purchases to settle")
    states = market.states()
    assert states == Counter(confirmed=min(CAPACITY, purchases), rejected=max(0, purchases - CAPACITY)), states
    offers = [p["offer"] for p in market.purchases()]
    answered = Counter(a["object"] for a in market.answers())
    assert set(answered) == set(offers) and set(answered.values()) == {1}, answered
    orders = market.orders()
    assert len(orders) == min(CAPACITY, purchases)
    assert len({o["acceptedOffer"] for o in orders}) == len(orders), "an offer was ordered twice"
    numbers = [p["orderNumber"] for p in market.purchases() if p["state"] == "confirmed"]
    assert sorted(numbers) == sorted(o["orderNumber"] for o in orders)
    assert market.sold(event) == market.shop_tickets_for(event) == min(CAPACITY, purchases)
    assert market.remaining(event) == max(0, CAPACITY - purchases)


def attempt_times(market: Market, inbox_host: str) -> list[list[float]]:
    """Per delivery to that host: the times of its attempts."""

    async def work(session: object) -> list[list[float]]:
        deliveries = list(await session.scalars(select(Delivery).where(Delivery.host == inbox_host)))  # type: ignore[attr-defined]
        out = []
        for d in deliveries:
            times = await session.scalars(  # type: ignore[attr-defined]
                select(DeliveryAttempt.at).where(DeliveryAttempt.delivery_id == d.id).order_by(DeliveryAttempt.at)
            )
            out.append(list(times))
        return out

    return market.events_db.run(work)


def assert_backoff(times: list[float], base: float = 0.5) -> None:
    """Each wait at least the policy's exponential delay (less a little scheduling slack)."""
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for n, gap in enumerate(gaps, start=1):
        assert gap >= base * 2 ** (n - 1) * 0.8, f"attempt {n + 1} came {gap:.2f}s after the one before: {gaps}"


@pytest.mark.slow
def test_offers_wait_for_the_shop_and_are_confirmed_once(market: Callable[..., Market]) -> None:
    m = market(start_shop=False)
    event = schedule_event(m.http, m.events, capacity=CAPACITY)

    # 1. The shop has never been seen: the offers wait at the fan-out (its actor cannot be fetched), with backoff.
    first = 3
    assert len(set(buy_all(m, event, first))) == first

    def fan_outs_retried() -> list[FanOut]:
        rows = m.events_db.rows(FanOut, FanOut.state == "pending", FanOut.attempts >= 2)
        return rows if len(rows) >= first else []

    waiting = wait_until(fan_outs_retried, timeout=20, what="the offers' fan-outs to be retried")
    assert all(f.last_error for f in waiting), "a failed fan-out says why"
    assert m.states() == Counter(pending=first)
    m.shop.start()
    wait_until(lambda: m.settled(first), timeout=30, what="the first purchases to settle")

    # 2. It dies (kill -9) after answering: the next offers are delivered, fail, and are retried with backoff.
    m.shop.kill(signal.SIGKILL)
    buy_all(m, event, BUYERS - first, start=first)
    shop_host = f"127.0.0.1:{m.shop.port}"

    def three_attempts_each() -> bool:
        return len([t for t in attempt_times(m, shop_host) if len(t) >= 3]) >= BUYERS - first

    wait_until(three_attempts_each, timeout=30, what="three failed attempts per offer")
    assert m.states() == Counter(confirmed=first, pending=BUYERS - first)
    for times in attempt_times(m, shop_host):
        if len(times) > 1:
            assert_backoff(times)

    # 3. It comes back on its own store: every order confirmed once, the sold count right, the shop agreeing.
    m.shop.start()
    assert_settled_once(m, event, BUYERS)
