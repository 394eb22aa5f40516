"""Sold bookkeeping on the events peer (actors/events/schedule.py record_sale): each ticket is an item of the
event's sold collection, and the event's remainingAttendeeCapacity follows that collection's totalItems."""

from __future__ import annotations

import asyncio

from actors.events.schedule import cancel, record_sale, sold_of
from store import objects
from tests.actors.conftest import MakePeer
from tests.actors.helpers import Peer, scheduled_event


async def sell(events: Peer, event: str, order: str, quantity: int) -> int:
    tickets = [f"{order}/tickets/{n}" for n in range(1, quantity + 1)]
    async with events.services.store.write() as session:
        return await record_sale(session, events.services, event, order, tickets)


async def remaining(events: Peer, event: str) -> object:
    doc = await events.document(event)
    assert doc is not None
    return doc.get("remainingAttendeeCapacity")


async def test_each_sale_adds_its_tickets_and_lowers_what_remains(peer: MakePeer) -> None:
    events = await peer("events")
    event = await scheduled_event(events, capacity=10)
    assert await remaining(events, event) == 10
    assert await sell(events, event, "http://shop.test/actor/orders/1000", 3) == 3
    assert await events.count(sold_of(event)) == 3
    assert await remaining(events, event) == 7
    assert await sell(events, event, "http://shop.test/actor/orders/1001", 2) == 5
    assert await remaining(events, event) == 5
    sold = await events.collection(sold_of(event))
    assert list(sold) == [
        f"http://shop.test/actor/orders/{n}/tickets/{t}"
        for n, t in ((1000, 1), (1000, 2), (1000, 3), (1001, 1), (1001, 2))
    ]
    assert {(d or {})["order"] for d in sold.values()} == {
        "http://shop.test/actor/orders/1000",
        "http://shop.test/actor/orders/1001",
    }
    doc = await events.document(event)
    assert doc is not None and doc["maximumAttendeeCapacity"] == 10  # the capacity itself is not touched


async def test_the_same_order_recorded_twice_counts_once(peer: MakePeer) -> None:
    events = await peer("events")
    event = await scheduled_event(events, capacity=10)
    order = "http://shop.test/actor/orders/1000"
    assert await sell(events, event, order, 4) == 4
    assert await sell(events, event, order, 4) == 4
    assert await events.count(sold_of(event)) == 4
    assert await remaining(events, event) == 6


async def test_concurrent_sales_leave_the_true_remainder(peer: MakePeer) -> None:
    """Each sale counts the sold collection under the event's lock, so the last to commit writes the truth."""
    events = await peer("events")
    event = await scheduled_event(events, capacity=20)
    orders = [f"http://shop.test/actor/orders/{1000 + n}" for n in range(8)]
    await asyncio.gather(*(sell(events, event, order, 2) for order in orders))
    assert await events.count(sold_of(event)) == 16
    assert await remaining(events, event) == 4


async def test_what_remains_never_goes_below_zero(peer: MakePeer) -> None:
    events = await peer("events")
    event = await scheduled_event(events, capacity=3)
    assert await sell(events, event, "http://shop.test/actor/orders/1000", 2) == 2
    assert await sell(events, event, "http://shop.test/actor/orders/1001", 2) == 4
    assert await remaining(events, event) == 0


async def test_a_sale_of_a_cancelled_event_leaves_its_tombstone_alone(peer: MakePeer) -> None:
    events = await peer("events")
    event = await scheduled_event(events, capacity=10)
    async with events.services.store.write() as session:
        row = await objects.get(session, event)
        assert row is not None
        await cancel(session, events.services, row)
    tombstone = await events.document(event)
    assert await sell(events, event, "http://shop.test/actor/orders/1000", 2) == 2
    assert await events.document(event) == tombstone
    assert tombstone is not None and tombstone["type"] == "Tombstone" and "remainingAttendeeCapacity" not in tombstone
