"""The shop's checked copies of its sellers' events (actors/shop/event_copies.py): Offers for one event share one
signed GET while the copy is fresh, and concurrent ones share the GET in flight; a copy past its freshness is
fetched again; the seller's Update replaces it at once (a raised capacity sells at once), an Update from anyone
else changes nothing, and the seller's Delete drops it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from actors.shop.event_copies import EventCopies
from actors.shop.listeners import on_event_deleted, on_event_updated, on_offer
from inbox.dispatch import Outcome
from tests.actors.conftest import MakePeer
from tests.actors.test_shop_offers import SHOP, event_fetches, offer, seller_and_shop
from tests.hostile.helpers import serve_event
from tests.support.actors import RemoteActor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_offers_share_one_fetch_while_the_copy_is_fresh(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    event = serve_event(seller, "gig", capacity=10)
    clock = Clock()
    copies = EventCopies(fresh_seconds=5.0, clock=clock)
    await asyncio.gather(*(on_offer(shop.context(offer(seller, event)), copies=copies) for _ in range(3)))
    assert event_fetches(seller.server) == ["/events/gig"]  # three Offers at once, one GET
    clock.now = 4.9
    assert await on_offer(shop.context(offer(seller, event)), copies=copies) is Outcome.PROCESSED
    assert event_fetches(seller.server) == ["/events/gig"]
    clock.now = 5.0
    assert await on_offer(shop.context(offer(seller, event)), copies=copies) is Outcome.PROCESSED
    assert event_fetches(seller.server) == ["/events/gig", "/events/gig"]  # stale: the shop reads it again
    assert len(await shop.emitted("Accept")) == 5


async def test_the_sellers_update_replaces_the_copy_and_nobody_elses_does(
    peer: MakePeer, remote_actor: Callable[..., RemoteActor]
) -> None:
    seller, shop = await seller_and_shop(peer, remote_actor)
    event = serve_event(seller, "gig", capacity=1)
    copies = EventCopies(fresh_seconds=3600.0)
    await on_offer(shop.context(offer(seller, event)), copies=copies)
    await on_offer(shop.context(offer(seller, event)), copies=copies)
    [rejected] = await shop.emitted("Reject")
    assert rejected["summary"] == "sold out"
    raised = {
        "id": event,
        "type": "Event",
        "name": "Remote gig",
        "attributedTo": seller.id,
        "startTime": "2027-07-01T19:00:00+01:00",
        "maximumAttendeeCapacity": 2,
        "price": "12.00",
        "priceCurrency": "GBP",
    }
    stranger = remote_actor("stranger")
    forged = stranger.activity("Update", {**raised, "maximumAttendeeCapacity": 500}, to=[SHOP])
    assert await on_event_updated(shop.context(forged), copies=copies) is Outcome.IGNORED
    update = seller.activity("Update", raised, to=[SHOP])
    assert await on_event_updated(shop.context(update), copies=copies) is Outcome.PROCESSED
    await on_offer(shop.context(offer(seller, event)), copies=copies)
    assert len(await shop.emitted("Accept")) == 2  # the raised capacity sold at once
    assert event_fetches(seller.server) == ["/events/gig"]  # from the Update, without a GET
    delete = seller.activity("Delete", event, to=[SHOP])
    assert await on_event_deleted(shop.context(delete), copies=copies) is Outcome.PROCESSED
    await on_offer(shop.context(offer(seller, event)), copies=copies)
    assert event_fetches(seller.server) == ["/events/gig", "/events/gig"]  # the copy went with the Delete
