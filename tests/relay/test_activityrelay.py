"""The events peer (a real process) subscribes to a real activityrelay on loopback through its admin page; a
second server follows the relay too; an event the peer publishes reaches that server as the relay's signed
Announce; after unsubscribing, the relay forgets the peer and announces nothing more of it. Forged answers to
the peer's relay Follow change nothing. Everything speaks https through a CA the test makes."""

from __future__ import annotations

import os
import random
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from activities.httpsig import load_public_key
from activities.vocab import PUBLIC
from inbox.directory import PublicKey
from store import Store
from store.models import Delivery, FanOut, InboxActivity, StoredObject
from tests.support.actors import RemoteActor, key_pair
from tests.support.admin import Admin, eventually
from tests.support.databases import query
from tests.support.events import event_activity
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess
from tests.support.relay import RelayProcess, installed
from tests.support.tls import LoopbackCA, TlsTerminator
from tests.support.verify import verify_post

pytestmark = [
    pytest.mark.federation,
    # Outside CI a machine without activityrelay skips, saying why; CI installs it, so there it must be.
    pytest.mark.skipif(
        not installed() and os.environ.get("CI") != "true",
        reason="activityrelay is not installed: run scripts/install-relay.sh",
    ),
]

AS2 = "application/activity+json"
_FOLLOW_FORM = re.compile(r'name="follow" value="([^"]+)"')


class RelayFollower(RemoteActor):
    """A server's instance actor, as a relay wants its followers: type Application, with NodeInfo."""

    def document(self) -> dict[str, Any]:
        return {**super().document(), "type": "Application"}


def serve_nodeinfo(server: FakeServer) -> None:
    rel = "http://nodeinfo.diaspora.software/ns/schema/2.0"
    server.serve_json(
        "/.well-known/nodeinfo", {"links": [{"rel": rel, "href": server.url("/nodeinfo/2.0")}]}, "application/json"
    )
    server.serve_json(
        "/nodeinfo/2.0",
        {
            "version": "2.0",
            "software": {"name": "testserver", "version": "1.0"},
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []},
            "openRegistrations": False,
            "usage": {"users": {"total": 1}},
            "metadata": {},
        },
        "application/json",
    )


@dataclass
class World:
    ca: LoopbackCA
    tls: ssl.SSLContext
    relay: RelayProcess
    events: PeerProcess
    admin: Admin
    follower_server: FakeServer
    follower: RelayFollower
    silent_relay: FakeServer  # an https relay that never answers: a Follow to it stays pending
    spare_ip: str  # one more address the CA's certificate names
    closers: list[Callable[[], None]]

    def http(self) -> httpx.Client:
        return httpx.Client(trust_env=False, timeout=15.0, verify=self.tls)


def healthy(url: str, tls: ssl.SSLContext) -> bool:
    try:
        with httpx.Client(trust_env=False, timeout=2.0, verify=tls) as client:
            return client.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def loopback_net() -> str:
    """A /24 of 127/8 of this run's own, so port 443 on its addresses is free."""
    return f"127.{random.randint(64, 250)}.{random.randint(1, 250)}"


