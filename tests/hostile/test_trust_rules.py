"""The trust rules, each broken by an actor whose signature is good, so the rule is what refuses: its own status
and reason, and the store exactly as it was. Replays of accepted activities: 202 and no second effect."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from activities.ticket import ticket_documents
from activities.vocab import PUBLIC
from store.models import StoredObject
from tests.hostile.conftest import World
from tests.hostile.helpers import (
    Unchanged,
    Visitor,
    assert_refused,
    offer,
    purchase_state,
    schedule_event,
    serve_event,
    serve_post,
    wait_until,
)
from tests.support.actors import RemoteActor
from tests.support.databases import run_sync
from tests.support.processes import PeerProcess


def refused(world: World, peer: PeerProcess, actor: RemoteActor, activity: dict[str, Any], status: int, reason: str):
    with Unchanged(world.view(peer)):
        assert_refused(actor.post(world.http, peer.inbox, activity), status, reason)


def accepted(world: World, peer: PeerProcess, actor: RemoteActor, activity: dict[str, Any], outcome: str) -> None:
    response = actor.post(world.http, peer.inbox, activity)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == outcome, response.text


def welcome(world: World) -> str:
    return f"{world.blog.url}/posts/welcome"


def listed_events(world: World) -> list[dict[str, Any]]:
    """The events the blog lists on its welcome post."""
    return list(world.http.get(f"{welcome(world)}/status").json()["events"])


def list_on_the_post(world: World, event: str, decision: str = "list") -> None:
    """The blog's editor answers an event another server announced featuring the welcome post."""
    admin = Visitor(world.blog, "/login").login()
    try:
        response = admin.post("/posts/welcome/events/decide", event=event, decision=decision)
        assert response.status_code == 303, response.text[:300]
    finally:
        admin.close()


def main_calendar(world: World) -> str:
    return f"{world.events.url}/calendars/main"


def remote_event(actor: RemoteActor, slug: str, *, organizer: str | None = None, post: str | None = None, **kw: Any):
    doc: dict[str, Any] = {
        "id": actor.server.url(f"/events/{slug}"),
        "type": "Event",
        "name": kw.pop("name", f"Event {slug}"),
        "attributedTo": organizer or actor.id,
        "startTime": "2027-08-01T19:00:00+01:00",
        "url": actor.server.url(f"/events/{slug}"),
        **kw,
    }
    if post:
        doc["attachment"] = [{"type": "Link", "rel": "featured", "href": post}]
    return doc


# ------------------------------------------------------------------ Create, Update, Delete (the blog hears them)


def test_create_of_an_object_attributed_to_someone_else(world: World) -> None:
    event = remote_event(world.alice, "not-alices", organizer=world.bob.id, post=welcome(world))
    activity = world.alice.activity("Create", event, to=[PUBLIC])
    refused(world, world.blog, world.alice, activity, 403, "not attributed to the activity's actor")


def test_create_of_an_object_on_another_host(world: World) -> None:
    event = remote_event(world.alice, "elsewhere", post=welcome(world))
    event["id"] = world.other.url("/events/elsewhere")
    refused(world, world.blog, world.alice, world.alice.activity("Create", event), 403, "not on the actor's host")


def test_update_and_delete_of_the_blogs_own_post(world: World) -> None:
    post = {"id": welcome(world), "type": "Article", "attributedTo": world.alice.id, "content": "<p>mine now</p>"}
    refused(world, world.blog, world.alice, world.alice.activity("Update", post), 403, "not on the actor's host")
    refused(world, world.blog, world.alice, world.alice.activity("Delete", welcome(world)), 403, "actor's host")
    tombstone = {"id": welcome(world), "type": "Tombstone"}
    refused(world, world.blog, world.alice, world.alice.activity("Delete", tombstone), 403, "actor's host")


