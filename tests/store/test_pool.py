"""Pooled PostgreSQL connections after a restarted server (here: every backend terminated): one the server closed
is replaced before use for free, and one that sat idle is pinged first, so a restart costs nothing but reconnects
while busy connections go out without a round trip of checking."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

import store.db
from store.db import open_store
from tests.support.databases import Databases, terminate_backends


async def backend_pids(store: store.db.Store) -> set[int]:
    async with store.read() as session:
        return {(await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()}


async def test_an_idle_connection_killed_by_the_server_is_replaced(
    postgres_databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ping after sitting idle: the closed socket is not looked at here, as for a connection that died
    silently (a firewall, a failed-over address), so only the ping can find it dead."""
    url = postgres_databases.new()
    opened = open_store(url)
    try:
        before = await backend_pids(opened)
        await terminate_backends(url)
        monkeypatch.setattr(store.db, "_closed_by_server", lambda _connection: False)
        monkeypatch.setattr(store.db, "IDLE_BEFORE_PING", 0.0)  # every pooled connection counts as idle
        after = await backend_pids(opened)
        assert after and after != before
        async with opened.write() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await opened.close()


async def test_connections_the_server_closed_are_replaced_even_when_used_a_moment_ago(
    postgres_databases: Databases,
) -> None:
    """What a restart of PostgreSQL does to a busy peer: every pooled connection closed by the server while the
    peer had used it a moment before. asyncpg sees each closed socket, so none is handed out again."""
    url = postgres_databases.new()
    opened = open_store(url, pool_size=2)
    try:
        before = await busy_backend_pids(opened, 4)
        assert len(before) == 4
        await terminate_backends(url)
        await asyncio.sleep(0.1)  # the event loop reads the closed sockets, as it would during any restart
        after = await busy_backend_pids(opened, 4)
        assert len(after) == 4 and not after & before
        async with opened.write() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await opened.close()


async def busy_backend_pids(store: store.db.Store, connections: int) -> set[int]:
    """The backends of `connections` transactions held at once (so as many pooled connections are checked out)."""

    async def one(held: asyncio.Event, release: asyncio.Event) -> int:
        async with store.read() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            held.set()
            await release.wait()
            return int(pid)

    release = asyncio.Event()
    held = [asyncio.Event() for _ in range(connections)]
    tasks = [asyncio.create_task(one(event, release)) for event in held]
    all_held = asyncio.ensure_future(asyncio.gather(*(event.wait() for event in held)))
    await asyncio.wait([all_held, *tasks], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    all_held.cancel()
    await asyncio.gather(all_held, return_exceptions=True)
    release.set()
    return set(await asyncio.gather(*tasks))  # a transaction that failed raises here