@pytest.fixture
def world(
    tmp_path: Path, peer_process: Callable[..., PeerProcess], fake_server: Callable[[], FakeServer]
) -> Iterator[World]:
    if not installed():
        pytest.fail("activityrelay is not installed, and CI must run the relay tests: scripts/install-relay.sh failed")
    net = loopback_net()
    relay_ip, events_ip, follower_ip, silent_ip, blog_ip = (f"{net}.{n}" for n in (2, 3, 4, 5, 6))
    ca = LoopbackCA(tmp_path / "tls", [relay_ip, events_ip, follower_ip, silent_ip, blog_ip])
    closers: list[Callable[[], None]] = []
    try:
        relay = RelayProcess(tmp_path / "relay", relay_ip, ca.ca_file).start()
        closers.append(relay.stop)
        closers.append(TlsTerminator(ca, relay_ip, relay.port).close)

        events = peer_process(
            "events", base_url=f"https://{events_ip}", env={"SSL_CERT_FILE": str(ca.ca_file)}, start=False
        )
        closers.append(TlsTerminator(ca, events_ip, events.port).close)
        events.launch()
        tls = ca.client_context()
        eventually(lambda: healthy(f"{events.url}/healthz", tls), 30, what="the events peer")

        follower_server = FakeServer(netloc=follower_ip, scheme="https")
        closers.append(follower_server.close)
        closers.append(TlsTerminator(ca, follower_ip, follower_server.port).close)
        serve_nodeinfo(follower_server)
        follower = RelayFollower(follower_server, "instance", key_pair(41))

        silent_relay = FakeServer(netloc=silent_ip, scheme="https")
        closers.append(silent_relay.close)
        closers.append(TlsTerminator(ca, silent_ip, silent_relay.port).close)
        RelayFollower(silent_relay, "relay", key_pair(42))

        admin = Admin(events.url, events.admin_token)
        admin.client = httpx.Client(base_url=events.url, trust_env=False, timeout=15.0, verify=tls)
        admin.login()
        closers.append(admin.close)
        yield World(ca, tls, relay, events, admin, follower_server, follower, silent_relay, blog_ip, closers)
    finally:
        for close in reversed(closers):
            close()


def subscribe(world: World, url: str, style: str, admin: Admin | None = None) -> str:
    admin = admin or world.admin
    answer = admin.client.post(
        "/admin/relays/add", data={"csrf": admin.csrf("/admin/relays"), "relay": url, "style": style}
    )
    assert answer.status_code == 303, answer.text[:500]
    return httpx.URL(admin.base_url + answer.headers["location"]).params.get("m", "")


def relay_rows(world: World, admin: Admin | None = None) -> list[tuple[str, str]]:
    """(relay actor, state) of each subscription as the admin page shows it."""
    page = (admin or world.admin).client.get("/admin/relays").text
    return re.findall(
        r'<tr><td><a href="([^"]+)">[^<]*</a></td><td>[^<]*</td><td class="relay-state">([^<]+)</td>', page
    )


def follow_ids(world: World) -> list[str]:
    return _FOLLOW_FORM.findall(world.admin.client.get("/admin/relays").text)


def relay_followers(world: World) -> list[str]:
    with world.http() as http:
        return list(
            http.get(f"{world.relay.inbox.removesuffix('/inbox')}/followers", headers={"accept": AS2}).json()["items"]
        )


def announces(world: World) -> list[dict[str, Any]]:
    out = []
    for post in world.follower_server.posts():
        doc = post.json()
        if doc.get("type") == "Announce":
            out.append(doc)
    return out


def publish(world: World, name: str) -> str:
    with world.http() as http:
        answer = http.post(
            f"{world.events.url}/actor/outbox",
            json=event_activity(name=name),
            headers={"Authorization": f"Bearer {world.events.admin_token}"},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["object"])


def post_as(world: World, actor: RemoteActor, activity: dict[str, Any]) -> httpx.Response:
    with world.http() as http:
        return actor.post(http, world.events.inbox, activity)