def test_update_and_delete_of_another_actors_object_on_the_same_host(world: World) -> None:
    """bob's event features the blog's post; alice, on bob's host, can neither rewrite nor delete it."""
    event = remote_event(world.bob, "bobs-gig", post=welcome(world), name="Bob's gig")
    accepted(world, world.blog, world.bob, world.bob.activity("Create", event, to=[PUBLIC]), "processed")
    assert [e for e in listed_events(world) if e["id"] == event["id"]] == []  # bob is not trusted: it waits
    list_on_the_post(world, event["id"])
    assert [e["name"] for e in listed_events(world) if e["id"] == event["id"]] == ["Bob's gig"]
    hijack = {**event, "attributedTo": world.alice.id, "name": "Alice's gig now"}
    refused(world, world.blog, world.alice, world.alice.activity("Update", hijack), 403, "another actor")
    refused(world, world.blog, world.alice, world.alice.activity("Delete", event["id"]), 403, "another actor")
    tombstone = {"id": event["id"], "type": "Tombstone"}
    refused(world, world.blog, world.alice, world.alice.activity("Delete", tombstone), 403, "another actor")
    assert [e["name"] for e in listed_events(world) if e["id"] == event["id"]] == ["Bob's gig"]
    # bob himself may
    accepted(world, world.blog, world.bob, world.bob.activity("Delete", event["id"]), "processed")
    assert [e for e in listed_events(world) if e["id"] == event["id"]] == []


def test_an_untrusted_event_waits_for_the_editor(world: World) -> None:
    """A stranger's event featuring our post is not on the post's public page until the editor lists it; a
    declined one never is, and the stranger can still withdraw a waiting one."""
    page = f"{welcome(world)}"
    listed = remote_event(world.carol, "carols-gig", post=welcome(world), name="Carol's gig")
    declined = remote_event(world.carol, "carols-other", post=welcome(world), name="Carol's other gig")
    withdrawn = remote_event(world.carol, "carols-third", post=welcome(world), name="Carol's third gig")
    for event in (listed, declined, withdrawn):
        accepted(world, world.blog, world.carol, world.carol.activity("Create", event, to=[PUBLIC]), "processed")
        assert event["id"] not in world.http.get(page).text
    assert not {listed["id"], declined["id"]} & {e["id"] for e in listed_events(world)}
    list_on_the_post(world, listed["id"])
    list_on_the_post(world, declined["id"], "decline")
    accepted(world, world.blog, world.carol, world.carol.activity("Delete", withdrawn["id"]), "processed")
    shown = {e["id"] for e in listed_events(world)}
    assert listed["id"] in shown and declined["id"] not in shown and withdrawn["id"] not in shown
    assert "Carol&#39;s gig" in world.http.get(page).text or "Carol's gig" in world.http.get(page).text


# ------------------------------------------------------------------ Add (the events peer hears it)


def test_add_of_a_post_the_sender_did_not_write(world: World) -> None:
    post = serve_post(world.alice, "bobs-post", author=world.bob.id)
    add = world.alice.activity("Add", post, target=main_calendar(world), to=[world.events.actor_id])
    refused(world, world.events, world.alice, add, 403, "not attributed to the activity's actor")


def test_add_of_a_post_on_another_host(world: World) -> None:
    post = serve_post(world.carol, "carols-post")
    add = world.alice.activity("Add", post, target=main_calendar(world))
    refused(world, world.events, world.alice, add, 403, "not on the actor's host")


def test_add_to_something_that_is_not_a_calendar(world: World) -> None:
    post = serve_post(world.alice, "alices-post")
    for target in (f"{world.events.url}/calendars/nope", world.remote.url("/calendars/main"), world.events.actor_id):
        add = world.alice.activity("Add", post, target=target)
        refused(world, world.events, world.alice, add, 422, "not a calendar")


def test_add_of_something_that_is_not_a_post(world: World) -> None:
    world.alice.server.serve_json("/notes/person", {"id": world.remote.url("/notes/person"), "type": "Person"})
    add = world.alice.activity("Add", world.remote.url("/notes/person"), target=main_calendar(world))
    refused(world, world.events, world.alice, add, 422, "not a post")
    add = world.alice.activity("Add", world.remote.url("/posts/missing"), target=main_calendar(world))
    refused(world, world.events, world.alice, add, 422, "cannot fetch the post")


def test_replayed_add_changes_nothing(world: World) -> None:
    post = serve_post(world.alice, "replayed")
    add = world.alice.activity("Add", post, target=main_calendar(world), to=[world.events.actor_id])
    accepted(world, world.events, world.alice, add, "processed")  # alice is not trusted: pending for the admin
    with Unchanged(world.view(world.events)):
        accepted(world, world.events, world.alice, add, "duplicate")
        accepted(world, world.events, world.alice, add, "duplicate")


