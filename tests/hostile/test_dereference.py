"""Every id a peer mints dereferences for its audience (ActivityPub §3.2): public ones for anyone; addressed
ones for an addressee's signed GET and the minting peer's admin (bearer token), 404 for everyone else; objects
addressed to the followers for a follower's signed GET.

Walked through the real flows: a post and its Create, the blog's Add and the events peer's Accept of it, an
event and its Create, the Offer of a purchase, the shop's Accept and its Order, and the Accept of a Follow."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from activities.build import activity
from activities.httpsig import RequestSigner, load_private_key
from activities.identity import LocalActor
from outbox.record import emit
from store.models import ActorKey, InboxActivity
from tests.hostile.conftest import World
from tests.hostile.helpers import Visitor, c2s, offer, serve_event, wait_until
from tests.support.actors import RemoteActor
from tests.support.app import BASE, App, running_app
from tests.support.fanout import add_followers
from tests.support.processes import PeerProcess

AS2 = "application/activity+json"
Reader = dict[str, str]  # the headers a reader sends


def anonymous() -> Reader:
    return {"accept": AS2}


def signed_as(actor: RemoteActor | RequestSigner, url: str) -> Reader:
    signer = actor if isinstance(actor, RequestSigner) else actor.signer
    return signer.headers_for("GET", url, None, time.time(), accept=AS2)


def admin_of(peer: PeerProcess) -> Reader:
    return {"accept": AS2, "authorization": f"Bearer {peer.admin_token}"}


def peer_signer(world: World, peer: PeerProcess) -> RequestSigner:
    """The peer's own key, read from its store: the test signs as that peer would."""
    (key,) = world.view(peer).rows(ActorKey)
    return RequestSigner(f"{peer.actor_id}#main-key", load_private_key(key.private_pem))


def status(world: World, url: str, reader: Callable[[str], Reader] | Reader) -> int:
    headers = reader(url) if callable(reader) else reader
    return world.http.get(url, headers=headers).status_code


def assert_public(world: World, url: str) -> None:
    answer = world.http.get(url, headers=anonymous())
    assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text[:200]}"
    assert answer.json()["id"] == url


def assert_addressed(
    world: World, url: str, *, minted_by: PeerProcess, addressee: RemoteActor | RequestSigner, stranger: RemoteActor
) -> None:
    """Readable by the addressee's signed GET and by the minting peer's admin; 404 to anyone else."""
    answers = {
        "addressee": status(world, url, lambda u: signed_as(addressee, u)),
        "admin": status(world, url, admin_of(minted_by)),
        "anonymous": status(world, url, anonymous()),
        "stranger": status(world, url, lambda u: signed_as(stranger, u)),
        "wrong token": status(world, url, {"accept": AS2, "authorization": "Bearer not-the-token"}),
    }
    expected = {"addressee": 200, "admin": 200, "anonymous": 404, "stranger": 404, "wrong token": 404}
    assert answers == expected, f"{url}: {answers}"


def received(world: World, peer: PeerProcess, kind: str, answering: str) -> dict[str, Any]:
    """The activity of that type answering `answering` that the peer received."""

    def found() -> list[dict[str, Any]]:
        rows = world.view(peer).rows(InboxActivity, InboxActivity.type == kind)
        return [row.data for row in rows if row.data.get("object") == answering]

    (doc,) = wait_until(found, what=f"the {kind} of {answering}")
    return doc


def test_a_post_and_its_create(world: World) -> None:
    response = c2s(world.http, world.blog, {"type": "Create", "object": {"type": "Article", "name": "Ids"}})
    assert response.status_code == 201, response.text
    assert_public(world, response.headers["location"])
    post = response.json()["object"]
    assert_public(world, post)
    assert status(world, f"{post}/allocations", anonymous()) != 500


def test_the_add_of_an_allocation_and_the_accept_of_it(world: World) -> None:
    response = c2s(
        world.http,
        world.blog,
        {"type": "Add", "object": f"{world.blog.url}/posts/welcome", "target": f"{world.events.url}/calendars/main"},
    )
    assert response.status_code == 201, response.text
    add = response.headers["location"]
    assert "/activities/" in add
    events, blog = peer_signer(world, world.events), peer_signer(world, world.blog)
    assert_addressed(world, add, minted_by=world.blog, addressee=events, stranger=world.alice)
    accept = received(world, world.blog, "Accept", add)["id"]
    assert accept.startswith(world.events.url)
    assert_addressed(world, accept, minted_by=world.events, addressee=blog, stranger=world.alice)


