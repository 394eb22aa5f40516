"""The inbox over HTTP: the whole peer app (lifespan, real store on SQLite and PostgreSQL) driven in-process
through httpx's ASGI transport, with real signatures by remote actors whose keys it fetches over loopback.
One test talks to a real peer process over a raw socket to show a huge body is refused before it is read."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.models import Follow, InboxActivity
from tests.support.actors import RemoteActor, key_pair
from tests.support.app import BASE, App, row_counts, running_app
from tests.support.processes import PeerProcess

INBOX = f"{BASE}/actor/inbox"
SHARED_INBOX = f"{BASE}/inbox"
ME = f"{BASE}/actor"


Peer = App


@pytest.fixture
async def peer(database_url: str) -> AsyncIterator[App]:
    async with running_app(database_url) as app:
        yield app


@pytest.fixture
def alice(remote_actor: Callable[..., RemoteActor]) -> RemoteActor:
    return remote_actor("alice")


@pytest.fixture
def mallory(remote_actor: Callable[..., RemoteActor]) -> RemoteActor:
    return remote_actor("mallory")


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


async def send(
    peer: Peer, actor: RemoteActor, doc: dict[str, Any] | bytes, *, url: str = INBOX, scheme: str = "cavage"
) -> httpx.Response:
    return await actor.apost(peer.client, url, doc, scheme=scheme)


async def warm_up(peer: Peer, *actors: RemoteActor) -> None:
    """One accepted activity per actor, so their keys are cached and later refusals can be compared on a
    store that no longer changes for cache reasons."""
    for actor in actors:
        response = await send(peer, actor, actor.activity("Like", f"{BASE}/posts/1"))
        assert response.status_code == 202, response.text


# accepted


async def test_unknown_types_are_accepted_and_ignored(peer: Peer, alice: RemoteActor) -> None:
    activity = alice.activity("Frobnicate", f"{BASE}/posts/1")
    response = await send(peer, alice, activity)
    assert response.status_code == 202
    assert response.json() == {"status": "ignored", "id": activity["id"], "signature": "draft-cavage"}
    async with peer.store.read() as session:
        row = await session.get(InboxActivity, activity["id"])
    assert row is not None and row.state == "ignored" and row.actor == alice.id and row.data == activity


async def test_rfc9421_and_the_shared_inbox(peer: Peer, alice: RemoteActor) -> None:
    activity = alice.activity("Like", f"{BASE}/posts/1")
    response = await send(peer, alice, activity, url=SHARED_INBOX, scheme="rfc9421")
    assert response.status_code == 202, response.text
    assert response.json()["signature"] == "rfc9421"
    async with peer.store.read() as session:
        row = await session.get(InboxActivity, activity["id"])
    assert row is not None and row.recipient is None


async def test_follow_is_processed_and_a_replay_changes_nothing(peer: Peer, alice: RemoteActor) -> None:
    follow = alice.activity("Follow", ME)
    first = await send(peer, alice, follow)
    assert first.status_code == 202 and first.json()["status"] == "processed"
    before = await row_counts(peer.store)
    # the Accept, waiting for the worker: its delivery row is written at once (the store knows alice's inbox)
    assert before["follows"] == 1 and before["deliveries"] == 1 and before["fanouts"] == 0

    for scheme in ("cavage", "rfc9421"):  # the same activity again, freshly signed
        replay = await send(peer, alice, follow, scheme=scheme)
        assert replay.status_code == 202 and replay.json()["status"] == "duplicate"
    assert await row_counts(peer.store) == before

    followers = await peer.client.get(f"{ME}/followers", headers={"accept": "application/activity+json"})
    assert followers.json()["totalItems"] == 1


# refused, each leaving the store as it was


@dataclass
class Refusal:
    what: str
    status: int
    response: httpx.Response


async def refusals(peer: Peer, alice: RemoteActor, mallory: RemoteActor) -> list[Refusal]:
    out: list[Refusal] = []

    async def expect(what: str, status: int, response: httpx.Response) -> None:
        out.append(Refusal(what, status, response))

    follow = alice.activity("Follow", ME)
    body = encode(follow)
    good = alice.cavage_headers("POST", INBOX, body)
    post = peer.client.post

    await expect(
        "unsigned", 401, await post(INBOX, content=body, headers={"content-type": "application/activity+json"})
    )
    await expect(
        "signed by another key",
        401,
        await post(INBOX, content=body, headers=alice.cavage_headers("POST", INBOX, body, key=key_pair(6).private_key)),
    )
    await expect(
        "body changed after signing", 401, await post(INBOX, content=body.replace(b"Follow", b"Block"), headers=good)
    )
    await expect(
        "stale date",
        401,
        await post(INBOX, content=body, headers=alice.cavage_headers("POST", INBOX, body, now=time.time() - 14 * 3600)),
    )
    await expect(
        "unknown key",
        401,
        await post(INBOX, content=body, headers=alice.cavage_headers("POST", INBOX, body, key_id=alice.id + "#nope")),
    )
    await expect("malformed JSON", 400, await send(peer, alice, b'{"type": "Follow",'))
    await expect("a JSON array", 400, await send(peer, alice, b"[]"))
    await expect("nested 10,000 deep", 400, await send(peer, alice, b"[" * 10_000 + b"]" * 10_000))
    await expect("no actor", 400, await send(peer, alice, encode({k: v for k, v in follow.items() if k != "actor"})))
    await expect(
        "wrong content type",
        415,
        await post(INBOX, content=body, headers={**good, "content-type": "text/plain"}),
    )
    await expect("no content type", 415, await post(INBOX, content=body, headers={"host": "peer.test"}))
    await expect("id on another host", 403, await send(peer, alice, {**follow, "id": mallory.new_id()}))
    # mallory signs (validly, with her own key) an activity claiming alice as its actor
    await expect("key owner is not the actor", 403, await send(peer, mallory, alice.activity("Follow", ME)))
    await expect("a follow of someone else", 422, await send(peer, alice, alice.activity("Follow", mallory.id)))
    return out


async def test_refusals_have_their_status_and_change_nothing(
    peer: Peer, alice: RemoteActor, mallory: RemoteActor
) -> None:
    await warm_up(peer, alice, mallory)
    before = await row_counts(peer.store)
    results = await refusals(peer, alice, mallory)
    assert [(r.what, r.response.status_code) for r in results] == [(r.what, r.status) for r in results]
    for refusal in results:
        assert refusal.response.headers["content-type"].startswith("application/json"), refusal.what
        assert refusal.response.json()["error"], refusal.what
    assert await row_counts(peer.store) == before


async def test_body_over_1_mib_is_refused_before_it_is_read(peer: Peer, alice: RemoteActor) -> None:
    total = 10 * 1024 * 1024
    chunk = b" " * 65536
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < total:
            sent += len(chunk)
            yield chunk

    before = await row_counts(peer.store)
    headers = {"content-type": "application/activity+json", "content-length": str(total)}
    response = await peer.client.post(INBOX, content=body(), headers=headers)
    assert response.status_code == 413
    assert sent <= len(chunk), f"the app pulled {sent} bytes of a body it had to refuse"

    # Without a Content-Length the app reads until the cap and stops there.
    sent = 0
    response = await peer.client.post(INBOX, content=body(), headers={"content-type": "application/activity+json"})
    assert response.status_code == 413
    assert sent <= 1024 * 1024 + 2 * len(chunk)
    assert await row_counts(peer.store) == before


def test_huge_body_refused_by_a_real_peer_before_it_is_sent(
    processes: Callable[..., PeerProcess], tmp_path: Path
) -> None:
    """Over a raw socket: announce 10 MB, send 64 KB, and the peer has already answered 413."""
    peer = processes("blog", database_url=f"sqlite:///{tmp_path / 'blog.db'}")
    with socket.create_connection(("127.0.0.1", peer.port), timeout=10) as sock:
        head = (
            f"POST /actor/inbox HTTP/1.1\r\nHost: 127.0.0.1:{peer.port}\r\n"
            "Content-Type: application/activity+json\r\nContent-Length: 10485760\r\n\r\n"
        )
        sock.sendall(head.encode() + b" " * 65536)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]


async def test_listener_state_is_kept_per_activity(peer: Peer, alice: RemoteActor) -> None:
    """Undo of a follow: the follow leaves the followers collection; an Undo of something else is ignored."""
    follow = alice.activity("Follow", ME)
    assert (await send(peer, alice, follow)).status_code == 202
    undo = alice.activity("Undo", follow)
    response = await send(peer, alice, undo)
    assert response.status_code == 202 and response.json()["status"] == "processed"
    async with peer.store.read() as session:
        row = await session.get(Follow, follow["id"])
    assert row is not None and row.state == "undone"
    followers = await peer.client.get(f"{ME}/followers", headers={"accept": "application/activity+json"})
    assert followers.json()["totalItems"] == 0
    other = await send(peer, alice, alice.activity("Undo", {"type": "Like", "id": alice.new_id()}))
    assert other.status_code == 202 and other.json()["status"] == "ignored"


async def test_a_burst_is_recorded_once_per_activity_exactly_as_sent(peer: Peer, alice: RemoteActor) -> None:
    """Concurrent requests share the transactions that look up and record them (group commit): every 202 is a
    stored row, each id is stored once however many times it arrives together, and the stored activity is the
    one sent, whatever its text holds (an escaped NUL, a lone surrogate, an emoji)."""
    import asyncio

    await warm_up(peer, alice)
    texts = ["plain", "nul \u0000 here", "lone \ud800 surrogate", "emoji \U0001f600", "é ü"]
    activities = [
        alice.activity("Frobnicate", {"id": f"{alice.id}/notes/{n}", "type": "Note", "content": texts[n % 5]})
        for n in range(40)
    ]
    burst = activities + activities[:10] + activities[:3]
    responses = await asyncio.gather(*(send(peer, alice, activity) for activity in burst))
    assert {r.status_code for r in responses} == {202}
    statuses: dict[str, list[str]] = {}
    for response in responses:
        statuses.setdefault(response.json()["id"], []).append(response.json()["status"])
    for activity in activities:
        got = statuses[activity["id"]]
        assert got.count("ignored") == 1 and got.count("duplicate") == len(got) - 1, got
        async with peer.store.read() as session:
            row = await session.get(InboxActivity, activity["id"])
        assert row is not None and row.state == "ignored" and row.data == activity
