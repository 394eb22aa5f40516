"""Bounded counters: concurrent takes from separate connections (separate engines, as separate processes
would have) never push a counter past its limit."""

from __future__ import annotations

import asyncio

import pytest

from store import Store, counters
from store.db import open_store

SOLD = "https://events.example/events/gig/sold"


async def test_take_within_and_beyond_the_limit(store: Store) -> None:
    async with store.write() as session:
        await counters.ensure(session, SOLD, 3)
    async with store.write() as session:
        assert await counters.take(session, SOLD, 2) == 2
        assert await counters.take(session, SOLD, 2) is None
        assert await counters.take(session, SOLD, 1) == 3
        assert await counters.take(session, SOLD, 1) is None
    async with store.read() as session:
        assert await counters.value(session, SOLD) == 3
        assert await counters.value(session, "https://events.example/nothing") == 0


async def test_unknown_counter_takes_nothing(store: Store) -> None:
    async with store.write() as session:
        assert await counters.take(session, "https://events.example/none", 1) is None


async def test_ensure_keeps_the_value_and_updates_the_limit(store: Store) -> None:
    async with store.write() as session:
        await counters.ensure(session, SOLD, 2)
        assert await counters.take(session, SOLD, 2) == 2
        await counters.ensure(session, SOLD, 5)  # capacity raised
        assert await counters.take(session, SOLD, 3) == 5
        await counters.ensure(session, SOLD, None)  # None leaves the limit alone
        assert await counters.take(session, SOLD, 1) is None
    async with store.write() as session:
        await counters.ensure(session, "https://events.example/free", None)
        assert await counters.take(session, "https://events.example/free", 10**6) == 10**6


@pytest.mark.parametrize(("limit", "amount", "buyers"), [(10, 1, 40), (10, 3, 25)])
async def test_concurrent_takes_never_exceed_the_limit(
    store: Store, database_url: str, limit: int, amount: int, buyers: int
) -> None:
    async with store.write() as session:
        await counters.ensure(session, SOLD, limit)
    engines = [open_store(database_url, pool_size=2) for _ in range(4)]
    start = asyncio.Event()

    async def buy(i: int) -> int | None:
        await start.wait()
        async with engines[i % len(engines)].write() as session:
            return await counters.take(session, SOLD, amount)

    tasks = [asyncio.create_task(buy(i)) for i in range(buyers)]
    await asyncio.sleep(0)  # every buyer is waiting on the same start line
    start.set()
    results = await asyncio.gather(*tasks)
    for engine in engines:
        await engine.close()

    granted = [r for r in results if r is not None]
    assert len(granted) == limit // amount
    assert sorted(granted) == [amount * (i + 1) for i in range(limit // amount)]  # each take saw its own value
    async with store.read() as session:
        assert await counters.value(session, SOLD) == amount * (limit // amount) <= limit
