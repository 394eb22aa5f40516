"""An idle delivery worker sleeps until work is committed: a `rose-ash worker` process sends what the web process
commits at once (PostgreSQL NOTIFY; SQLite: the files change), long before its safety poll; work committed
without any wake-up is still sent, by the safety poll; a lost listening connection is listened on again; and an
idle worker does not touch the store."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from activities.httpsig import RequestSigner
from activities.identity import LocalActor
from outbox.addressing import Target
from outbox.connections import DirectPoster
from outbox.worker import DeliveryWorker
from peer.settings import Settings
from store import Store
from store.db import open_store
from store.models import ActorKey
from tests.conftest import open_migrated
from tests.support.actors import RemoteActor, key_pair
from tests.support.admin import eventually
from tests.support.databases import Databases, Peek, terminate_backends
from tests.support.fanout import add_followers, delivery_rows, emit_note, until
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess

ME = LocalActor("blog", "http://blog.test")
LONG = 600.0  # a safety poll no test could wait for


@contextlib.asynccontextmanager
async def worker_running(
    store: Store, followers: dict[str, RemoteActor], *, safety_poll: float, listen: bool
) -> AsyncIterator[DeliveryWorker]:
    async def resolve(actor_id: str) -> Target:
        actor = followers[actor_id]
        return Target(actor.id, actor.inbox, actor.shared_inbox)

    poster = DirectPoster(user_agent="rose-ash-test", connect_timeout=2.0, read_timeout=10.0)
    worker = DeliveryWorker(
        store=store,
        poster=poster,
        actors={ME.name: ME},
        signers={ME.name: RequestSigner(ME.key_id, key_pair(5).private_key)},
        resolve=resolve,
        safety_poll=safety_poll,
        listen=listen,
    )
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)  # its first rounds find nothing: it is idle from here on
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await poster.aclose()


async def one_follower(store: Store, fake_server: Callable[[], FakeServer]) -> dict[str, RemoteActor]:
    follower = RemoteActor(fake_server(), "reader", key_pair(0))
    await add_followers(store, ME, [follower])
    return {follower.id: follower}


async def test_work_committed_without_a_wake_up_is_sent_by_the_safety_poll(
    store: Store, fake_server: Callable[[], FakeServer]
) -> None:
    followers = await one_follower(store, fake_server)
    async with worker_running(store, followers, safety_poll=1.0, listen=False):
        started = time.monotonic()
        sent = await emit_note(store, ME)  # nobody rings: as if the notification had been lost
        rows = await until(lambda: _delivered(store, sent["id"]), within=10.0, what="the delivery, at the safety poll")
    assert [r.state for r in rows] == ["delivered"]
    assert time.monotonic() - started < 5.0


async def test_an_idle_worker_is_woken_by_a_commit_elsewhere(
    store: Store, fake_server: Callable[[], FakeServer]
) -> None:
    followers = await one_follower(store, fake_server)
    async with worker_running(store, followers, safety_poll=LONG, listen=True):
        started = time.monotonic()
        sent = await emit_note(store, ME)  # another connection's commit: NOTIFY on PostgreSQL, the files on SQLite
        await until(lambda: _delivered(store, sent["id"]), within=10.0, what="the delivery")
    assert time.monotonic() - started < 5.0


@pytest.mark.postgres
async def test_a_lost_listening_connection_is_listened_on_again(
    postgres_databases: Databases, fake_server: Callable[[], FakeServer]
) -> None:
    url = postgres_databases.new("blog")
    store = await open_migrated(url)
    try:
        followers = await one_follower(store, fake_server)
        async with worker_running(store, followers, safety_poll=LONG, listen=True):
            await terminate_backends(url)  # a PostgreSQL restart, as the listening connection sees it
            await asyncio.sleep(1.0)
            writer = open_store(url)  # the committing process: a connection the restart did not break
            try:
                started = time.monotonic()
                sent = await emit_note(writer, ME)
                await until(lambda: _delivered(writer, sent["id"]), within=10.0, what="the delivery after the loss")
            finally:
                await writer.close()
        assert time.monotonic() - started < 5.0
    finally:
        await store.close()


async def test_an_idle_worker_leaves_the_store_alone(store: Store, fake_server: Callable[[], FakeServer]) -> None:
    followers = await one_follower(store, fake_server)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async with worker_running(store, followers, safety_poll=LONG, listen=True):
        engines = {store.writer.sync_engine, store.reader.sync_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", count)
        try:
            await asyncio.sleep(3.0)
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", count)
    assert statements == []


async def _delivered(store: Store, activity_id: str) -> list[Any]:
    rows = await delivery_rows(store, activity_id)
    return rows if rows and all(r.state == "delivered" for r in rows) else []


@pytest.mark.faults
def test_a_worker_process_sends_what_the_web_process_commits_at_once(
    databases: Databases,
    processes: Callable[..., PeerProcess],
    fake_server: Callable[[], FakeServer],
    peek: Callable[[str], Peek],
) -> None:
    url = databases.new("blog")
    quiet = {"ROSE_ASH_WORKER_SAFETY_POLL": str(LONG)}
    web = processes("blog", database_url=url, env={**quiet, "ROSE_ASH_INPROCESS_WORKER": "0"})
    worker = processes("blog", database_url=url, command="worker", base_url=web.url, env=quiet)
    db = peek(url)
    me = LocalActor("blog", web.url)
    sink = fake_server()
    follower = RemoteActor(sink, "reader", key_pair(0))
    db(lambda store: add_followers(store, me, [follower]))

    async def has_key(store: Store) -> bool:
        async with store.read() as session:
            return await session.get(ActorKey, me.name) is not None

    eventually(lambda: db(has_key), timeout=30, what="the actor's key")
    time.sleep(2.0)  # the worker has started and found nothing: it waits for a wake-up or its safety poll
    assert worker.running, worker.log_tail()

    started = time.monotonic()
    response = httpx.post(
        f"{web.url}/actor/outbox",
        json={"type": "Create", "object": {"type": "Article", "name": "Now", "content": "Sent at once."}},
        headers={"authorization": f"Bearer {web.admin_token}", "content-type": "application/activity+json"},
        timeout=10.0,
    )
    assert response.status_code == 201, response.text
    article = response.json()["object"]

    def sent() -> list[Any]:
        return [p for p in sink.posts("/inbox") if p.json()["object"]["id"] == article]

    posts = eventually(sent, timeout=20, interval=0.05, what="the POST of the article")
    took = time.monotonic() - started
    assert len(posts) == 1 and posts[0].json()["type"] == "Create"
    assert took < 5.0, f"{took:.1f} s: the worker waited for something other than the commit"


def test_the_safety_poll_is_a_setting_and_a_bad_one_is_refused() -> None:
    env = {"ROSE_ASH_KIND": "blog", "ROSE_ASH_ADMIN_TOKEN": "a-long-enough-admin-token"}
    assert Settings.from_env(env).worker_safety_poll == 30.0
    assert Settings.from_env({**env, "ROSE_ASH_WORKER_SAFETY_POLL": "45"}).worker_safety_poll == 45.0
    for bad in ("0", "soon", "-1"):
        with pytest.raises(ValueError, match="ROSE_ASH_WORKER_SAFETY_POLL must be a"):
            Settings.from_env({**env, "ROSE_ASH_WORKER_SAFETY_POLL": bad})
