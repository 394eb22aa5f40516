"""A pooled PostgreSQL connection's own asyncpg connection, for the few hot statements that are cheaper sent
to asyncpg directly than compiled and run through SQLAlchemy (the inbox's ledger, the delivery worker's round)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg  # type: ignore[import-untyped]  # (no type hints of its own)
from sqlalchemy.util import greenlet_spawn

from store.db import Store


@asynccontextmanager
async def driver_connection(store: Store) -> AsyncIterator[asyncpg.Connection]:
    """One that fails other than with an error PostgreSQL reported (it broke, or the caller was cancelled
    mid-statement) is discarded rather than handed to the next user."""
    pooled = await store.writer.raw_connection()
    try:
        yield pooled.driver_connection
    except asyncpg.PostgresError:
        await greenlet_spawn(pooled.close)
        raise
    except BaseException:
        await greenlet_spawn(pooled.invalidate)
        raise
    else:
        await greenlet_spawn(pooled.close)
