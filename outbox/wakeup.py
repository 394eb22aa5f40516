"""Waking delivery workers in other processes when work is committed, so that an idle worker need not poll.

On PostgreSQL whoever commits work for the workers sends a NOTIFY in the same transaction (delivered at the
commit, never on a rollback) and every worker LISTENs on a connection of its own. SQLite has no such channel; a
worker there watches the database files, which change at every commit (WAL mode), with one `stat` a second. A
notification lost while the listening connection was down is made good by the worker's slow safety poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # (no type hints of its own)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Store, dialect

log = logging.getLogger(__name__)

CHANNEL = "rose_ash_outbox"
RECONNECT_AFTER = 5.0  # seconds between attempts to get the listening connection back
SQLITE_EVERY = 1.0  # seconds between looks at the SQLite files


DELIVERIES = "deliveries"  # the payload of a wake-up for delivery rows only: no fan-out to look for


async def notify_workers(session: AsyncSession, *, fanouts: bool = True) -> None:
    """Tell the other processes' workers, at the commit of the caller's transaction, that there is work; without
    `fanouts`, only delivery rows, so a busy worker need not look for fan-outs to expand."""
    if dialect(session) == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}" if fanouts else f"NOTIFY {CHANNEL}, '{DELIVERIES}'"))


async def listen_for_work(store: Store, wake: Callable[[bool], None]) -> None:
    """Call `wake(fanouts)` whenever another process may have committed work (`fanouts`: a fan-out may be among
    it); runs until cancelled."""
    if store.dialect == "postgresql":
        await _listen_postgres(store, wake)
    elif store.dialect == "sqlite":
        path = store.writer.url.database
        if path and path != ":memory:":
            await _watch_sqlite(Path(path), wake)


async def _listen_postgres(store: Store, wake: Callable[[bool], None]) -> None:
    dsn = store.writer.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            connection = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("cannot listen for new deliveries (%s); trying again in %g s", exc, RECONNECT_AFTER)
            await asyncio.sleep(RECONNECT_AFTER)
            continue
        try:
            await _listen_until_lost(connection, wake)
            log.warning("the connection listening for new deliveries was lost; listening again")
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("listening for new deliveries failed (%s); trying again in %g s", exc, RECONNECT_AFTER)
            await asyncio.sleep(RECONNECT_AFTER)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(connection.close(timeout=2.0))


async def _listen_until_lost(connection: Any, wake: Callable[[bool], None]) -> None:
    lost = asyncio.Event()
    connection.add_termination_listener(lambda _connection: lost.set())
    await connection.add_listener(CHANNEL, lambda _c, _pid, _channel, payload: wake(payload != DELIVERIES))
    wake(True)  # whatever was committed while nobody listened
    await lost.wait()


def _signature(path: Path) -> tuple[tuple[int, int], ...]:
    marks = []
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            info = os.stat(file)
            marks.append((info.st_mtime_ns, info.st_size))
        except OSError:
            marks.append((0, 0))
    return tuple(marks)


async def _watch_sqlite(path: Path, wake: Callable[[bool], None]) -> None:
    seen = _signature(path)
    while True:
        await asyncio.sleep(SQLITE_EVERY)
        now = _signature(path)
        if now != seen:
            seen = now
            wake(True)
