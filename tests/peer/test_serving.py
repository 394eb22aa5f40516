"""What a peer serves to the fediverse: WebFinger, host-meta, NodeInfo, the actor document as Mastodon
reads it, paged collections, objects by content negotiation, and private objects behind signed GETs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from activities.build import activity
from activities.identity import LocalActor
from activities.vocab import PUBLIC
from outbox.record import emit
from tests.support.actors import RemoteActor
from tests.support.app import BASE, App, running_app
from tests.support.fanout import add_followers

AS2 = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ME = LocalActor("blog", BASE)


@pytest.fixture
async def peer(database_url: str) -> AsyncIterator[App]:
    async with running_app(database_url) as app:
        yield app


async def test_webfinger(peer: App) -> None:
    answer = await peer.client.get("/.well-known/webfinger", params={"resource": "acct:blog@peer.test"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/jrd+json")
    jrd = answer.json()
    assert jrd["subject"] == "acct:blog@peer.test"
    (self_link,) = [link for link in jrd["links"] if link["rel"] == "self"]
    assert self_link == {"rel": "self", "type": AS2, "href": ME.id}
    by_url = await peer.client.get("/.well-known/webfinger", params={"resource": ME.id})
    assert by_url.json()["subject"] == "acct:blog@peer.test"
    assert (
        await peer.client.get("/.well-known/webfinger", params={"resource": "acct:nobody@peer.test"})
    ).status_code == 404
    assert (await peer.client.get("/.well-known/webfinger")).status_code == 400


async def test_host_meta_and_nodeinfo(peer: App) -> None:
    host_meta = await peer.client.get("/.well-known/host-meta")
    assert f'template="{BASE}/.well-known/webfinger?resource={{uri}}"' in host_meta.text
    links = (await peer.client.get("/.well-known/nodeinfo")).json()["links"]
    assert links == [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{BASE}/nodeinfo/2.1"}]
    info = (await peer.client.get("/nodeinfo/2.1")).json()
    assert info["version"] == "2.1" and info["software"]["name"] == "rose-ash"
    assert info["protocols"] == ["activitypub"]


@pytest.mark.parametrize("accept", [AS2, LD])
async def test_actor_document_has_what_mastodon_reads(peer: App, accept: str) -> None:
    answer = await peer.client.get("/actor", headers={"accept": accept})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(AS2)
    doc = answer.json()
    assert "https://www.w3.org/ns/activitystreams" in doc["@context"]
    assert doc["id"] == ME.id and doc["type"] in ("Service", "Application", "Person", "Organization", "Group")
    assert doc["preferredUsername"] == "blog" and doc["name"]
    assert (doc["inbox"], doc["outbox"]) == (ME.inbox, ME.outbox)
    assert (doc["followers"], doc["following"]) == (ME.followers, ME.following)
    assert doc["endpoints"]["sharedInbox"] == f"{BASE}/inbox"
    assert doc["url"] == f"{BASE}/"
    assert doc["manuallyApprovesFollowers"] is False
    key = doc["publicKey"]
    assert key["id"] == ME.key_id and key["owner"] == ME.id
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")


async def test_actor_url_sends_browsers_to_the_home_page(peer: App) -> None:
    answer = await peer.client.get("/actor", headers={"accept": "text/html"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


async def test_followers_collection_pages_with_total_items(peer: App, remote_actor: Callable[..., RemoteActor]) -> None:
    alice = remote_actor("alice")
    followers = [RemoteActor(alice.server, f"f{i}", alice.key) for i in range(45)]
    await add_followers(peer.store, ME, followers)
    headers = {"accept": AS2}
    top = (await peer.client.get("/actor/followers", headers=headers)).json()
    assert top["type"] == "OrderedCollection" and top["totalItems"] == 45
    assert "orderedItems" not in top

    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    url: str | None = top["first"]
    while url:
        page = (await peer.client.get(url, headers=headers)).json()
        assert page["type"] == "OrderedCollectionPage" and page["partOf"] == ME.followers
        assert page["totalItems"] == 45
        pages.append(page)
        seen += page["orderedItems"]
        url = page.get("next")
    assert seen == [f.id for f in reversed(followers)]  # newest first, each once
    assert [len(p["orderedItems"]) for p in pages] == [20, 20, 5]
    assert "prev" not in pages[0] and "prev" in pages[1]
    back = (await peer.client.get(pages[2]["prev"], headers=headers)).json()
    assert back["orderedItems"] == pages[1]["orderedItems"]
    assert (await peer.client.get("/actor/followers?before=abc", headers=headers)).status_code == 400
    html = await peer.client.get("/actor/followers", headers={"accept": "text/html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")


async def emitted(peer: App, doc: dict[str, Any]) -> dict[str, Any]:
    async with peer.store.write() as session:
        await emit(session, ME, doc, time.time())
    return doc


async def test_public_activity_is_served_and_listed_in_the_outbox(
    peer: App, remote_actor: Callable[..., RemoteActor]
) -> None:
    secret = remote_actor("secret")
    note = {"id": f"{BASE}/notes/1", "type": "Note", "content": "hi", "attributedTo": ME.id}
    doc = await emitted(
        peer, activity("Create", ME.new_activity_id(), ME.id, note, to=[PUBLIC], cc=[ME.followers], bcc=[secret.id])
    )
    path = doc["id"].removeprefix(BASE)
    served = await peer.client.get(path, headers={"accept": AS2})
    assert served.status_code == 200 and served.headers["content-type"].startswith(AS2)
    assert served.json()["id"] == doc["id"] and "bcc" not in served.json()
    page = await peer.client.get(path, headers={"accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")

    outbox = (await peer.client.get("/actor/outbox", headers={"accept": AS2})).json()
    assert outbox["totalItems"] == 1
    first = (await peer.client.get(outbox["first"], headers={"accept": AS2})).json()
    (item,) = first["orderedItems"]
    assert item["id"] == doc["id"] and item["object"]["content"] == "hi" and "bcc" not in item
    assert (await peer.client.get("/no/such/thing", headers={"accept": AS2})).status_code == 404


async def test_private_activity_needs_a_signed_get_by_a_recipient(
    peer: App, remote_actor: Callable[..., RemoteActor]
) -> None:
    alice, mallory = remote_actor("alice"), remote_actor("mallory")
    doc = await emitted(peer, activity("Offer", ME.new_activity_id(), ME.id, {"type": "Order"}, to=[alice.id]))
    url = doc["id"]
    path = url.removeprefix(BASE)

    def signed_by(actor: RemoteActor) -> dict[str, str]:
        return actor.signer.headers_for("GET", url, None, time.time(), accept=AS2)

    assert (await peer.client.get(path, headers={"accept": AS2})).status_code == 404  # unsigned: not there
    assert (await peer.client.get(path, headers=signed_by(mallory))).status_code == 404  # not a recipient
    answer = await peer.client.get(path, headers=signed_by(alice))
    assert answer.status_code == 200 and answer.json()["id"] == url
    forged = alice.cavage_headers("GET", url, None, key=mallory.key.private_key)  # alice's key id, mallory's key
    assert (await peer.client.get(path, headers={**forged, "accept": AS2})).status_code == 401
    outbox = (await peer.client.get("/actor/outbox", headers={"accept": AS2})).json()
    assert outbox["totalItems"] == 0  # never listed publicly