def test_an_event_its_create_and_the_offer_of_a_purchase(world: World) -> None:
    response = c2s(world.http, world.events, _event("Ids gig"))
    assert response.status_code == 201, response.text
    assert_public(world, response.headers["location"])
    event = response.json()["object"]
    assert_public(world, event)
    assert_public(world, f"{event}/sold")
    visitor = Visitor(world.events)
    visitor.buy(event)
    visitor.close()

    def offers() -> list[dict[str, Any]]:
        docs = (r.json() for r in world.fake_shop.server.posts("/inbox"))
        return [d for d in docs if d.get("type") == "Offer" and d["object"]["orderedItem"] == event]

    (sent,) = wait_until(offers, what="the events peer's Offer")
    assert_addressed(world, sent["id"], minted_by=world.events, addressee=world.fake_shop, stranger=world.alice)


def test_the_shops_accept_and_its_order(world: World) -> None:
    event = serve_event(world.seller, "ids-gig", capacity=3, price="5.00")
    sent = offer(world.seller, world.shop, event, price="5.00", maximumAttendeeCapacity=3)
    assert world.seller.post(world.http, world.shop.inbox, sent).status_code == 202

    def answers() -> list[dict[str, Any]]:
        docs = (r.json() for r in world.seller.server.posts("/inbox"))
        return [d for d in docs if d.get("object") == sent["id"]]

    (answer,) = wait_until(answers, what="the shop's Accept")
    assert answer["type"] == "Accept", answer
    assert_addressed(world, answer["id"], minted_by=world.shop, addressee=world.seller, stranger=world.alice)
    order = answer["result"]["id"]
    assert_addressed(world, order, minted_by=world.shop, addressee=world.seller, stranger=world.alice)


def test_the_accept_of_a_follow(world: World) -> None:
    follow = world.bob.activity("Follow", world.events.actor_id)
    assert world.bob.post(world.http, world.events.inbox, follow).status_code == 202

    def accepts() -> list[dict[str, Any]]:
        docs = (r.json() for r in world.remote.posts())
        return [d for d in docs if d.get("type") == "Accept" and _id(d.get("object")) == follow["id"]]

    (accept,) = wait_until(accepts, what="the Accept of bob's Follow")
    assert_addressed(world, accept["id"], minted_by=world.events, addressee=world.bob, stranger=world.carol)


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _event(name: str) -> dict[str, Any]:
    from tests.support.events import event_activity

    return event_activity(name=name, capacity=5)


# ---------------------------------------------------------------- followers-only objects

ME = LocalActor("blog", BASE)


@pytest.fixture
async def peer(database_url: str) -> AsyncIterator[App]:
    async with running_app(database_url) as app:
        yield app


async def test_a_followers_only_object_is_read_by_followers(
    peer: App, remote_actor: Callable[..., RemoteActor]
) -> None:
    follower, stranger = remote_actor("follower"), remote_actor("stranger")
    await add_followers(peer.store, ME, [follower])
    note = {"id": f"{BASE}/notes/for-followers", "type": "Note", "content": "hi", "attributedTo": ME.id}
    doc = activity("Create", ME.new_activity_id(), ME.id, note, to=[ME.followers])
    async with peer.store.write() as session:
        await emit(session, ME, doc, time.time())

    async def answer(headers: Reader) -> httpx.Response:
        return await peer.client.get(doc["id"].removeprefix(BASE), headers=headers)

    read = await answer(signed_as(follower, doc["id"]))
    assert read.status_code == 200 and read.json()["id"] == doc["id"]
    assert (await answer(signed_as(stranger, doc["id"]))).status_code == 404
    assert (await answer(anonymous())).status_code == 404
    from tests.support.processes import ADMIN_TOKEN

    assert (await answer({"accept": AS2, "authorization": f"Bearer {ADMIN_TOKEN}"})).status_code == 200
    outbox = (await peer.client.get("/actor/outbox", headers=anonymous())).json()
    assert outbox["totalItems"] == 0  # never listed publicly