@pytest.mark.parametrize("style", ["mastodon", "litepub"])
def test_an_event_reaches_the_relays_other_followers_until_unsubscribed(
    world: World, style: str, fake_server: Callable[[], FakeServer]
) -> None:
    message = subscribe(world, world.relay.inbox, style)
    assert message.startswith("Subscription sent to the relay"), message
    eventually(lambda: relay_rows(world) == [(world.relay.actor, "accepted")], 30, what="the relay's Accept")
    assert world.events.actor_id in relay_followers(world)
    followers_page = world.admin.client.get("/admin/followers").text
    assert f"{world.relay.actor}</a></td><td>we follow" not in followers_page  # a relay is no account we follow
    eventually(lambda: world.relay.actor in our_followers(world), 20, what="the relay's follow back")

    # A second server follows the relay, Mastodon's way.
    with world.http() as http:
        follow = world.follower.activity("Follow", PUBLIC, to=[world.relay.actor])
        assert world.follower.post(http, world.relay.inbox, follow).status_code == 202
    eventually(
        lambda: any(p.json().get("type") == "Accept" for p in world.follower_server.posts()),
        30,
        what="the relay's Accept of the second follower",
    )

    event = publish(world, "Relayed gig")
    eventually(lambda: [a for a in announces(world) if a["object"] == event], 30, what="the relay's Announce")
    [announce] = [a for a in announces(world) if a["object"] == event]
    assert announce["actor"] == world.relay.actor
    post = next(p for p in world.follower_server.posts() if p.json().get("id") == announce["id"])
    with world.http() as http:
        relay_doc = http.get(world.relay.actor, headers={"accept": AS2}).json()
    key = PublicKey(
        relay_doc["publicKey"]["id"], world.relay.actor, load_public_key(relay_doc["publicKey"]["publicKeyPem"])
    )
    verified = verify_post(world.follower_server, post, key)  # signed by the relay with its own key
    assert verified.key_id == key.key_id

    # An Update of the event goes to the relay too, which forwards it as it is, under its own signature.
    with world.http() as http:
        answer = http.post(
            f"{world.events.url}/actor/outbox",
            json={"type": "Update", "object": {"type": "Event", "id": event, "name": "Relayed gig, moved"}},
            headers={"Authorization": f"Bearer {world.events.admin_token}"},
        )
    assert answer.status_code == 201, answer.text

    def forwarded_update() -> list[Any]:
        return [
            p
            for p in world.follower_server.posts()
            if p.json().get("type") == "Update" and object_id(p.json().get("object")) == event
        ]

    [update] = eventually(forwarded_update, 30, what="the relay's forward of the Update")
    assert update.json()["actor"] == world.events.actor_id
    assert update.json()["object"]["name"] == "Relayed gig, moved"
    assert verify_post(world.follower_server, update, key).key_id == key.key_id

    # What the relay announces to the peer names another server's object: neither fetched nor stored.
    note = world.follower_server.url("/notes/1")
    world.follower_server.serve_json(
        "/notes/1",
        {"id": note, "type": "Note", "attributedTo": world.follower.id, "content": "not to be trusted", "to": [PUBLIC]},
    )
    with world.http() as http:
        create = world.follower.activity(
            "Create",
            {
                "id": note,
                "type": "Note",
                "attributedTo": world.follower.id,
                "content": "not to be trusted",
                "to": [PUBLIC],
            },
            to=[PUBLIC],
        )
        assert world.follower.post(http, world.relay.inbox, create).status_code == 202
    announced = eventually(lambda: inbox_row(world, "Announce"), 30, what="the relay's Announce at the peer")
    assert announced == (world.relay.actor, "ignored")
    assert world.follower_server.gets("/notes/1") == []
    assert create_of(world, note) is None and stored(world, note) is False

    # A forged answer from a stranger flips nothing: neither a Reject of the accepted subscription …
    stranger = RemoteActor(fake_server(), "stranger", key_pair(43))
    [follow_id] = follow_ids(world)
    forged = stranger.activity(
        "Reject",
        {"id": follow_id, "type": "Follow", "actor": world.events.actor_id, "object": world.relay.actor},
        to=[world.events.actor_id],
    )
    refused = post_as(world, stranger, forged)
    assert refused.status_code == 403, refused.text
    assert "not sent to" in refused.json()["error"]
    assert relay_rows(world) == [(world.relay.actor, "accepted")]

    # … nor an Accept of one still pending (a relay that never answers).
    silent = f"https://{world.silent_relay.netloc}/users/relay"
    assert subscribe(world, silent, style).startswith("Subscription sent")
    eventually(lambda: world.silent_relay.posts(), 20, what="the Follow at the silent relay")
    pending = next(fid for fid in follow_ids(world) if fid != follow_id)
    forged = stranger.activity(
        "Accept",
        {"id": pending, "type": "Follow", "actor": world.events.actor_id, "object": silent},
        to=[world.events.actor_id],
    )
    refused = post_as(world, stranger, forged)
    assert refused.status_code == 403, refused.text
    assert sorted(relay_rows(world)) == sorted([(world.relay.actor, "accepted"), (silent, "pending")])

    # Unsubscribe: the relay drops the peer, and announces nothing more of it.
    answer = world.admin.client.post(
        "/admin/relays/remove", data={"csrf": world.admin.csrf("/admin/relays"), "follow": follow_id}
    )
    assert answer.status_code == 303
    eventually(lambda: world.events.actor_id not in relay_followers(world), 30, what="the relay to drop the peer")
    assert (world.relay.actor, "unsubscribed") in relay_rows(world)
    assert world.relay.actor not in our_followers(world)  # its follow back ended with the subscription
    later = publish(world, "Unrelayed gig")
    eventually(lambda: later_create_recorded(world, later), 20, what="the second event's Create")
    assert world.relay.inbox not in delivered_inboxes(world, later)
    time.sleep(3.0)  # the relay pushes from a worker process: give a wrong Announce time to arrive
    assert [a for a in announces(world) if a["object"] == later] == []


