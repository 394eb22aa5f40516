"""Door check-in on the events peer (actors/events/checkin.py), against the real store: a confirmed purchase's
ticket is admitted once and then "already used" (with the first time), a ticket of another event, an unknown code
and the tickets of held, cancelled or refunded purchases are refused, bad input is a sentence; none of those
change the store. Twenty check-ins of one code at once admit it once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from activities.order import Customer
from actors.events.checkin import Answer, Verdict, check_in, door_counts
from actors.events.listeners import on_offer_answer
from actors.events.order_updates import on_order_update
from actors.events.tickets import PurchaseWaiters, buy, purchase_id
from inbox.dispatch import Outcome
from store import objects
from store.models import StoredObject
from tests.actors.conftest import MakePeer
from tests.actors.helpers import START, Peer, scheduled_event
from tests.actors.test_events_purchases import SHOP, SHOP_BASE, accept
from tests.hostile.helpers import Unchanged


async def purchased(
    events: Peer, event: str, number: int, *, quantity: int = 2, status: str = "OrderDelivered"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A purchase of `quantity` tickets answered by the shop's Accept with order `number`: (order, tickets)."""
    async with events.services.store.write() as session:
        row = await objects.get(session, event)
        assert row is not None
        token = await buy(session, events.services, row, quantity, Customer("Ada", "ada@example.org"))
    purchase = await events.document(purchase_id(events.services, token))
    assert purchase is not None
    offer = await events.document(purchase["offer"])
    assert offer is not None
    fields: dict[str, Any] = {"id": f"{SHOP}/orders/{number}", "orderNumber": str(number), "orderStatus": status}
    if status == "OrderPaymentDue":
        fields |= {"acceptedOffer": offer["id"], "paymentDueDate": "2027-01-01"}
    accepted = accept(offer, **fields)
    ctx = events.context(accepted)
    ctx.answered = offer
    assert await on_offer_answer(ctx, waiters=PurchaseWaiters()) is Outcome.PROCESSED
    order = dict(accepted["result"])
    return order, list(order["tickets"])


async def event_row(events: Peer, event: str) -> StoredObject:
    async with events.services.store.read() as session:
        row = await objects.get(session, event)
    assert row is not None
    return row


async def door(events: Peer, event: str, code: object) -> Answer:
    return await check_in(events.services, await event_row(events, event), code, "page")


async def test_a_ticket_is_admitted_once_then_already_used_with_its_first_time(peer: MakePeer) -> None:
    events = await peer("events", peers={"shop": SHOP_BASE})
    event = await scheduled_event(events, capacity=10, price="0")
    _, tickets = await purchased(events, event, 1001)
    assert await door_counts(events.services, event) == (0, 2)

    first = await door(events, event, tickets[0]["ticketToken"])
    assert first.verdict is Verdict.ADMITTED and first.headline == "Valid — admitted"
    assert (first.number, first.name, first.ticket) == ("1001-1", "Ada", tickets[0]["id"])
    assert first.at is not None and first.at > START

    with Unchanged(events.view, settle=False):
        again = await door(events, event, f"  {tickets[0]['ticketToken']}\n")  # a scanner's trailing newline
    assert again.verdict is Verdict.USED and again.at == first.at
    assert "first checked in at" in again.detail and again.json()["checkedInAt"]
    assert await door_counts(events.services, event) == (1, 2)

    second = await door(events, event, tickets[1]["ticketToken"])
    assert second.verdict is Verdict.ADMITTED and second.number == "1001-2"
    assert await door_counts(events.services, event) == (2, 2)


async def test_another_events_ticket_an_unknown_code_and_bad_input_change_nothing(peer: MakePeer) -> None:
    events = await peer("events", peers={"shop": SHOP_BASE})
    event, other = await scheduled_event(events, price="0"), await scheduled_event(events, price="0")
    await purchased(events, event, 1001, quantity=1)
    _, theirs = await purchased(events, other, 1002, quantity=1)
    with Unchanged(events.view, settle=False):
        elsewhere = await door(events, event, theirs[0]["ticketToken"])
        assert elsewhere.verdict is Verdict.OTHER_EVENT and elsewhere.other_event == other
        assert "Gig" in elsewhere.detail
        unknown = await door(events, event, "A" * 22)
        assert unknown.verdict is Verdict.UNKNOWN and unknown.headline == "Unknown code"
        for bad, said in [
            ("", "Type or scan"),
            ("   ", "Type or scan"),
            (None, "Type or scan"),
            ("x" * 10_240, "10240 characters long"),
            ("<script>alert(1)</script>", "letters, digits"),
            ("short", "letters, digits"),
        ]:
            answer = await door(events, event, bad)
            assert answer.verdict is Verdict.INVALID and said in answer.detail, (bad, answer)
    assert await door_counts(events.services, event) == (0, 1)


@pytest.mark.parametrize("then", [None, "OrderCancelled"])
async def test_the_tickets_of_a_held_or_cancelled_purchase_are_not_admitted(peer: MakePeer, then: str | None) -> None:
    events = await peer("events", peers={"shop": SHOP_BASE})
    event = await scheduled_event(events, price="12.00")
    order, tickets = await purchased(events, event, 1001, status="OrderPaymentDue")
    if then is not None:
        update = {"id": f"{SHOP_BASE}/activities/u1", "type": "Update", "actor": SHOP, "object": {**order, "orderStatus": then}}
        assert await on_order_update(events.context(update), waiters=PurchaseWaiters()) is Outcome.PROCESSED
    with Unchanged(events.view, settle=False):
        answer = await door(events, event, tickets[0]["ticketToken"])
    assert answer.verdict is Verdict.REFUSED
    assert answer.headline == ("Not paid" if then is None else "Cancelled") and "do not admit" in answer.detail


async def test_a_refunded_purchases_tickets_are_refused_even_once_checked_in(peer: MakePeer) -> None:
    events = await peer("events", peers={"shop": SHOP_BASE})
    event = await scheduled_event(events, price="12.00")
    order, tickets = await purchased(events, event, 1001, status="OrderPaymentDue")
    for n, status in enumerate(["OrderDelivered", "OrderReturned"]):
        update = {"id": f"{SHOP_BASE}/activities/u{n}", "type": "Update", "actor": SHOP, "object": {**order, "orderStatus": status}}
        assert await on_order_update(events.context(update), waiters=PurchaseWaiters()) is Outcome.PROCESSED
    answer = await door(events, event, tickets[1]["ticketToken"])
    assert answer.verdict is Verdict.REFUSED and answer.headline == "Refunded"


async def test_twenty_check_ins_of_one_code_at_once_admit_it_once(peer: MakePeer) -> None:
    events = await peer("events", peers={"shop": SHOP_BASE})
    event = await scheduled_event(events, price="0")
    _, tickets = await purchased(events, event, 1001, quantity=1)
    row = await event_row(events, event)
    answers = await asyncio.gather(
        *(check_in(events.services, row, tickets[0]["ticketToken"], "device") for _ in range(20))
    )
    verdicts = [a.verdict for a in answers]
    assert verdicts.count(Verdict.ADMITTED) == 1 and verdicts.count(Verdict.USED) == 19, verdicts
    assert len({a.at for a in answers}) == 1  # every "already used" names the one admission's time
    assert await door_counts(events.services, event) == (1, 1)
