"""Work proportional to the store: a stranger's activity costs the same whether the peer holds one post or
10,000. Measured by what the request makes the store do (statements run, ORM rows loaded), never by time."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from store import Store, collections
from store.models import CollectionItem, CollectionSize, StoredObject
from tests.support.actors import RemoteActor
from tests.support.app import BASE, running_app
from tests.support.databases import Databases

BIG = 10_000
FEATURED = f"{BASE}/posts/featured"


@dataclass
class Work:
    statements: int = 0
    loaded: int = 0


@contextlib.contextmanager
def counting(store: Store) -> Iterator[Work]:
    """Statements sent to the database and ORM instances loaded while the block runs."""
    work = Work()

    def statement(*_: Any) -> None:
        work.statements += 1

    def loaded(*_: Any) -> None:
        work.loaded += 1

    engines = {store.writer.sync_engine, store.reader.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", statement)
    event.listen(Session, "loaded_as_persistent", loaded)
    try:
        yield work
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", statement)
        event.remove(Session, "loaded_as_persistent", loaded)


async def seed_posts(store: Store, count: int, other_event: Callable[[int], str]) -> None:
    """`count` posts, each listing an event of its own, written in bulk (the blog's own path is not under test)."""
    posts = [
        {
            "id": f"{BASE}/posts/p{i}",
            "actor": "blog",
            "type": "Article",
            "data": {"id": f"{BASE}/posts/p{i}", "type": "Article", "name": f"Post {i}", "attributedTo": f"{BASE}/actor"},
            "public": True,
            "readers": None,
            "capability": None,
            "created_at": 1.0,
            "updated_at": 1.0,
            "deleted_at": None,
        }
        for i in range(count)
    ]
    listings = [
        {"collection": f"{BASE}/posts/p{i}/events", "item": other_event(i), "data": {"actor": "x"}, "created_at": 1.0}
        for i in range(count)
    ]
    async with store.write() as session:
        connection = await session.connection()
        for start in range(0, count, 2000):
            await connection.execute(insert(StoredObject.__table__), posts[start : start + 2000])
            await connection.execute(insert(CollectionItem.__table__), listings[start : start + 2000])
            sizes = [{"collection": row["collection"], "size": 1} for row in listings[start : start + 2000]]
            await connection.execute(insert(CollectionSize.__table__), sizes)


async def withdraw_an_event(database_url: str, alice: RemoteActor, posts: int) -> tuple[Work, Work]:
    """alice announces an event featuring our post, then deletes it: the work of each."""
    async with running_app(database_url) as app:
        async with app.store.write() as session:
            post = {"id": FEATURED, "type": "Article", "name": "Featured", "attributedTo": f"{BASE}/actor"}
            session.add(
                StoredObject(
                    id=FEATURED, actor="blog", type="Article", data=post, public=True, created_at=1.0, updated_at=1.0
                )
            )
        await seed_posts(app.store, posts, lambda i: alice.server.url(f"/events/other-{i}"))
        gig = alice.server.url("/events/gig")
        create = alice.activity(
            "Create",
            {
                "id": gig,
                "type": "Event",
                "name": "Gig",
                "attributedTo": alice.id,
                "startTime": "2027-07-01T19:00:00+01:00",
                "attachment": [{"type": "Link", "rel": "featured", "href": FEATURED}],
            },
        )
        with counting(app.store) as announcing:
            assert (await alice.apost(app.client, f"{BASE}/actor/inbox", create)).status_code == 202
        delete = alice.activity("Delete", {"id": gig, "type": "Tombstone"})
        with counting(app.store) as withdrawing:
            response = await alice.apost(app.client, f"{BASE}/actor/inbox", delete)
        assert response.status_code == 202, response.text
        async with app.store.read() as session:
            assert not await collections.contains(session, f"{FEATURED}/events", gig)
            assert await collections.count(session, f"{BASE}/posts/p7/events") == (1 if posts > 7 else 0)
        return announcing, withdrawing


@pytest.mark.slow
async def test_a_remote_event_and_its_delete_cost_the_same_at_10000_posts(
    databases: Databases, remote_actor: Callable[..., RemoteActor]
) -> None:
    alice = remote_actor("alice")
    small = await withdraw_an_event(databases.new("small"), alice, posts=0)
    big = await withdraw_an_event(databases.new("big"), alice, posts=BIG)
    for empty, full in zip(small, big, strict=True):
        assert full.loaded == empty.loaded, (small, big)
        assert full.statements == empty.statements, (small, big)
