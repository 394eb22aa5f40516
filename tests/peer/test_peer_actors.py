"""A peer learns its cooperating peers' actors on its own, without waiting for the first activity to one: the
events peer knows the shop's inbox before anybody buys a ticket, even when the shop starts after it, so the
first Offers are written with their delivery rows instead of waiting for the worker to fetch the shop; and it
keeps the shop's key from the same fetch, so the shop's first Accept is verified without fetching it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from store.models import RemoteActor, RemoteKey
from tests.support.admin import eventually
from tests.support.databases import Databases, Peek
from tests.support.processes import PeerProcess, free_port


def _remote_actors(peek: Peek) -> dict[str, str]:
    async def read(store: Any) -> dict[str, str]:
        async with store.read() as session:
            rows = await session.execute(select(RemoteActor.id, RemoteActor.inbox))
            return {actor_id: inbox for actor_id, inbox in rows}

    return peek(read)


def _remote_keys(peek: Peek) -> dict[str, str]:
    async def read(store: Any) -> dict[str, str]:
        async with store.read() as session:
            return {key_id: owner for key_id, owner in await session.execute(select(RemoteKey.key_id, RemoteKey.owner))}

    return peek(read)


def test_the_events_peer_fetches_the_shop_actor_once_the_shop_answers(
    databases: Databases, processes: Callable[..., PeerProcess], peek: Callable[[str], Peek]
) -> None:
    shop_port = free_port()
    shop_url = f"http://127.0.0.1:{shop_port}"
    events_db = databases.new("events")
    events = processes("events", database_url=events_db, peers={"shop": shop_url})
    look = peek(events_db)
    assert _remote_actors(look) == {}  # the shop is not running yet: nothing to know

    shop = processes("shop", database_url=databases.new("shop"), port=shop_port, peers={"events": events.url})
    eventually(
        lambda: _remote_actors(look).get(shop.actor_id) == shop.inbox,
        timeout=30,
        what="the events peer to store the shop's actor and inbox",
    )
    assert events.running, events.log_tail()
    assert list(_remote_actors(look)) == [shop.actor_id]  # the configured peer only, never itself
    keys = _remote_keys(look)
    assert keys and set(keys.values()) == {shop.actor_id}, keys  # stored with the actor, in its transaction
    assert all(key_id.startswith(shop.actor_id) for key_id in keys), keys
