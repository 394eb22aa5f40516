"""A ticket purchase on the events peer (actors/events/tickets.py, purchase_states.py, listeners.py
on_offer_answer): pending while its Offer waits, then confirmed by the shop's Accept (and the tickets counted
as sold) or rejected by its Reject; a settled purchase never moves again."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from activities.order import Customer
from activities.ticket import ticket_documents
from actors.events.listeners import on_offer_answer
from actors.events.purchase_states import PurchaseState
from actors.events.schedule import sold_of
from actors.events.tickets import PurchaseWaiters, buy, purchase_for_offer, purchase_id, update_purchase
from inbox.dispatch import Outcome
from inbox.errors import Forbidden, Malformed, Unprocessable
from store import objects
from store.lifecycle import IllegalTransition
from tests.actors.conftest import MakePeer
from tests.actors.helpers import Peer, scheduled_event
from tests.hostile.helpers import Unchanged, diff

SHOP_BASE = "http://shop.test"
SHOP = f"{SHOP_BASE}/actor"
_answers = itertools.count()


async def bought(peer: MakePeer, quantity: int = 2) -> tuple[Peer, str, dict[str, Any]]:
    """The events peer, an event with capacity 10, and a purchase of `quantity` tickets: (peer, purchase, offer)."""
    events = await peer("events", peers={"shop": SHOP_BASE})
    event = await scheduled_event(events, capacity=10)
    async with events.services.store.write() as session:
        row = await objects.get(session, event)
        assert row is not None
        token = await buy(session, events.services, row, quantity, Customer("Ada", "ada@example.org"))
    purchase = await events.document(purchase_id(events.services, token))
    assert purchase is not None and purchase["state"] == "pending"
    offer = await events.document(purchase["offer"])
    assert offer is not None
    return events, purchase["id"], offer


def accept(offer: dict[str, Any], **order: Any) -> dict[str, Any]:
    result = {
        "id": f"{SHOP}/orders/1000",
        "type": ["Object", "Order"],
        "orderNumber": "1000",
        "orderStatus": "OrderDelivered",
        "orderedItem": offer["object"]["orderedItem"],
        "quantity": offer["object"]["quantity"],
        "price": "24.00",
        "priceCurrency": "GBP",
        **order,
    }
    result.setdefault("tickets", tickets_of(result))
    return answer("Accept", offer, result=result)


def tickets_of(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The tickets a shop issues with an order (the same builder the shop uses)."""
    quantity = order["quantity"] if isinstance(order.get("quantity"), int) else 1
    return ticket_documents(order["id"], str(order["orderNumber"]), str(order["orderedItem"]), SHOP, quantity)


