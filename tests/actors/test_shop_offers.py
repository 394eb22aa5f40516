"""The shop's inbox rule for `Offer{Order}` (actors/shop/listeners.py on_offer), called with the context the
inbox builds: only a trusted seller, only for an event it organizes (fetched by the shop itself from a real
loopback server), and only when the offer does not contradict that event. A refusal leaves the store as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from actors.shop.listeners import on_offer
from actors.shop.orders import event_held_id, event_tickets_id, orders_id
from inbox.dispatch import DuplicateActivity, Outcome
from inbox.errors import Forbidden, Malformed, TryLater, Unprocessable
from tests.actors.conftest import MakePeer
from tests.actors.helpers import Peer
from tests.hostile.helpers import Unchanged, serve_event
from tests.support.actors import RemoteActor
from tests.support.httpserver import FakeServer, Reply

SHOP = "http://shop.test/actor"


def order(event: str, quantity: int = 1, **claims: Any) -> dict[str, Any]:
    return {
        "type": "Order",
        "orderedItem": event,
        "quantity": quantity,
        "customer": {"type": "Person", "name": "Ada", "email": "ada@example.org"},
        **claims,
    }


def offer(seller: RemoteActor, event: str, quantity: int = 1, **claims: Any) -> dict[str, Any]:
    return seller.activity("Offer", order(event, quantity, **claims), to=[SHOP], target=SHOP)


async def seller_and_shop(peer: MakePeer, remote_actor: Callable[..., RemoteActor]) -> tuple[RemoteActor, Peer]:
    seller = remote_actor("calendar")
    return seller, await peer("shop", trusted={seller.id})


def event_fetches(server: FakeServer) -> list[str]:
    return [r.path for r in server.requests if r.method == "GET" and r.path.startswith("/events/")]


async def test_a_trusted_sellers_offer_becomes_an_order(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    event = serve_event(seller, "gig", capacity=10, price="12.00")
    doc = offer(seller, event, 2, price="24.00", maximumAttendeeCapacity=10)
    assert await on_offer(shop.context(doc)) is Outcome.PROCESSED
    assert await shop.inbox_state(doc["id"]) == "processed"
    [accept] = await shop.emitted("Accept")
    assert (accept["object"], accept["to"]) == (doc["id"], [seller.id])
    assert accept["result"]["quantity"] == 2 and accept["result"]["price"] == "24.00"
    assert await shop.fanout_to(accept["id"]) == [seller.id]
    assert accept["result"]["orderStatus"] == "OrderPaymentDue"  # priced: held while the buyer pays
    assert await shop.count(event_tickets_id(shop.services, event)) == 0
    tickets = await shop.collection(event_held_id(shop.services, event))
    order = accept["result"]["id"]
    assert (
        list(tickets) == [f"{order}/tickets/1", f"{order}/tickets/2"] == [t["id"] for t in accept["result"]["tickets"]]
    )
    assert {(data or {})["order"] for data in tickets.values()} == {order}
    codes = [t["ticketToken"] for t in accept["result"]["tickets"]]
    assert len(set(codes)) == 2 and all(len(c) >= 20 for c in codes)  # each its own unguessable code
    assert event_fetches(seller.server) == ["/events/gig"]  # the shop read the event itself


async def test_the_same_offer_twice_places_one_order(peer: MakePeer, remote_actor: Callable[..., RemoteActor]) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    event = serve_event(seller, "gig", capacity=10)
    doc = offer(seller, event)
    assert await on_offer(shop.context(doc)) is Outcome.PROCESSED
    with Unchanged(shop.view, settle=False), pytest.raises(DuplicateActivity):
        await on_offer(shop.context(doc))
    assert await shop.count(orders_id(shop.services)) == 1
    assert len(await shop.emitted("Accept")) == 1


async def test_an_untrusted_actor_is_refused_before_any_fetch(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    stranger = remote_actor("stranger", server=seller.server)
    event = serve_event(stranger, "gig")
    doc = offer(stranger, event)
    with Unchanged(shop.view, settle=False), pytest.raises(Forbidden, match="not an accepted seller"):
        await on_offer(shop.context(doc))
    assert event_fetches(seller.server) == []
    assert await shop.inbox_state(doc["id"]) is None  # not even recorded: it may come again once trusted


async def test_an_event_the_seller_does_not_organize_is_refused(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    someone = remote_actor("someone", server=seller.server)
    event = serve_event(seller, "theirs", organizer=someone.id)
    with Unchanged(shop.view, settle=False), pytest.raises(Forbidden, match="does not organize"):
        await on_offer(shop.context(offer(seller, event)))


async def test_an_event_on_another_host_is_refused(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor], fake_server: Callable[[], FakeServer]
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    elsewhere = remote_actor("elsewhere", server=fake_server())
    event = serve_event(elsewhere, "gig", organizer=seller.id)
    with Unchanged(shop.view, settle=False), pytest.raises(Forbidden, match="not on the actor's host"):
        await on_offer(shop.context(offer(seller, event)))
    assert event_fetches(elsewhere.server) == []


@pytest.mark.parametrize(
    ("quantity", "claims", "refusal", "reason"),
    [
        (1, {"maximumAttendeeCapacity": 500}, Unprocessable, "capacity contradicts"),
        (1, {"price": "0.01"}, Unprocessable, "price contradicts"),
        (3, {"price": "24.00"}, Unprocessable, "price contradicts"),  # neither one ticket's price nor three's
        (1, {"price": "twelve"}, Malformed, "not a number"),
        (11, {}, Malformed, "quantity"),
        (1, {"type": "Note"}, Malformed, "must be an Order"),
    ],
)
async def test_an_offer_contradicting_the_event_is_refused(
    peer: MakePeer,
    remote_actor: Callable[..., RemoteActor],
    quantity: int,
    claims: dict[str, Any],
    refusal: type[Exception],
    reason: str,
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    event = serve_event(seller, "gig", capacity=10, price="12.00")
    with Unchanged(shop.view, settle=False), pytest.raises(refusal, match=reason):
        await on_offer(shop.context(offer(seller, event, quantity, **claims)))


@pytest.mark.parametrize("price", ["12.00", "36.00", 36])
async def test_a_claimed_price_of_one_ticket_or_all_of_them_is_accepted(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor], price: str | int
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    event = serve_event(seller, "gig", capacity=10, price="12.00")
    assert await on_offer(shop.context(offer(seller, event, 3, price=price))) is Outcome.PROCESSED
    [accept] = await shop.emitted("Accept")
    assert accept["result"]["price"] == "36.00"  # the event's price, whatever was claimed


@pytest.mark.parametrize(
    ("document", "refusal", "reason"),
    [
        ({"type": "Note"}, Unprocessable, "not an event"),
        ({"maximumAttendeeCapacity": "ten"}, Unprocessable, "no usable capacity"),
        ({"maximumAttendeeCapacity": True}, Unprocessable, "no usable capacity"),
        ({"maximumAttendeeCapacity": -1}, Unprocessable, "no usable capacity"),
        ({"price": "free"}, Unprocessable, "no usable price"),
    ],
)
async def test_an_event_the_shop_cannot_sell_is_refused(
    peer: MakePeer,
    remote_actor: Callable[..., RemoteActor],
    document: dict[str, Any],
    refusal: type[Exception],
    reason: str,
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    event = serve_event(seller, "gig")
    served = json.loads(seller.server.documents["/events/gig"].body)
    seller.server.serve_json("/events/gig", {**served, **document})
    with Unchanged(shop.view, settle=False), pytest.raises(refusal, match=reason):
        await on_offer(shop.context(offer(seller, event)))


@pytest.mark.parametrize(("status", "refusal"), [(410, Unprocessable), (404, TryLater), (503, TryLater)])
async def test_an_event_the_shop_cannot_fetch(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor], status: int, refusal: type[Exception]
) -> None:
    """Gone for good (410) is a refusal; anything else may pass, so the sender should try again later."""
    seller, shop = await seller_and_shop(peer, remote_actor)
    seller.server.serve("/events/gig", Reply(status, {"content-type": "application/json"}, b"{}"))
    with Unchanged(shop.view, settle=False), pytest.raises(refusal):
        await on_offer(shop.context(offer(seller, seller.server.url("/events/gig"))))
    assert event_fetches(seller.server) == ["/events/gig"]
