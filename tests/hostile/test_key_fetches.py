"""A cold key cache under a burst costs one fetch per key id, and a key URL that fails is not fetched again
for a while: strangers cannot make the peer fetch for each of their requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import pytest

from tests.support.actors import RemoteActor
from tests.support.app import BASE, App, running_app
from tests.support.httpserver import Reply

INBOX = f"{BASE}/actor/inbox"


@pytest.fixture
async def peer(database_url: str) -> AsyncIterator[App]:
    async with running_app(database_url) as app:
        yield app


def key_fetches(actor: RemoteActor) -> int:
    return len(actor.server.gets(urlsplit(actor.id).path))


async def test_32_concurrent_requests_on_a_cold_cache_fetch_the_key_once(
    peer: App, remote_actor: Callable[..., RemoteActor]
) -> None:
    alice = remote_actor("alice")
    activities = [alice.activity("Like", f"{BASE}/posts/{n}") for n in range(32)]
    answers = await asyncio.gather(*(alice.apost(peer.client, INBOX, a) for a in activities))
    assert [a.status_code for a in answers] == [202] * 32, [a.text for a in answers if a.status_code != 202]
    assert key_fetches(alice) == 1


async def test_a_failing_key_url_is_fetched_once_for_a_burst(
    peer: App, remote_actor: Callable[..., RemoteActor]
) -> None:
    mallory = remote_actor("mallory")
    mallory.server.serve(urlsplit(mallory.id).path, Reply(503, {}, b"down"))
    answers = await asyncio.gather(
        *(mallory.apost(peer.client, INBOX, mallory.activity("Like", f"{BASE}/posts/{n}")) for n in range(16))
    )
    assert {a.status_code for a in answers} == {401}
    again = await mallory.apost(peer.client, INBOX, mallory.activity("Like", f"{BASE}/posts/x"))
    assert again.status_code == 401 and "cannot fetch key" in again.json()["error"]
    assert key_fetches(mallory) == 1