def answer(kind: str, offer: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": f"{SHOP}/activities/{next(_answers)}", "type": kind, "actor": SHOP, "object": offer["id"], **fields}


async def answered(events: Peer, doc: dict[str, Any], offer: dict[str, Any]) -> Outcome:
    """The shop's answer, as the inbox hands it on once it checked that it answers our offer."""
    ctx = events.context(doc)
    ctx.answered = offer
    return await on_offer_answer(ctx, waiters=PurchaseWaiters())


async def state(events: Peer, purchase: str) -> dict[str, Any]:
    doc = await events.document(purchase)
    assert doc is not None
    return doc


async def test_buying_sends_an_offer_to_the_shop(peer: MakePeer) -> None:
    events, purchase, offer = await bought(peer, 2)
    assert (offer["type"], offer["to"], offer["target"]) == ("Offer", [SHOP], SHOP)
    assert offer["object"]["quantity"] == 2 and offer["object"]["customer"]["email"] == "ada@example.org"
    assert await events.fanout_to(offer["id"]) == [SHOP]
    async with events.services.store.read() as session:
        row = await purchase_for_offer(session, events.services, offer["id"])
        assert row is not None and row.id == purchase


async def test_an_accept_confirms_the_purchase_and_counts_the_tickets(peer: MakePeer) -> None:
    events, purchase, offer = await bought(peer, 2)
    assert await answered(events, accept(offer), offer) is Outcome.PROCESSED
    settled = await state(events, purchase)
    assert settled["state"] == "confirmed"
    assert (settled["order"], settled["orderNumber"], settled["price"]) == (f"{SHOP}/orders/1000", "1000", "24.00")
    event = settled["event"]
    tickets = [f"{SHOP}/orders/1000/tickets/{n}" for n in (1, 2)]
    assert list(await events.collection(sold_of(event))) == tickets  # the shop's ticket ids, not counted ones
    assert [t["id"] for t in settled["tickets"]] == tickets and all(len(t["code"]) >= 20 for t in settled["tickets"])
    assert await events.count(sold_of(event)) == 2
    assert (await state(events, event))["remainingAttendeeCapacity"] == 8


async def test_a_settled_purchase_does_not_move_again(peer: MakePeer) -> None:
    events, purchase, offer = await bought(peer, 2)
    assert await answered(events, accept(offer), offer) is Outcome.PROCESSED
    before = events.view.snapshot()
    again = accept(offer, id=f"{SHOP}/orders/1001")
    late = answer("Reject", offer, summary="sold out")
    for doc in (again, late):
        assert await answered(events, doc, offer) is Outcome.PROCESSED
    changes = diff(before, events.view.snapshot())
    assert set(changes) == {"inbox_activities"}, changes  # recorded, and nothing else: no second sale
    assert (await state(events, purchase))["order"] == f"{SHOP}/orders/1000"
    assert await events.count(sold_of((await state(events, purchase))["event"])) == 2


async def test_a_reject_rejects_the_purchase_for_good(peer: MakePeer) -> None:
    events, purchase, offer = await bought(peer, 2)
    assert await answered(events, answer("Reject", offer, summary="only 1 ticket left"), offer) is Outcome.PROCESSED
    settled = await state(events, purchase)
    assert (settled["state"], settled["reason"]) == ("rejected", "only 1 ticket left")
    assert await answered(events, accept(offer), offer) is Outcome.PROCESSED
    assert (await state(events, purchase))["state"] == "rejected"
    assert await events.count(sold_of(settled["event"])) == 0


@pytest.mark.parametrize(
    ("change", "refusal", "reason"),
    [
        ({"quantity": 3}, Unprocessable, "does not match"),
        ({"orderedItem": "http://events.test/actor/events/other"}, Unprocessable, "does not match"),
        ({"id": "http://elsewhere.test/orders/1"}, Forbidden, "not on the shop's host"),
        ({"type": "Note"}, Malformed, "carries the Order"),
        ({"tickets": None}, Malformed, "must list its tickets"),
        ({"tickets": [{"id": f"{SHOP}/orders/1000/tickets/1", "ticketToken": "c" * 22}]}, Malformed, "1 tickets for"),
        (
            {"tickets": [{"id": f"{SHOP}/orders/1000/tickets/1", "ticketToken": "c" * 22}] * 2},
            Malformed,
            "same ticket twice",
        ),
        (
            {"tickets": [{"id": f"{SHOP}/orders/999/tickets/{n}", "ticketToken": "c" * 22} for n in (1, 2)]},
            Malformed,
            "under its order",
        ),
        (
            {"tickets": [{"id": f"{SHOP}/orders/1000/tickets/{n}", "ticketToken": "short"} for n in (1, 2)]},
            Malformed,
            "ticketToken",
        ),
    ],
)
async def test_an_accept_that_does_not_fit_the_offer_is_refused(
    peer: MakePeer, change: dict[str, Any], refusal: type[Exception], reason: str
) -> None:
    events, purchase, offer = await bought(peer, 2)
    with Unchanged(events.view, settle=False), pytest.raises(refusal, match=reason):
        await answered(events, accept(offer, **change), offer)
    assert (await state(events, purchase))["state"] == "pending"


async def test_an_answer_to_an_offer_without_a_purchase_is_refused(peer: MakePeer) -> None:
    events, _, offer = await bought(peer, 2)
    stray = {**offer, "id": "http://events.test/actor/activities/unknown"}
    with Unchanged(events.view, settle=False), pytest.raises(Unprocessable, match="no purchase"):
        await answered(events, accept(stray), stray)


@pytest.mark.parametrize(
    ("settle", "illegal"),
    [
        (PurchaseState.CONFIRMED, PurchaseState.PENDING),
        (PurchaseState.CONFIRMED, PurchaseState.REJECTED),
        (PurchaseState.CONFIRMED, PurchaseState.CONFIRMED),
        (PurchaseState.REJECTED, PurchaseState.CONFIRMED),
        (PurchaseState.REJECTED, PurchaseState.PENDING),
    ],
)
async def test_update_purchase_refuses_an_illegal_move(
    peer: MakePeer, settle: PurchaseState, illegal: PurchaseState
) -> None:
    events, purchase, _ = await bought(peer, 1)
    async with events.services.store.write() as session:
        row = await objects.get(session, purchase)
        assert row is not None
        update_purchase(row, events.services.clock(), settle)
    with Unchanged(events.view, settle=False):
        with pytest.raises(IllegalTransition) as refused:
            async with events.services.store.write() as session:
                row = await objects.get(session, purchase)
                assert row is not None
                held = dict(row.data)
                try:
                    update_purchase(row, events.services.clock(), illegal, order="http://shop.test/actor/orders/9")
                finally:
                    assert row.data == held  # nothing half-applied to the row either
        assert (refused.value.old, refused.value.new) == (settle.value, illegal)
    assert (await state(events, purchase))["state"] == settle.value
