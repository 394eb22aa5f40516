"""The shop's order placement (actors/shop/orders.py place_order), called in the store's own transactions:
the capacity counter is the one authority on how many tickets are sold, and the orders agree with it."""

from __future__ import annotations

import asyncio
from typing import Any

from activities.order import parse_order
from actors.shop.orders import capacity_counter, event_held_id, event_tickets_id, orders_id, place_order, products_id
from store import counters
from tests.actors.conftest import MakePeer
from tests.actors.helpers import Peer
from tests.hostile.helpers import diff

SELLER = "http://events.test/actor"


def gig(slug: str = "gig", *, capacity: int = 3, price: str = "12.00") -> dict[str, Any]:
    """The event as the shop fetched it from the seller."""
    return {
        "id": f"http://events.test/events/{slug}",
        "type": "Event",
        "name": f"Gig {slug}",
        "attributedTo": SELLER,
        "maximumAttendeeCapacity": capacity,
        "price": price,
        "priceCurrency": "GBP",
    }


async def place(shop: Peer, event: dict[str, Any], quantity: int = 1, *, ready: bool = False) -> dict[str, Any]:
    """One offer for `quantity` tickets, placed in a transaction of its own; the shop's answer. `ready`: as the
    listener says once an earlier order of the event committed (its rows are not created again)."""
    request = parse_order(
        {
            "type": "Order",
            "orderedItem": event["id"],
            "quantity": quantity,
            "customer": {"type": "Person", "name": "Ada", "email": "ada@example.org"},
        }
    )
    async with shop.services.store.write() as session:
        return await place_order(
            session,
            shop.services,
            offer_id=shop.next_id("http://events.test"),
            seller=SELLER,
            request=request,
            event=event,
            ready=ready,
        )


async def sold(shop: Peer, event: dict[str, Any]) -> int:
    async with shop.services.store.read() as session:
        return await counters.value(session, capacity_counter(event["id"]))


async def ordered(shop: Peer, event: dict[str, Any]) -> int:
    """Tickets the event's orders took: sold (free, or paid) and held (due for payment)."""
    return await shop.count(event_tickets_id(shop.services, event["id"])) + await shop.count(
        event_held_id(shop.services, event["id"])
    )


async def test_capacity_sells_exactly_capacity_then_refuses(peer: MakePeer) -> None:
    shop = await peer("shop", trusted={SELLER})
    event = gig(capacity=3)
    answers = [await place(shop, event) for _ in range(5)]
    assert [a["type"] for a in answers] == ["Accept", "Accept", "Accept", "Reject", "Reject"]
    assert {a["summary"] for a in answers[3:]} == {"sold out"}
    assert await sold(shop, event) == 3
    assert await ordered(shop, event) == 3
    numbers = [a["result"]["orderNumber"] for a in answers[:3]]
    assert len(set(numbers)) == 3, numbers
    for answer in answers:
        assert answer["object"].startswith("http://events.test/activities/")
        assert answer["to"] == [SELLER]
        assert await shop.fanout_to(answer["id"]) == [SELLER]  # every answer goes back to the seller


async def test_concurrent_offers_never_oversell(peer: MakePeer) -> None:
    shop = await peer("shop", trusted={SELLER})
    event = gig(capacity=5)
    answers = await asyncio.gather(*(place(shop, event) for _ in range(12)))
    assert sorted(a["type"] for a in answers) == ["Accept"] * 5 + ["Reject"] * 7
    assert await sold(shop, event) == 5
    assert await ordered(shop, event) == 5
    assert await shop.count(orders_id(shop.services)) == 5
    assert len({a["result"]["id"] for a in answers if a["type"] == "Accept"}) == 5


async def test_offers_that_skip_the_rows_made_ready_never_oversell(peer: MakePeer) -> None:
    shop = await peer("shop", trusted={SELLER})
    event = gig(capacity=5)
    assert (await place(shop, event))["type"] == "Accept"
    answers = await asyncio.gather(*(place(shop, event, ready=True) for _ in range(12)))
    assert sorted(a["type"] for a in answers) == ["Accept"] * 4 + ["Reject"] * 8
    assert {a["summary"] for a in answers if a["type"] == "Reject"} == {"sold out"}
    assert await sold(shop, event) == await ordered(shop, event) == 5
    assert await shop.count(orders_id(shop.services)) == 5


