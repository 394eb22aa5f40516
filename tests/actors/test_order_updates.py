"""`Update{Order}` on the events peer (actors/events/order_updates.py): only the shop that accepted the offer may
move the purchase, only for that order, only by an allowed move; the held tickets become sold, or are released,
and remaining follows. Every refusal leaves the store as it was."""

from __future__ import annotations

from typing import Any

import pytest

from activities.order import Customer
from actors.events.listeners import on_offer_answer
from actors.events.order_updates import on_order_update
from actors.events.schedule import held_of, sold_of
from actors.events.tickets import PurchaseWaiters, buy, purchase_id
from inbox.dispatch import Outcome
from inbox.errors import Forbidden, Malformed, TryLater, Unprocessable
from store import objects
from tests.actors.conftest import MakePeer
from tests.actors.helpers import Peer, scheduled_event
from tests.actors.test_events_purchases import SHOP, SHOP_BASE, accept
from tests.hostile.helpers import Unchanged, diff

STRANGER = "http://elsewhere.test/actor"


async def held(peer: MakePeer, *, answered: bool = True) -> tuple[Peer, str, dict[str, Any], dict[str, Any]]:
    """A purchase of 2 tickets for an event of 10, held by the shop's Accept: (peer, purchase, offer, order)."""
    events = await peer("events", peers={"shop": SHOP_BASE})
    event = await scheduled_event(events, capacity=10)
    async with events.services.store.write() as session:
        row = await objects.get(session, event)
        assert row is not None
        token = await buy(session, events.services, row, 2, Customer("Ada", "ada@example.org"))
    purchase = await events.document(purchase_id(events.services, token))
    assert purchase is not None
    offer = await events.document(purchase["offer"])
    assert offer is not None
    accepted = accept(offer, orderStatus="OrderPaymentDue", acceptedOffer=offer["id"], paymentDueDate="2027-01-01")
    if answered:
        ctx = events.context(accepted)
        ctx.answered = offer
        assert await on_offer_answer(ctx, waiters=PurchaseWaiters()) is Outcome.PROCESSED
    return events, purchase["id"], offer, dict(accepted["result"])


def update(order: dict[str, Any], status: str, *, actor: str = SHOP, n: int = 0) -> dict[str, Any]:
    base = SHOP_BASE if actor == SHOP else actor.rsplit("/", 1)[0]
    return {
        "id": f"{base}/activities/update-{status}-{n}",
        "type": "Update",
        "actor": actor,
        "object": {**order, "orderStatus": status},
    }


async def told(events: Peer, doc: dict[str, Any]) -> Outcome:
    return await on_order_update(events.context(doc), waiters=PurchaseWaiters())


async def tally(events: Peer, purchase: str) -> tuple[str, int, int, int]:
    doc = await events.document(purchase)
    assert doc is not None
    event = await events.document(doc["event"])
    assert event is not None
    held_n, sold_n = await events.count(held_of(doc["event"])), await events.count(sold_of(doc["event"]))
    return doc["state"], sold_n, held_n, int(event["remainingAttendeeCapacity"])


async def test_a_held_purchase_counts_against_what_remains(peer: MakePeer) -> None:
    events, purchase, _, _ = await held(peer)
    assert await tally(events, purchase) == ("held", 0, 2, 8)


async def test_paid_then_refunded_moves_the_tickets_and_the_seats(peer: MakePeer) -> None:
    events, purchase, _, order = await held(peer)
    assert await told(events, update(order, "OrderDelivered")) is Outcome.PROCESSED
    assert await tally(events, purchase) == ("confirmed", 2, 0, 8)
    sold = await events.collection(sold_of((await events.document(purchase) or {})["event"]))
    assert list(sold) == [t["id"] for t in order["tickets"]]
    assert await told(events, update(order, "OrderReturned")) is Outcome.PROCESSED
    assert await tally(events, purchase) == ("refunded", 0, 0, 10)


async def test_an_expired_hold_releases_and_a_late_payment_takes_the_seats_again(peer: MakePeer) -> None:
    events, purchase, _, order = await held(peer)
    assert await told(events, update(order, "OrderCancelled")) is Outcome.PROCESSED
    assert await tally(events, purchase) == ("cancelled", 0, 0, 10)
    assert await told(events, update(order, "OrderDelivered")) is Outcome.PROCESSED
    assert await tally(events, purchase) == ("confirmed", 2, 0, 8)


async def test_a_replayed_or_overtaken_update_changes_nothing(peer: MakePeer) -> None:
    events, purchase, _, order = await held(peer)
    assert await told(events, update(order, "OrderReturned")) is Outcome.PROCESSED  # overtook the payment
    before, snapshot = await tally(events, purchase), events.view.snapshot()
    assert await told(events, update(order, "OrderDelivered", n=1)) is Outcome.PROCESSED
    assert await told(events, update(order, "OrderReturned", n=2)) is Outcome.PROCESSED
    changes = diff(snapshot, events.view.snapshot())
    assert set(changes) == {"inbox_activities"}, changes  # recorded as received, and nothing else moved
    assert await tally(events, purchase) == before == ("refunded", 0, 0, 10)


@pytest.mark.parametrize(
    ("forge", "refusal", "reason"),
    [
        (lambda o: update(o, "OrderDelivered", actor=STRANGER), Forbidden, "only the shop"),
        (lambda o: update({**o, "id": f"{SHOP}/orders/999"}, "OrderDelivered"), Forbidden, "not the one"),
        (lambda o: update(o, "Paid"), Malformed, "orderStatus must be one of"),
        (lambda o: update({**o, "type": "Note"}, "OrderDelivered"), Unprocessable, "orders only"),
        (lambda o: update({**o, "acceptedOffer": f"{SHOP_BASE}/x"}, "OrderDelivered"), Unprocessable, "no purchase"),
    ],
)
async def test_a_forged_or_wrong_update_is_refused_and_changes_nothing(
    peer: MakePeer, forge: Any, refusal: type[Exception], reason: str
) -> None:
    events, purchase, _, order = await held(peer)
    with Unchanged(events.view, settle=False), pytest.raises(refusal, match=reason):
        await told(events, forge(order))
    assert await tally(events, purchase) == ("held", 0, 2, 8)


async def test_an_update_before_its_accept_is_tried_later(peer: MakePeer) -> None:
    events, purchase, _, order = await held(peer, answered=False)
    with Unchanged(events.view, settle=False), pytest.raises(TryLater, match="not arrived yet"):
        await told(events, update(order, "OrderDelivered"))
    doc = await events.document(purchase)
    assert doc is not None and doc["state"] == "pending"
