"""Fetching an actor keeps the keys its own document lists on its host, in the actor's transaction: the first
request it signs is verified without fetching the key again (which a busy peer may not answer in time). A key
listed with an id on another host, or claiming another owner, is not taken from the document."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy import select

from inbox.directory import Directory
from inbox.remote import AddressGuard, RemoteFetcher
from net import guarded_client
from store import Store
from store.models import RemoteKey
from tests.support.actors import RemoteActor, key_pair
from tests.support.httpserver import FakeServer


async def stored_keys(store: Store) -> dict[str, str]:
    async with store.read() as session:
        return {key_id: owner for key_id, owner in await session.execute(select(RemoteKey.key_id, RemoteKey.owner))}


async def test_an_actor_fetch_keeps_its_own_keys_and_the_first_signature_needs_no_fetch(
    store: Store, fake_server: Callable[[], FakeServer], remote_actor: Callable[..., RemoteActor]
) -> None:
    alice = remote_actor("alice")
    elsewhere = fake_server()
    doc = alice.document()
    doc["publicKey"] = [
        doc["publicKey"],
        {"id": elsewhere.url("/keys/1"), "owner": alice.id, "publicKeyPem": key_pair(2).public_pem},
        {"id": f"{alice.id}#other", "owner": elsewhere.url("/users/mallory"), "publicKeyPem": key_pair(3).public_pem},
        {"id": f"{alice.id}#broken", "owner": alice.id, "publicKeyPem": "not a key"},
    ]
    alice.server.serve_json(urlsplit(alice.id).path, doc)
    guard = AddressGuard(allow_private=True)
    client = guarded_client(guard, user_agent="rose-ash-test", proxies={})
    try:
        directory = Directory(store, RemoteFetcher(client, guard, time.time))
        info = await directory.actor(alice.id)
        assert info.inbox == alice.inbox
        assert await stored_keys(store) == {alice.key_id: alice.id}
        fetched = len(alice.server.gets())
        assert fetched == 1

        key = await directory.key(alice.key_id)
        assert (key.owner, key.key.public_numbers()) == (alice.id, alice.key.public_key.public_numbers())
        fresh = Directory(store, RemoteFetcher(client, guard, time.time))  # another process: from the store
        assert (await fresh.key(alice.key_id)).key.public_numbers() == alice.key.public_key.public_numbers()
        assert len(alice.server.gets()) == fetched and elsewhere.gets() == []
    finally:
        await client.aclose()
