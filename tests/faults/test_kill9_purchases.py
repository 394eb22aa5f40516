"""kill -9 of the shop, then of the events peer, in the middle of ticket purchases; each restarted on its own
store. No purchase is lost, no offer is ordered twice, every purchase is answered once, and the events peer's sold
count, the shop's orders and the buyers' confirmations all agree."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from store.models import InboxActivity
from tests.faults.conftest import Market
from tests.hostile.helpers import Visitor, schedule_event, wait_until

CAPACITY = 30


def offers_heard(m: Market) -> int:
    return int(
        m.shop_db.scalar(select(func.count()).select_from(InboxActivity).where(InboxActivity.type == "Offer")) or 0
    )


def answers_heard(m: Market) -> int:
    return int(
        m.events_db.scalar(
            select(func.count()).select_from(InboxActivity).where(InboxActivity.type.in_(["Accept", "Reject"]))
        )
        or 0
    )


class Buyers:
    """Buyer threads on the events peer's page; a buy cut off by a crash is `unknown`, not an error."""

    def __init__(self, m: Market, threads: int, each: int, prefix: str) -> None:
        self.m, self.tokens, self.unknown = m, [], 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(f"{prefix}{t}", each)) for t in range(threads)]

    def _run(self, name: str, each: int) -> None:
        try:
            visitor = Visitor(self.m.events, "/calendars")
        except httpx.HTTPError:  # the peer was down before this buyer's first page: none of its buys was made
            return
        try:
            for i in range(each):
                try:
                    token = visitor.buy(self.m.extra["event"], name=f"{name}-{i}", email=f"{name}-{i}@example.org")
                    with self._lock:
                        self.tokens.append(token)
                except (httpx.HTTPError, AssertionError):
                    with self._lock:
                        self.unknown += 1
        finally:
            visitor.close()

    def start(self) -> Buyers:
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> None:
        for thread in self._threads:
            thread.join(60)


@pytest.mark.slow
def test_kill_9_during_purchases_loses_and_doubles_nothing(market: Callable[..., Market]) -> None:
    m = market()
    event = m.extra["event"] = schedule_event(m.http, m.events, capacity=CAPACITY)

    # 1. Twenty purchases; the shop is killed once it has heard a few of the offers, and restarted.
    first = Buyers(m, threads=4, each=5, prefix="a").start()
    wait_until(lambda: offers_heard(m) >= 4, timeout=30, what="the shop to hear some offers")
    m.shop.kill(signal.SIGKILL)
    first.join()
    assert len(first.tokens) == 20 and first.unknown == 0
    m.shop.start()

    # 2. More buyers while the answers flow back; the events peer is killed mid-stream (some buys are cut off
    #    with it), and restarted.
    settled_before = answers_heard(m)
    second = Buyers(m, threads=4, each=5, prefix="b").start()
    wait_until(lambda: answers_heard(m) >= settled_before + 4, timeout=30, what="answers to flow back")
    m.events.kill(signal.SIGKILL)
    second.join()
    m.events.start()

    # Nothing lost: every buyer who got a ticket page has a purchase; a cut-off buy either happened or not.
    purchases = m.purchases()
    tokens = {p["id"].rsplit("/", 1)[-1] for p in purchases}
    assert set(first.tokens + second.tokens) <= tokens
    assert len(purchases) <= 20 + len(second.tokens) + second.unknown

    # 3. Enough buyers after the restart that some are turned away.
    third = Buyers(m, threads=2, each=(CAPACITY + 10 - len(purchases) + 1) // 2, prefix="c").start()
    third.join()
    assert third.unknown == 0
    total = len(purchases) + len(third.tokens)
    assert total >= CAPACITY + 10

    wait_until(lambda: m.settled(total), timeout=90, what=f"{total} purchases to settle")
    purchases = m.purchases()
    states = Counter(p["state"] for p in purchases)
    assert states == Counter(confirmed=CAPACITY, rejected=total - CAPACITY), states
    # Nothing doubled: one answer per offer, one order per accepted offer, one sold ticket per order.
    answered = Counter(a["object"] for a in m.answers())
    assert set(answered) == {p["offer"] for p in purchases} and set(answered.values()) == {1}, answered
    orders = m.orders()
    assert len(orders) == CAPACITY == len({o["acceptedOffer"] for o in orders})
    confirmed = sorted(p["orderNumber"] for p in purchases if p["state"] == "confirmed")
    assert confirmed == sorted(o["orderNumber"] for o in orders)
    assert m.sold(event) == m.shop_tickets_for(event) == CAPACITY
    assert m.remaining(event) == 0
