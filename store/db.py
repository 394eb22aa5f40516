"""Engines and transactions. SQLite gets WAL and `BEGIN IMMEDIATE` writers so concurrent writers queue
instead of failing; PostgreSQL is used as it is."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Result, Table, event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

Clock = Callable[[], float]


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async drivers."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> AsyncEngine:
    path = url.split(":///", 1)[1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_timeout=300, connect_args={"timeout": 60}
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Store:
    """A peer's database: `write()` for a transaction that changes things, `read()` for one that doesn't."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    clock: Clock = field(default=time.time)

    # moved on by each commit of `write()` in this process: what a rendering is kept under (actors/page_cache.py)
    generation: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._write_sessions() as session, session.begin():
                yield session
        finally:  # after the commit, and after a rollback too (which may follow a partial commit's doubt)
            self.generation += 1

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def open_store(url: str, clock: Clock = time.time, pool_size: int = 10, wait_seconds: float = 30.0) -> Store:
    """`pool_size`: SQLite's readers, or half of PostgreSQL's connections. `wait_seconds`: how long a PostgreSQL
    transaction waits for a free connection before `sqlalchemy.exc.TimeoutError` (a request is then answered
    503, peer/app.py); SQLite's transactions queue for up to five minutes, as its one writer makes them."""
    url = normalize_url(url)
    if is_sqlite(url):
        # One writer connection: SQLite takes one writer at a time anyway, and queueing in the pool
        # is cheaper than spinning on the file lock.
        writer = _sqlite_engine(url, immediate=True, pool_size=1)
        reader = _sqlite_engine(url, immediate=False, pool_size=pool_size)
        return Store(url, writer, reader, clock)
    # The same 2 x pool_size connections at most as pool_size + max_overflow gave, but all kept: an overflow
    # connection was closed on return and reopened by the next burst (a new server process each time).
    engine = create_async_engine(url, pool_size=2 * pool_size, max_overflow=0, pool_timeout=wait_seconds)
    _ping_when_idle(engine)
    # Reads run without BEGIN/COMMIT: under PostgreSQL's READ COMMITTED each statement sees the latest commits
    # whether or not it is inside a transaction, so autocommit only saves two round trips per read.
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    return Store(url, engine, reader, clock)


IDLE_BEFORE_PING = 10.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Replace a pooled connection before use when the server has closed it (a restart of PostgreSQL closes
    every connection, and asyncpg notices the closed socket without a round trip), and ping it first when it
    has sat idle for a while (a connection can also die silently, behind a firewall or a failed-over address).
    SQLAlchemy's `pool_pre_ping` pings on every checkout, three round trips per transaction, a fifth of a busy
    peer's CPU. A connection that breaks while in use still fails its transaction, which the caller sees as an
    error (a sender retries)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _closed_by_server(dbapi_connection):
            raise exc.DisconnectionError("the server closed the pooled connection")
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception:
            alive = False
        if not alive:
            raise exc.DisconnectionError("the pooled connection is gone")


def _closed_by_server(dbapi_connection: Any) -> bool:
    """Whether asyncpg has seen the connection's socket closed (SQLAlchemy's adapter wraps the asyncpg one)."""
    driver_connection = getattr(dbapi_connection, "_connection", None)
    return driver_connection is not None and bool(driver_connection.is_closed())


def dialect(session: AsyncSession) -> str:
    """The session's database dialect name ("sqlite", "postgresql"), which picks dialect-specific statements."""
    return session.get_bind().dialect.name


def affected(result: Result[Any]) -> int:
    """Rows an INSERT, UPDATE or DELETE touched."""
    assert isinstance(result, CursorResult), "only a DML statement's result counts rows"
    return result.rowcount or 0


def table_of(model: type[Any]) -> Table:
    """A mapped class's Table, for Core statements (the ORM's per-row bookkeeping costs more than the query)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
