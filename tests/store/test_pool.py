"""Pooled PostgreSQL connections: checked before use only after sitting idle, so a restarted server (here: every
backend terminated) costs nothing but a reconnect, while busy connections go out unchecked."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import store.db
from store.db import open_store
from tests.support.databases import Databases, terminate_backends


async def backend_pids(store: store.db.Store) -> set[int]:
    async with store.read() as session:
        return {(await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()}


async def test_an_idle_connection_killed_by_the_server_is_replaced(
    postgres_databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_databases.new()
    opened = open_store(url)
    try:
        before = await backend_pids(opened)
        await terminate_backends(url)
        monkeypatch.setattr(store.db, "IDLE_BEFORE_PING", 0.0)  # every pooled connection counts as idle
        after = await backend_pids(opened)
        assert after and after != before
        async with opened.write() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await opened.close()


async def test_a_busy_connection_is_not_pinged(postgres_databases: Databases) -> None:
    url = postgres_databases.new()
    opened = open_store(url)
    try:
        await backend_pids(opened)
        await terminate_backends(url)
        # Used a moment ago: handed out without a check, so the dead connection shows (the cost of not pinging).
        with pytest.raises(DBAPIError):  # asyncpg words it variously: "connection is closed", "another operation"
            await backend_pids(opened)
        assert await backend_pids(opened)  # and the pool has replaced it
    finally:
        await opened.close()
