"""500 buyers at once for 100 priced places, with payments and expiry (real events and shop processes, the
`manual` provider): 100 are held and 400 turned away; staff mark 60 paid while the buyers wait, the other 40
holds run out and their seats come back; a second wave of 100 buyers takes exactly those 40, which are paid.
After every step the events peer and the shop hold the same tickets, and no seat is ever sold twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.faults.conftest import Market
from tests.faults.test_order_lifecycle import assert_agree
from tests.hostile.helpers import Visitor, schedule_event, wait_until
from tests.load.test_oversell import buy_all, pending
from tests.support.databases import run_sync

CAPACITY = 100


def states(m: Market) -> Counter[str]:
    return Counter(p["state"] for p in m.purchases())


def mark_paid(m: Market, numbers: list[str]) -> None:
    staff = Visitor(m.shop, "/login").login()
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda n: staff.post(f"/orders/{n}/paid").status_code, numbers))
    finally:
        staff.close()
    assert answers == [303] * len(numbers), Counter(answers)


def due_numbers(m: Market) -> list[str]:
    return sorted(o["orderNumber"] for o in m.orders() if o["orderStatus"] == "OrderPaymentDue")


@pytest.mark.slow
def test_500_buyers_pay_or_let_their_hold_run_out_and_a_second_wave_takes_what_came_back(
    market: Callable[..., Market],
) -> None:
    m = market(env={"ROSE_ASH_HOLD_MINUTES": "1.5"})
    event = schedule_event(m.http, m.events, capacity=CAPACITY, price="10.00")
    organiser = Visitor(m.events, "/calendars").login()
    try:
        bought = run_sync(buy_all(m, event, 500, wave="a"))
        assert Counter(status for status, _ in bought) == Counter({303: 500})
        wait_until(lambda: pending(m) == 0, timeout=600, what="every purchase answered", every=1.0)
        assert states(m) == Counter(held=CAPACITY, rejected=500 - CAPACITY)
        assert_agree(m, organiser, event, sold=0, held=CAPACITY, capacity=CAPACITY)

        due = due_numbers(m)
        assert len(due) == CAPACITY
        mark_paid(m, due[:60])
        wait_until(lambda: states(m)["confirmed"] == 60, timeout=120, what="60 payments confirmed", every=1.0)
        wait_until(lambda: states(m)["held"] == 0, timeout=240, what="the other 40 holds ran out", every=2.0)
        assert states(m) == Counter(confirmed=60, cancelled=40, rejected=400)
        assert_agree(m, organiser, event, sold=60, held=0, capacity=CAPACITY)

        bought = run_sync(buy_all(m, event, 100, wave="b"))
        assert Counter(status for status, _ in bought) == Counter({303: 100})
        wait_until(lambda: pending(m) == 0, timeout=600, what="the second wave answered", every=1.0)
        assert states(m) == Counter(confirmed=60, cancelled=40, rejected=460, held=40)
        mark_paid(m, due_numbers(m))
        wait_until(lambda: states(m)["confirmed"] == CAPACITY, timeout=120, what="all places paid", every=1.0)
        assert_agree(m, organiser, event, sold=CAPACITY, held=0, capacity=CAPACITY)
        assert m.sold(event) == m.shop_tickets_for(event) == CAPACITY
        assert sum(o["orderStatus"] == "OrderDelivered" for o in m.orders()) == CAPACITY
    finally:
        organiser.close()
