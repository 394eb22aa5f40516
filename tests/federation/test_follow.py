"""Two real peer processes (blog and events) on loopback follow each other through their admin pages:
Follow → Accept → followers/following collections, Undo{Follow}, and follows held for the admin when the
actor manually approves followers. Every activity crosses as a signed POST; unsigned ones are refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from store import Store
from store.models import Delivery, Follow, InboxActivity
from tests.support.actors import RemoteActor
from tests.support.admin import AS2, Admin, collection, eventually
from tests.support.databases import query
from tests.support.processes import PeerProcess, free_port
from tests.support.verify import actor_key, verify_post

pytestmark = pytest.mark.federation


@pytest.fixture
def pair(peer_process: Callable[..., PeerProcess]) -> tuple[PeerProcess, PeerProcess]:
    """blog (accepts followers at once) and events (approves them by hand), each knowing the other as a peer."""
    events_env = {"ROSE_ASH_MANUAL_FOLLOWERS": "1"}
    blog_port, events_port = free_port(), free_port()
    blog_url, events_url = f"http://127.0.0.1:{blog_port}", f"http://127.0.0.1:{events_port}"
    blog = peer_process("blog", port=blog_port, peers={"events": events_url}, start=False)
    events = peer_process("events", port=events_port, peers={"blog": blog_url}, env=events_env, start=False)
    blog.launch()
    events.launch()
    blog.wait_ready()
    events.wait_ready()
    return blog, events


@pytest.fixture
def admins(pair: tuple[PeerProcess, PeerProcess]) -> Iterator[tuple[Admin, Admin]]:
    blog, events = pair
    blog_admin, events_admin = Admin(blog.url, blog.admin_token).login(), Admin(events.url, events.admin_token).login()
    try:
        yield blog_admin, events_admin
    finally:
        blog_admin.close()
        events_admin.close()


def members(peer: PeerProcess, path: str) -> list[str]:
    doc = collection(peer.url, path)
    assert doc["type"] == "OrderedCollection" and doc["id"] == peer.url + path
    assert doc["totalItems"] == len(doc["items"])
    return doc["items"]


def inbox_rows(peer: PeerProcess) -> list[tuple[str, str, str]]:
    async def work(store: Store) -> list[tuple[str, str, str]]:
        async with store.read() as session:
            rows = await session.scalars(select(InboxActivity).order_by(InboxActivity.received_at))
            return [(r.type, r.actor, r.state) for r in rows]

    return query(peer.database_url, work)


def deliveries(peer: PeerProcess) -> list[tuple[str, str, int | None]]:
    async def work(store: Store) -> list[tuple[str, str, int | None]]:
        async with store.read() as session:
            rows = await session.scalars(select(Delivery).order_by(Delivery.id))
            return [(r.inbox, r.state, r.last_status) for r in rows]

    return query(peer.database_url, work)


def unsigned_is_refused(peer: PeerProcess, actor_id: str) -> None:
    doc = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": actor_id.replace("/actor", "/activities/forged"),
        "type": "Follow",
        "actor": actor_id,
        "object": peer.actor_id,
    }
    with httpx.Client(trust_env=False) as client:
        answer = client.post(peer.inbox, content=json.dumps(doc), headers={"content-type": AS2})
    assert answer.status_code == 401, answer.text


def test_two_peers_follow_each_other_with_approval_and_undo(
    pair: tuple[PeerProcess, PeerProcess],
    admins: tuple[Admin, Admin],
    remote_actor: Callable[..., RemoteActor],
) -> None:
    """events approves its followers by hand; blog accepts at once."""
    blog, events = pair
    blog_admin, events_admin = admins
    with httpx.Client(trust_env=False) as client:
        assert client.get(events.actor_id, headers={"accept": AS2}).json()["manuallyApprovesFollowers"] is True
        assert client.get(blog.actor_id, headers={"accept": AS2}).json()["manuallyApprovesFollowers"] is False

    # 1. blog follows events (by actor URL): held for events' admin.
    blog_admin.follow(events.actor_id)
    (blog_follow,) = eventually(events_admin.pending_follows, what="the follow on events' admin page")
    assert members(events, "/actor/followers") == []
    assert members(blog, "/actor/following") == []

    # 2. A remote actor asks too.
    zoe = remote_actor("zoe")
    with httpx.Client(trust_env=False) as client:
        assert zoe.post(client, events.inbox, zoe.activity("Follow", events.actor_id)).status_code == 202
    (zoe_follow,) = eventually(lambda: [f for f in events_admin.pending_follows() if f != blog_follow])

    # 3. events follows blog (by handle, through WebFinger): blog accepts at once.
    events_admin.follow(f"blog@127.0.0.1:{blog.port}")
    eventually(lambda: members(blog, "/actor/followers") == [events.actor_id], what="blog's followers")
    eventually(lambda: members(events, "/actor/following") == [blog.actor_id], what="events' following")
    assert members(events, "/actor/followers") == []  # still held

    # 4. events' admin approves blog and refuses zoe.
    events_admin.decide(blog_follow, "accept")
    events_admin.decide(zoe_follow, "reject")
    eventually(lambda: members(events, "/actor/followers") == [blog.actor_id], what="the approved follower")
    eventually(lambda: members(blog, "/actor/following") == [events.actor_id], what="blog to learn of the Accept")
    assert events_admin.pending_follows() == []
    # zoe's server got a Reject of her Follow, signed by events.
    zoe.server.wait_for(lambda s: len(s.posts()) >= 1, what="the Reject")
    (reject_post,) = zoe.server.posts()
    reject: dict[str, Any] = reject_post.json()
    assert reject["type"] == "Reject" and reject["actor"] == events.actor_id
    assert reject["object"]["id"] == zoe_follow and reject["object"]["actor"] == zoe.id
    assert verify_post(zoe.server, reject_post, actor_key(events.actor_id)).owner == events.actor_id

    # 5. Each peer took in the other's Follow and Accept through its signed inbox (there is no other way in)
    #    and sent its own as signed POSTs to the other's shared inbox, answered 202. Unsigned ones bounce.
    for peer, other in ((blog, events), (events, blog)):
        assert sorted(r for r in inbox_rows(peer) if r[1] == other.actor_id) == [
            ("Accept", other.actor_id, "processed"),
            ("Follow", other.actor_id, "processed"),
        ]
        eventually(
            lambda peer=peer, other=other: (
                [d for d in deliveries(peer) if d[0] == f"{other.url}/inbox"]
                == [(f"{other.url}/inbox", "delivered", 202)] * 2
            ),
            what="deliveries recorded",
        )
        unsigned_is_refused(peer, other.actor_id)
    assert members(events, "/actor/followers") == [blog.actor_id]  # the forged follows changed nothing

    # 6. Undo{Follow}: the blog's admin unfollows; blog signs and sends Undo{Follow} through its outbox.
    async def our_follow(store: Store) -> str:
        async with store.read() as session:
            row = await session.scalar(select(Follow).where(Follow.direction == "out"))
            assert row is not None and row.state == "accepted"
            return row.id

    blog_admin.unfollow(query(blog.database_url, our_follow))
    assert members(blog, "/actor/following") == []
    eventually(lambda: members(events, "/actor/followers") == [], what="the undone follow to leave")
    assert members(blog, "/actor/followers") == [events.actor_id]  # the other direction stands
    assert ("Undo", blog.actor_id, "processed") in inbox_rows(events)