def create_of(world: World, event: str) -> str | None:
    async def work(store: Store) -> str | None:
        async with store.read() as session:
            rows = await session.scalars(select(StoredObject).where(StoredObject.type == "Create"))
            return next((r.id for r in rows if object_id(r.data.get("object")) == event), None)

    return query(world.events.database_url, work)


def object_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def later_create_recorded(world: World, event: str) -> bool:
    return create_of(world, event) is not None


def delivered_inboxes(world: World, event: str) -> list[str]:
    """Where the events peer sends the Create of `event` (its fan-out done: every delivery row written)."""
    create = create_of(world, event)

    async def work(store: Store) -> list[str] | None:
        async with store.read() as session:
            fanout = await session.scalar(select(FanOut).where(FanOut.activity_id == create))
            if fanout is None or fanout.state != "done":
                return None
            return list(await session.scalars(select(Delivery.inbox).where(Delivery.activity_id == create)))

    found: list[list[str]] = []

    def done() -> bool:
        inboxes = query(world.events.database_url, work)
        if inboxes is not None:
            found.append(inboxes)
        return inboxes is not None

    eventually(done, 20, what="the second event's fan-out")
    return found[0]


def inbox_row(world: World, kind: str) -> tuple[str, str] | None:
    async def work(store: Store) -> tuple[str, str] | None:
        async with store.read() as session:
            row = await session.scalar(select(InboxActivity).where(InboxActivity.type == kind))
            return (row.actor, row.state) if row is not None else None

    return query(world.events.database_url, work)


def stored(world: World, object_id: str) -> bool:
    async def work(store: Store) -> bool:
        async with store.read() as session:
            return await session.get(StoredObject, object_id) is not None

    return query(world.events.database_url, work)


def our_followers(world: World) -> list[str]:
    with world.http() as http:
        collection = http.get(f"{world.events.url}/actor/followers", headers={"accept": AS2}).json()
        return list(http.get(collection["first"], headers={"accept": AS2}).json().get("orderedItems", []))


def test_a_relay_that_refuses_the_follow_shows_as_refused(
    world: World, peer_process: Callable[..., PeerProcess]
) -> None:
    """A relay that bans the software a peer runs answers its Follow with a Reject (activityrelay checks the
    follower's nodeinfo), and that moves the subscription to refused."""
    world.relay._cli("software", "ban", "rose-ash")
    banned = peer_process(
        "events", base_url=f"https://{world.spare_ip}", env={"SSL_CERT_FILE": str(world.ca.ca_file)}, start=False
    )
    world.closers.append(TlsTerminator(world.ca, world.spare_ip, banned.port).close)
    banned.launch()
    eventually(lambda: healthy(f"{banned.url}/healthz", world.tls), 30, what="the second events peer")
    admin = Admin(banned.url, banned.admin_token)
    admin.client = httpx.Client(base_url=banned.url, trust_env=False, timeout=15.0, verify=world.tls)
    world.closers.append(admin.close)
    admin.login()
    assert subscribe(world, world.relay.actor, "litepub", admin).startswith("Subscription sent")
    eventually(lambda: relay_rows(world, admin) == [(world.relay.actor, "refused")], 30, what="the relay's Reject")
    assert banned.actor_id not in relay_followers(world)
