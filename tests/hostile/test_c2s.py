"""Client-to-server as ActivityPub §6 says: the Location is the new activity's id and dereferences; a bare
object is wrapped in a Create; the client's addressing is honoured or refused with the reason; a body that is
not AS2 gets 415; an array `object` is refused clearly; and `GET /actor/inbox` lists what was received, to
the admin only. Every refusal leaves the store as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest

from activities.vocab import PUBLIC
from tests.hostile.conftest import World
from tests.hostile.helpers import Unchanged, assert_refused, c2s
from tests.support.processes import PeerProcess

AS2 = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def bearer(peer: PeerProcess) -> dict[str, str]:
    return {"authorization": f"Bearer {peer.admin_token}"}


def post(world: World, peer: PeerProcess, body: Any, content_type: str = LD, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return world.http.post(
        f"{peer.url}/actor/outbox", content=data, headers={"content-type": content_type, **bearer(peer), **headers}
    )


def article(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "Article", "name": name, "content": "Some words.", **extra}


def fetch(world: World, url: str, **headers: str) -> Any:
    return world.http.get(url, headers={"accept": AS2, **headers})


def test_the_location_of_a_create_is_the_activity_and_dereferences(world: World) -> None:
    response = post(world, world.blog, {"type": "Create", "object": article("Located")})
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location == response.json()["id"] and "/activities/" in location, location
    created = fetch(world, location)
    assert created.status_code == 200, created.text
    doc = created.json()
    assert doc["id"] == location and doc["type"] == "Create" and doc["actor"] == world.blog.actor_id
    post_id = doc["object"]["id"] if isinstance(doc["object"], dict) else doc["object"]
    assert post_id == response.json()["object"]
    assert fetch(world, post_id).json()["name"] == "Located"


def test_the_location_of_an_event_create_is_the_activity(world: World) -> None:
    from tests.support.events import event_activity

    response = c2s(world.http, world.events, event_activity(name="Located gig"))
    assert response.status_code == 201, response.text
    doc = fetch(world, response.headers["location"]).json()
    assert doc["type"] == "Create" and doc["object"]["id"] == response.json()["object"]
    assert doc["object"]["name"] == "Located gig"


@pytest.mark.parametrize("content_type", [AS2, LD])
def test_a_bare_object_is_wrapped_in_a_create(world: World, content_type: str) -> None:
    response = post(world, world.blog, article("Bare", to=[PUBLIC]), content_type)
    assert response.status_code == 201, response.text
    doc = fetch(world, response.headers["location"]).json()
    assert doc["type"] == "Create" and doc["actor"] == world.blog.actor_id
    assert PUBLIC in doc["to"]
    assert doc["object"]["name"] == "Bare" and doc["object"]["id"] == response.json()["object"]


def test_addressing_the_kind_delivers_is_honoured(world: World) -> None:
    followers = f"{world.blog.actor_id}/followers"
    response = post(world, world.blog, {"type": "Create", "to": [PUBLIC], "cc": [followers], "object": article("Hi")})
    assert response.status_code == 201, response.text
    doc = fetch(world, response.headers["location"]).json()
    assert PUBLIC in doc["to"] and followers in doc["cc"]


@pytest.mark.parametrize(
    ("addressing", "reason"),
    [
        ({"to": ["FOLLOWERS"]}, "is always public: address it to Public too"),
        ({"to": [PUBLIC], "cc": ["https://elsewhere.example/users/zed"]}, "cannot be addressed to https://elsewhere"),
        ({"to": [PUBLIC], "bcc": ["https://elsewhere.example/users/zed"]}, "cannot be addressed to https://elsewhere"),
        ({"to": [PUBLIC], "bto": ["FOLLOWERS"]}, "addressed blind (bto/bcc)"),
        ({"audience": ["https://elsewhere.example/groups/g"]}, "cannot be addressed to https://elsewhere"),
    ],
)
def test_addressing_the_kind_cannot_honour_is_refused(world: World, addressing: dict[str, Any], reason: str) -> None:
    followers = f"{world.blog.actor_id}/followers"
    fields = {k: [followers if a == "FOLLOWERS" else a for a in v] for k, v in addressing.items()}
    with Unchanged(world.view(world.blog)):
        assert_refused(post(world, world.blog, {"type": "Create", "object": article("Nope"), **fields}), 422, reason)
        assert_refused(post(world, world.blog, article("Nope", **fields)), 422, reason)


def test_an_add_addressed_elsewhere_than_the_calendar_is_refused(world: World) -> None:
    calendar = f"{world.events.url}/calendars/main"
    add = {"type": "Add", "object": f"{world.blog.url}/posts/welcome", "target": calendar, "to": [PUBLIC]}
    with Unchanged(world.view(world.blog)):
        assert_refused(post(world, world.blog, add), 422, "cannot be addressed to")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "", "text/html"])
def test_the_outbox_refuses_a_body_that_is_not_as2(world: World, content_type: str) -> None:
    body = json.dumps({"type": "Create", "object": article("Typed")}).encode()
    with Unchanged(world.view(world.blog)):
        assert_refused(post(world, world.blog, body, content_type), 415, "application/ld+json")


def test_an_array_object_is_refused_clearly(world: World) -> None:
    two = {"type": "Create", "object": [article("One"), article("Two")]}
    with Unchanged(world.view(world.blog)):
        assert_refused(post(world, world.blog, two), 422, "one object per activity")
        delete = {"type": "Delete", "object": [f"{world.blog.url}/posts/welcome"]}
        assert_refused(post(world, world.blog, delete), 422, "one object per activity")


def test_another_actor_cannot_be_posted_as(world: World) -> None:
    with Unchanged(world.view(world.blog)):
        as_alice = {"type": "Create", "actor": world.alice.id, "object": article("Forged")}
        assert_refused(post(world, world.blog, as_alice), 403, "posts only as")


def test_the_admin_lists_the_inbox_page_by_page(world: World) -> None:
    peer = world.events
    sent = [world.alice.activity("Like", f"{peer.url}/calendars/main") for _ in range(23)]
    for activity in sent:
        assert world.alice.post(world.http, peer.inbox, activity).status_code == 202
    collection = fetch(world, peer.inbox, **bearer(peer))
    assert collection.status_code == 200, collection.text
    assert collection.headers["content-type"].startswith(AS2)
    doc = collection.json()
    assert doc["type"] == "OrderedCollection" and doc["id"] == peer.inbox and doc["totalItems"] >= 23 + 5
    seen: list[str] = []
    url: str | None = doc["first"]
    while url:
        page = fetch(world, url, **bearer(peer)).json()
        assert page["type"] == "OrderedCollectionPage" and page["partOf"] == peer.inbox
        seen += [item["id"] if isinstance(item, dict) else item for item in page["orderedItems"]]
        url = page.get("next")
    assert len(seen) == len(set(seen)) == doc["totalItems"]
    assert seen[: len(sent)] == [a["id"] for a in reversed(sent)], "newest first"
    second = fetch(world, doc["first"], **bearer(peer)).json()["next"]
    back = fetch(world, fetch(world, second, **bearer(peer)).json()["prev"], **bearer(peer)).json()
    assert [i["id"] for i in back["orderedItems"]] == seen[:20]


def test_the_inbox_is_listed_to_nobody_else(world: World) -> None:
    peer = world.events
    nobody = fetch(world, peer.inbox)
    assert_refused(nobody, 401, "only to this peer's admin")
    assert nobody.headers["www-authenticate"].startswith("Bearer")
    assert_refused(fetch(world, peer.inbox, authorization="Bearer wrong-token"), 403, "only this peer's admin")
    assert_refused(fetch(world, f"{peer.inbox}?page=true", authorization="Bearer x"), 403, "only this peer's admin")
    signed = world.alice.cavage_headers("GET", peer.inbox, None)
    assert_refused(world.http.get(peer.inbox, headers={"accept": AS2, **signed}), 401, "only to this peer's admin")


def test_an_inbox_activity_with_an_array_object(world: World) -> None:
    posts = [f"{world.blog.url}/posts/welcome", f"{world.blog.url}/posts/other"]
    with Unchanged(world.view(world.blog)):
        two = world.alice.activity("Like", posts)
        assert_refused(world.alice.post(world.http, world.blog.inbox, two), 400, "lists 2 items: this peer takes one")
    one = world.alice.activity("Like", posts[:1])
    answer = world.alice.post(world.http, world.blog.inbox, one)
    assert answer.status_code == 202 and answer.json()["id"] == one["id"], answer.text


def test_garbage_in_the_inbox_listings_query_is_never_a_500(world: World) -> None:
    from tests.hostile.test_privacy import GARBAGE

    for param in ("before", "after", "page"):
        for value in GARBAGE:
            answer = world.http.get(world.events.inbox, params={param: value}, headers=bearer(world.events))
            assert answer.status_code < 500, (param, value, answer.status_code, answer.text[:300])
    for query in ("before=9223372036854775808", "after=-1", "before=١٢"):
        assert_refused(fetch(world, f"{world.events.inbox}?{query}", **bearer(world.events)), 400, "whole numbers")
    deepest = fetch(world, f"{world.events.inbox}?before=9223372036854775807", **bearer(world.events))
    assert deepest.status_code == 200 and deepest.json()["orderedItems"], deepest.text[:300]
    assert fetch(world, f"{world.events.inbox}?after=9223372036854775807", **bearer(world.events)).status_code == 200