# ------------------------------------------------------------------ Accept / Reject (of what the events peer sent)


def new_offer(world: World, name: str, capacity: int = 5) -> tuple[dict[str, Any], str]:
    """An Offer the events peer really sent to its (stand-in) shop for a ticket bought on its page, and the
    buyer's purchase token."""
    event = schedule_event(world.http, world.events, name=name, capacity=capacity)
    visitor = Visitor(world.events)
    token = visitor.buy(event)
    visitor.close()
    inbox = world.fake_shop.server

    def offers() -> list[Any]:
        return [
            doc
            for doc in (r.json() for r in inbox.posts("/inbox"))
            if doc.get("type") == "Offer" and doc["object"]["orderedItem"] == event
        ]

    (offer_doc,) = wait_until(offers, what="the events peer's Offer")
    return offer_doc, token


def sent_offer(world: World) -> dict[str, Any]:
    """The module's pending Offer (made once)."""
    if "offer" not in world.cache:
        world.cache["offer"], world.cache["token"] = new_offer(world, "Trust gig")
    return dict(world.cache["offer"])


def order_for(world: World, offer_doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    order = {
        "id": world.fake_shop.server.url("/orders/77"),
        "type": "Order",
        "orderNumber": "77",
        "orderStatus": "OrderDelivered",
        "orderedItem": offer_doc["object"]["orderedItem"],
        "quantity": offer_doc["object"]["quantity"],
        "price": "12.00",
        "priceCurrency": "GBP",
    }
    order.update(changes)
    order.setdefault(
        "tickets",
        ticket_documents(order["id"], "77", order["orderedItem"], world.fake_shop.id, int(order["quantity"])),
    )
    return order


@pytest.mark.parametrize("kind", ["Accept", "Reject"])
def test_answer_to_an_activity_we_never_sent(world: World, kind: str) -> None:
    for answered in (world.remote.url("/activities/made-up"), f"{world.events.url}/activities/never-sent"):
        answer = world.fake_shop.activity(kind, answered, to=[world.events.actor_id])
        refused(world, world.events, world.fake_shop, answer, 403, "did not send")


@pytest.mark.parametrize("kind", ["Accept", "Reject"])
def test_answer_from_an_actor_the_offer_was_not_sent_to(world: World, kind: str) -> None:
    sent = sent_offer(world)
    answer = world.alice.activity(kind, sent["id"], to=[world.events.actor_id], result=order_for(world, sent))
    refused(world, world.events, world.alice, answer, 403, "not sent to")


def test_accept_whose_order_does_not_match_the_offer(world: World) -> None:
    sent = sent_offer(world)
    for order, status, reason in [
        (order_for(world, sent, orderedItem=world.remote.url("/events/other")), 422, "does not match the offer"),
        (order_for(world, sent, quantity=5), 422, "does not match the offer"),
        (order_for(world, sent, id=world.other.url("/orders/77")), 403, "not on the shop's host"),
        ("not an order", 400, "carries the order"),
        ({**order_for(world, sent), "type": "Note"}, 400, "carries the order"),
    ]:
        answer = world.fake_shop.activity("Accept", sent["id"], to=[world.events.actor_id], result=order)
        refused(world, world.events, world.fake_shop, answer, status, reason)
    assert purchase_state(world.http, world.events, world.cache["token"])["state"] == "pending"


def test_accept_of_our_public_create_from_someone_not_addressed(world: World) -> None:
    event = schedule_event(world.http, world.events, name="Announced")
    creates = world.view(world.events).rows(StoredObject, StoredObject.type == "Create")
    (create,) = [row.id for row in creates if row.data["object"]["id"] == event]
    answer = world.fake_shop.activity("Accept", create, to=[world.events.actor_id])
    refused(world, world.events, world.fake_shop, answer, 403, "not sent to")


def test_confirmation_then_its_replay(world: World) -> None:
    sent = sent_offer(world)
    answer = world.fake_shop.activity("Accept", sent["id"], to=[world.events.actor_id], result=order_for(world, sent))
    accepted(world, world.events, world.fake_shop, answer, "processed")
    assert purchase_state(world.http, world.events, world.cache["token"])["state"] == "confirmed"
    sold = f"{sent['object']['orderedItem']}/sold"
    assert world.http.get(sold, headers={"accept": "application/activity+json"}).json()["totalItems"] == 1
    with Unchanged(world.view(world.events)):
        accepted(world, world.events, world.fake_shop, answer, "duplicate")
    # a second Accept (new id) of the same offer confirms nothing more
    again = world.fake_shop.activity("Accept", sent["id"], to=[world.events.actor_id], result=order_for(world, sent))
    accepted(world, world.events, world.fake_shop, again, "processed")
    assert world.http.get(sold, headers={"accept": "application/activity+json"}).json()["totalItems"] == 1


def test_answers_racing_for_one_offer_make_one_sale(world: World) -> None:
    """Ten different Accepts of one offer at once (a confused shop): one ticket sold, the purchase confirmed once."""
    sent, token = new_offer(world, "Raced gig", capacity=50)
    event = sent["object"]["orderedItem"]

    async def race() -> list[int]:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            answers = [
                world.fake_shop.activity(
                    "Accept",
                    sent["id"],
                    to=[world.events.actor_id],
                    result=order_for(world, sent, id=world.fake_shop.server.url(f"/orders/raced-{n}")),
                )
                for n in range(10)
            ]
            responses = await asyncio.gather(*(world.fake_shop.apost(http, world.events.inbox, a) for a in answers))
            return [r.status_code for r in responses]

    assert set(run_sync(race())) == {202}
    assert purchase_state(world.http, world.events, token)["state"] == "confirmed"
    sold = world.http.get(f"{event}/sold", headers={"accept": "application/activity+json"}).json()["totalItems"]
    remaining = world.http.get(event, headers={"accept": "application/activity+json"}).json()
    assert (sold, remaining["remainingAttendeeCapacity"]) == (1, 49)


# ------------------------------------------------------------------ Offer (the shop hears it)


def test_offer_from_an_actor_the_shop_does_not_sell_for(world: World) -> None:
    event = serve_event(world.bob, "bobs-event")
    refused(world, world.shop, world.bob, offer(world.bob, world.shop, event), 403, "not an accepted seller")


def test_offer_for_an_event_the_sender_does_not_organize(world: World) -> None:
    event = serve_event(world.seller, "someone-elses", organizer=world.seller.server.url("/users/other"))
    refused(world, world.shop, world.seller, offer(world.seller, world.shop, event), 403, "does not organize")


def test_offer_for_an_event_on_another_host(world: World) -> None:
    event = serve_event(world.alice, "alices-event")
    refused(world, world.shop, world.seller, offer(world.seller, world.shop, event), 403, "not on the actor's host")


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        ({"price": "1.00"}, "price contradicts"),
        ({"price": 0}, "price contradicts"),
        ({"price": "36.00", "quantity": 2}, "price contradicts"),  # neither the unit nor the total price
        ({"maximumAttendeeCapacity": 1000}, "capacity contradicts"),
    ],
)
def test_offer_that_contradicts_the_event(world: World, order: dict[str, Any], reason: str) -> None:
    event = serve_event(world.seller, "priced", capacity=10, price="12.00")
    refused(world, world.shop, world.seller, offer(world.seller, world.shop, event, **order), 422, reason)


def test_offer_for_something_that_is_not_an_event(world: World) -> None:
    post = serve_post(world.seller, "a-post")
    refused(world, world.shop, world.seller, offer(world.seller, world.shop, post), 422, "not an event")
    missing = world.seller.server.url("/events/cancelled")
    world.seller.server.serve_json("/events/cancelled", {"id": missing, "type": "Tombstone"})
    refused(world, world.shop, world.seller, offer(world.seller, world.shop, missing), 422, "not an event")


def test_offer_then_its_replay(world: World) -> None:
    event = serve_event(world.seller, "replayed-offer", capacity=3, price="5.00")
    sent = offer(world.seller, world.shop, event, price="5.00", maximumAttendeeCapacity=3)
    accepted(world, world.shop, world.seller, sent, "processed")
    answers = world.seller.server
    wait_until(lambda: [r for r in answers.posts("/inbox") if r.json().get("object") == sent["id"]], what="Accept")
    with Unchanged(world.view(world.shop)):
        accepted(world, world.shop, world.seller, sent, "duplicate")
    (answer,) = [r.json() for r in answers.posts("/inbox") if r.json().get("object") == sent["id"]]
    assert answer["type"] == "Accept" and answer["result"]["orderedItem"] == event
