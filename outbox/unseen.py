"""The delivery worker's own bookkeeping (leases, results, delivery rows) changes nothing a visitor's page shows,
so its transactions leave the store's write generation where it was: kept pages (actors/page_cache.py) are kept
under it, and a fan-out's commits, dozens a second, would otherwise have every reader wait for a page rendered
again from the same values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Store


@dataclass
class Seen:
    shown: bool = False  # set when the transaction changes what a page may show after all (followers gone)


@asynccontextmanager
async def unseen_write(store: Store) -> AsyncIterator[tuple[AsyncSession, Seen]]:
    """`store.write()`, after whose commit the generation is put back, unless the transaction was `shown` or
    another commit of this process moved the generation meanwhile (then it stays moved on)."""
    before = store.generation
    seen = Seen()
    async with store.write() as session:
        yield session, seen
    if not seen.shown and store.generation == before + 1:
        store.generation = before
