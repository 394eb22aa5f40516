"""What strangers send cannot make the store grow without bound: activity bodies are emptied after their
retention (their ids stay, so replays still change nothing), and remote actor documents are kept compact."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select

from store.models import InboxActivity, RemoteActor
from store.retention import PRUNED, prune_inbox
from tests.support.actors import RemoteActor as Remote
from tests.support.app import BASE, App, running_app

INBOX = f"{BASE}/actor/inbox"
WEEK = 7 * 24 * 3600.0


@pytest.fixture
async def peer(database_url: str) -> AsyncIterator[App]:
    async with running_app(database_url) as app:
        yield app


async def test_old_bodies_are_emptied_and_replays_still_change_nothing(peer: App, alice: Remote) -> None:
    ignored = alice.activity("Frobnicate", f"{BASE}/posts/1", content="x" * 50_000)
    liked = alice.activity("Like", f"{BASE}/posts/1")
    for activity in (ignored, liked):
        assert (await alice.apost(peer.client, INBOX, activity)).status_code == 202
    failed = alice.activity("Like", f"{BASE}/posts/2")
    async with peer.store.write() as session:
        session.add(
            InboxActivity(
                id=failed["id"], actor=alice.id, type="Like", data=failed, state="failed", received_at=1.0, error="bug"
            )
        )
    now = time.time()
    assert await prune_inbox(peer.store, now, WEEK) == 0  # nothing is old yet (the failed one is kept whole)
    assert await prune_inbox(peer.store, now + WEEK + 60, WEEK) == 2  # the two above
    assert await prune_inbox(peer.store, now + WEEK + 60, WEEK) == 0
    async with peer.store.read() as session:
        rows = {row.id: row for row in await session.scalars(select(InboxActivity))}
    assert rows[ignored["id"]].data == PRUNED and rows[liked["id"]].data == PRUNED
    assert rows[failed["id"]].data == failed  # the admin still has what the listener failed on
    replay = await alice.apost(peer.client, INBOX, ignored)
    assert replay.status_code == 202 and replay.json()["status"] == "duplicate"


async def test_a_huge_actor_document_is_stored_compact(
    peer: App, remote_actor: Callable[..., Remote]
) -> None:
    bloated = remote_actor("bloated")
    document = bloated.document()
    document["summary"] = "<p>" + "padding " * 100_000 + "</p>"  # about 800 KB, under the fetch cap
    document["attachment"] = [{"type": "PropertyValue", "name": f"f{i}", "value": "v" * 1000} for i in range(100)]
    document["name"] = "B" * 5000
    bloated.server.serve_json("/users/bloated", document)
    response = await bloated.apost(peer.client, INBOX, bloated.activity("Like", f"{BASE}/posts/1"))
    assert response.status_code == 202, response.text
    async with peer.store.read() as session:
        row = await session.get(RemoteActor, bloated.id)
        assert row is not None
    assert len(json.dumps(row.data)) < 8_000, len(json.dumps(row.data))
    assert row.data["publicKey"]["publicKeyPem"] == bloated.key.public_pem
    assert row.data["inbox"] == bloated.inbox and len(row.data["name"]) == 500
    again = await bloated.apost(peer.client, INBOX, bloated.activity("Like", f"{BASE}/posts/2"))
    assert again.status_code == 202  # the compact copy still serves its key


@pytest.fixture
def alice(remote_actor: Callable[..., Remote]) -> Remote:
    return remote_actor("alice")
