"""Tickets with identities, equal on both sides: an order of N tickets issues N tickets, each with its own id and
code, and the events peer's sold collection and the shop's tickets collection for the event hold the same ids, so
after a 1-ticket and a 2-ticket order both read 3 (real peer processes, signed Offer and Accept between them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from activities.order import product_key
from tests.faults.conftest import Market
from tests.hostile.helpers import AS2, Visitor, purchase_state, schedule_event, wait_until


def items(http: httpx.Client, url: str) -> list[str]:
    """Every item of a collection, following its pages."""
    got: list[str] = []
    page: Any = http.get(url, headers={"accept": AS2}).json().get("first")
    while page:
        doc = page if isinstance(page, dict) else http.get(page, headers={"accept": AS2}).json()
        got += [i if isinstance(i, str) else i["id"] for i in doc.get("orderedItems", doc.get("items", []))]
        page = doc.get("next")
    return got


@pytest.mark.slow
def test_one_and_two_ticket_orders_give_both_peers_the_same_tickets(market: Callable[..., Market]) -> None:
    m = market()
    event = schedule_event(m.http, m.events, capacity=10, price="0")
    visitor = Visitor(m.events, "/calendars")
    tokens = [visitor.buy(event, quantity=1), visitor.buy(event, quantity=2)]
    visitor.close()
    wait_until(lambda: m.settled(2), what="both purchases")
    assert m.states() == {"confirmed": 2}

    sold = items(m.http, f"{event}/sold")
    shop_side = items(m.http, f"{m.shop.url}/products/{product_key(event)}/tickets")
    assert m.sold(event) == m.shop_tickets_for(event) == 3
    assert sorted(sold) == sorted(shop_side) and len(set(sold)) == 3
    assert m.remaining(event) == 7

    orders = {o["id"]: o for o in m.orders()}
    assert sorted(o["quantity"] for o in orders.values()) == [1, 2]
    for order in orders.values():
        ids = [t["id"] for t in order["tickets"]]
        assert ids == [f"{order['id']}/tickets/{n}" for n in range(1, order["quantity"] + 1)]
        assert set(ids) <= set(sold)
    codes = [t["ticketToken"] for o in orders.values() for t in o["tickets"]]
    assert len(set(codes)) == 3

    # The buyer's page shows each of its tickets' codes: the same the shop issued.
    for token in tokens:
        state = purchase_state(m.http, m.events, token)
        assert state["state"] == "confirmed"
        page = m.http.get(f"{m.events.url}/tickets/{token}").text
        (order,) = [o for o in orders.values() if o["orderNumber"] == state["orderNumber"]]
        assert all(t["ticketToken"] in page for t in order["tickets"])

    # A ticket's id dereferences for its two parties only: a stranger's unsigned GET gets nothing.
    stranger = m.http.get(orders[next(iter(orders))]["tickets"][0]["id"], headers={"accept": AS2})
    assert stranger.status_code in (401, 403, 404), stranger.status_code
