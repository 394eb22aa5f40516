"""The delivery worker's own bookkeeping (leases, results, delivery rows) changes nothing a visitor's page shows,
so its transactions leave the store's write generation where it was: kept pages (actors/page_cache.py) are kept
under it, and a fan-out's commits, dozens a second, would otherwise have every reader wait for a page rendered
again from the same values. (A 410 that drops followers does change pages: that goes through `Store.write()`.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Store


@asynccontextmanager
async def unseen_write(store: Store) -> AsyncIterator[AsyncSession]:
    """`store.write()`, after whose commit the generation is put back, unless another commit of this process
    moved the generation meanwhile (then it stays moved on)."""
    before = store.generation
    async with store.write() as session:
        yield session
    if store.generation == before + 1:
        store.generation = before