async def test_an_offer_told_ready_wrongly_still_creates_the_rows(peer: MakePeer) -> None:
    """`ready` said for a store that has none of the event's rows (emptied under a running shop): the counter,
    the product and the order sequence are created as for the first Offer, and order numbers stay unique."""
    shop = await peer("shop", trusted={SELLER})
    event = gig(capacity=2)
    first = await place(shop, event, ready=True)
    assert first["type"] == "Accept" and first["result"]["orderNumber"] == "1001"
    assert await shop.count(products_id(shop.services)) == 1
    second = await place(shop, gig("other", capacity=1), ready=True)
    assert second["result"]["orderNumber"] == "1002"
    assert [(await place(shop, event, ready=True))["type"] for _ in range(2)] == ["Accept", "Reject"]
    assert await sold(shop, event) == await ordered(shop, event) == 2


async def test_quantity_over_what_is_left_is_refused_and_takes_nothing(peer: MakePeer) -> None:
    shop = await peer("shop", trusted={SELLER})
    event = gig(capacity=5)
    assert (await place(shop, event, 3))["type"] == "Accept"
    before = shop.view.snapshot()
    refused = await place(shop, event, 3)
    assert refused["type"] == "Reject"
    assert refused["summary"] == "only 2 tickets left"
    changes = diff(before, shop.view.snapshot())
    # The refusal itself is recorded to be sent, and nothing else: no order, no ticket taken.
    assert set(changes) == {"objects", "fanouts"}, changes
    assert [row[0] for row in changes["objects"]["added"]] == [refused["id"]]
    assert changes["objects"]["removed"] == [] and changes["fanouts"]["removed"] == []
    assert await sold(shop, event) == 3
    assert (await place(shop, event, 2))["type"] == "Accept"
    last = await place(shop, event, 1)
    assert (last["type"], last["summary"]) == ("Reject", "sold out")
    assert await sold(shop, event) == await ordered(shop, event) == 5


async def test_orders_and_counter_agree_per_event(peer: MakePeer) -> None:
    shop = await peer("shop", trusted={SELLER})
    small, big = gig("small", capacity=4, price="5.00"), gig("big", capacity=10, price="7.50")
    placed = {"small": [2, 1, 3, 1], "big": [4, 4, 4]}  # small: 2+1 fit, 3 does not, 1 fits; big: 4+4, then 2 left
    answers = {
        slug: [await place(shop, event, q) for q in placed[slug]] for slug, event in (("small", small), ("big", big))
    }
    assert [a["type"] for a in answers["small"]] == ["Accept", "Accept", "Reject", "Accept"]
    assert [a["type"] for a in answers["big"]] == ["Accept", "Accept", "Reject"]
    assert (await sold(shop, small), await ordered(shop, small)) == (4, 4)
    assert (await sold(shop, big), await ordered(shop, big)) == (8, 8)
    orders = await shop.collection(orders_id(shop.services))
    assert len(orders) == 5
    assert sum(int((d or {})["quantity"]) for d in orders.values()) == 12
    accepted = [a["result"] for a in answers["small"] + answers["big"] if a["type"] == "Accept"]
    assert [o["price"] for o in accepted] == ["10.00", "5.00", "5.00", "30.00", "30.00"]
    for order in accepted:
        stored = await shop.document(order["id"])
        assert stored is not None and stored["customer"]["email"] == "ada@example.org"
        assert "customer" not in order  # the buyer's details stay in the private order, not the Accept
    products = await shop.collection(products_id(shop.services))
    assert {item: (data or {})["capacity"] for item, data in products.items()} == {small["id"]: 4, big["id"]: 10}


async def test_capacity_lowered_below_what_is_sold_refuses_every_order(peer: MakePeer) -> None:
    """The shop checks against the event as it just fetched it: a capacity cut below the sales sells nothing."""
    shop = await peer("shop", trusted={SELLER})
    for _ in range(4):
        assert (await place(shop, gig(capacity=5)))["type"] == "Accept"
    refused = await place(shop, gig(capacity=3))
    assert (refused["type"], refused["summary"]) == ("Reject", "sold out")
    assert await sold(shop, gig()) == 4
    raised = await place(shop, gig(capacity=6))
    assert raised["type"] == "Accept"
    assert await sold(shop, gig()) == await ordered(shop, gig()) == 5
