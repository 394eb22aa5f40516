"""Fresh databases for tests: a SQLite file in tmp_path, or `CREATE DATABASE ra_<random>` on the
PostgreSQL server named by TEST_DATABASE_URL, dropped (WITH (FORCE)) afterwards."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

T = TypeVar("T")


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "").strip()


async def terminate_backends(url: str) -> None:
    """What a PostgreSQL restart does to every open connection of database `url` (any driver prefix): each
    backend ended, and this returns once they are gone (pg_terminate_backend only signals them)."""
    import asyncpg

    server, database = _plain(url).rsplit("/", 1)
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        found = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
        )
        pids = [row["pid"] for row in found]
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
        for _ in range(100):  # those ended, not new ones: a peer may reconnect at once
            if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the backends of {database} still run 5 s after their termination")
    finally:
        await admin.close()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop's thread."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1).replace("postgres://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(_plain(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin(server_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_plain(server_url), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Databases:
    """Hands out fresh database URLs of one backend and removes them at the end."""

    def __init__(self, backend: str, tmp_path: Path, server_url: str = "") -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.server_url = server_url
        self._created: list[str] = []
        self._count = 0

    def new(self, label: str = "db") -> str:
        self._count += 1
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_path / f'{label}-{self._count}.db'}"
        name = f"ra_{secrets.token_hex(6)}"
        run_sync(_admin(self.server_url, f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        return with_database(self.server_url, name)

    def cleanup(self) -> None:
        for name in self._created:
            run_sync(_admin(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._created.clear()


def query(url: str, work: Any) -> Any:
    """Open the store at `url`, run `await work(store)`, close it: a peek into a running peer's database."""

    async def run() -> Any:
        from store import open_store

        store = open_store(url, pool_size=1)
        try:
            return await work(store)
        finally:
            await store.close()

    return run_sync(run())


class Peek:
    """A long-lived store on a running peer's database, for polling it cheaply from sync test code: one
    engine on one background event loop, instead of a new engine per look."""

    def __init__(self, url: str) -> None:
        from store import open_store

        self.url = url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def opened() -> Any:
            return open_store(url, pool_size=2)

        self.store = self._submit(opened())

    def _submit(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def __call__(self, work: Any) -> Any:
        """`await work(store)` on the background loop; its result."""
        return self._submit(work(self.store))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._submit(self.store.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


def postgres_or_skip() -> str:
    """The PostgreSQL server for a test: skipped when none is configured, a failure under CI=true."""
    url = postgres_server_url()
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL half of the suite cannot run")
    pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL (scripts/test does) to run this on PostgreSQL")
