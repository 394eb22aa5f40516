"""Collection sizes: `count()` reads a size kept by add/remove/remove_many in their own transaction, so it must
stay exactly the number of items whatever order, repetition or concurrency they come in; and the migration that
introduced the sizes fills them in for a database that already has items. A transaction writes its changes to
the sizes as it commits: it counts them before, and holds no size row until then."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select, text

from store import Store, collections
from store.db import open_store
from store.migrate import alembic_config
from store.models import Base, CollectionItem, CollectionSize

C = "https://me.example/actor/followers"
OTHER = "https://me.example/actor/following"


def u(i: int) -> str:
    return f"https://x.example/u/{i}"


async def true_count(session: Any, collection: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(CollectionItem).where(CollectionItem.collection == collection)
        )
        or 0
    )


async def assert_exact(store: Store, expected: dict[str, int]) -> None:
    async with store.read() as session:
        for collection, size in expected.items():
            assert await collections.count(session, collection) == size, collection
            assert await true_count(session, collection) == size, collection


async def test_unknown_collection_counts_zero(store: Store) -> None:
    async with store.read() as session:
        assert await collections.count(session, "https://me.example/nothing") == 0


async def test_add_remove_duplicates_and_absent_items_keep_the_count_exact(store: Store) -> None:
    async with store.write() as session:
        for i in range(5):
            assert await collections.add(session, C, u(i), float(i))
        assert not await collections.add(session, C, u(0), 9.0)  # already there
        assert not await collections.add(session, C, u(4), 9.0)
        assert await collections.add(session, OTHER, u(0), 1.0)
        assert await collections.count(session, C) == 5  # visible inside the writing transaction too
    await assert_exact(store, {C: 5, OTHER: 1})

    async with store.write() as session:
        assert await collections.remove(session, C, u(1))
        assert not await collections.remove(session, C, u(1))  # gone already
        assert not await collections.remove(session, C, "https://x.example/never")
        assert not await collections.remove(session, "https://me.example/nothing", u(0))
    await assert_exact(store, {C: 4, OTHER: 1, "https://me.example/nothing": 0})

    async with store.write() as session:
        for i in range(5):
            await collections.remove(session, C, u(i))
    await assert_exact(store, {C: 0, OTHER: 1})
    async with store.write() as session:
        assert await collections.add(session, C, u(7), 10.0)  # back from empty
    await assert_exact(store, {C: 1, OTHER: 1})


async def test_a_rolled_back_add_leaves_the_count_alone(store: Store) -> None:
    async with store.write() as session:
        await collections.add(session, C, u(0), 1.0)

    class Boom(Exception):
        pass

    try:
        async with store.write() as session:
            assert await collections.add(session, C, u(1), 2.0)
            assert await collections.remove(session, C, u(0))
            raise Boom
    except Boom:
        pass
    await assert_exact(store, {C: 1})


async def test_remove_many(store: Store) -> None:
    async with store.write() as session:
        for i in range(10):
            await collections.add(session, C, u(i), float(i))
            await collections.add(session, OTHER, u(i), float(i))
    async with store.write() as session:
        assert await collections.remove_many(session, C, []) == 0
        # present, absent, and repeated items: only the ones really there count
        assert await collections.remove_many(session, C, [u(1), u(3), u(3), "https://x.example/never", u(5)]) == 3
        assert await collections.remove_many(session, "https://me.example/nothing", [u(1)]) == 0
    await assert_exact(store, {C: 7, OTHER: 10})
    async with store.read() as session:
        left = {row.item for row in await collections.all_items(session, C)}
    assert left == {u(i) for i in range(10)} - {u(1), u(3), u(5)}


async def test_remove_many_of_more_items_than_one_statement_takes(store: Store) -> None:
    n = 2500
    async with store.write() as session:
        for i in range(n):
            await collections.add(session, C, u(i), float(i))
    async with store.write() as session:
        gone = [u(i) for i in range(0, n, 2)] + [f"https://x.example/absent/{i}" for i in range(500)]
        assert await collections.remove_many(session, C, gone) == n // 2
    await assert_exact(store, {C: n // 2})


async def test_concurrent_writers_keep_the_count_exact(store: Store, database_url: str) -> None:
    """Writers on separate engines (as separate processes would be) add overlapping items and remove some:
    on PostgreSQL they run side by side, on SQLite they queue; either way the size matches the rows."""
    async with store.write() as session:
        for i in range(20):
            await collections.add(session, C, u(1000 + i), 0.0)
    engines = [open_store(database_url, pool_size=3) for _ in range(4)]
    start = asyncio.Event()

    async def writer(w: int) -> None:
        await start.wait()
        for i in range(15):
            async with engines[w % len(engines)].write() as session:
                # every writer adds the same 15 items: each is inserted once, the rest are no-ops
                await collections.add(session, C, u(i), float(i))
                await collections.add(session, C, u(100 * (w + 1) + i), float(i))  # and 15 of its own
                if i % 5 == 0:
                    await collections.remove(session, C, u(1000 + i + w % 5))
                if i == 7:
                    await collections.remove_many(session, C, [u(1019), u(1018), u(100 * (w + 1))])

    try:
        tasks = [asyncio.create_task(writer(w)) for w in range(8)]
        await asyncio.sleep(0)
        start.set()
        await asyncio.gather(*tasks)
    finally:
        for engine in engines:
            await engine.close()

    async with store.read() as session:
        size = await collections.count(session, C)
        assert size == await true_count(session, C)
    # 15 shared + 8 x 15 own - 8 own removed + the 3 of the 20 first items no writer removed
    assert size == 15 + 8 * 15 - 8 + 3


async def test_sizes_are_written_at_commit_so_an_open_transaction_holds_up_no_other(
    store: Store, database_url: str
) -> None:
    """A size row is every buyer's row: a transaction that added an item still has its other statements to run,
    and another transaction adding to the same collection must not wait for them (PostgreSQL; SQLite has one
    writer at a time anyway). Both counts come out right once both commit."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite takes one writer at a time: the second transaction waits for the first by design")
    async with store.write() as session:
        await collections.add(session, C, u(0), 0.0)
    other = open_store(database_url, pool_size=2)
    try:
        async with store.write() as session:
            assert await collections.add(session, C, u(1), 1.0)
            assert await collections.remove(session, C, u(0))
            assert await collections.add(session, OTHER, u(1), 1.0)
            assert await collections.count(session, C) == 1  # its own changes, not yet written, are counted
            assert await collections.counts(session, [C, OTHER]) == {C: 1, OTHER: 1}

            async def add_elsewhere() -> None:
                async with other.write() as elsewhere:
                    assert await collections.add(elsewhere, C, u(2), 2.0)

            await asyncio.wait_for(add_elsewhere(), timeout=5.0)  # committed while this one is still open
        await assert_exact(store, {C: 2, OTHER: 1})
    finally:
        await other.close()


# The migration that added the sizes.


def _schema_at(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _downgrade_to(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _model_differences(connection: Connection) -> list[Any]:
    return compare_metadata(MigrationContext.configure(connection), Base.metadata)


async def test_migration_backfills_sizes_of_an_existing_database(database_url: str) -> None:
    store = open_store(database_url)
    try:
        async with store.writer.begin() as connection:
            await connection.run_sync(_schema_at, "0001")
            assert "collection_sizes" not in await connection.run_sync(_tables)
            rows = [{"c": C, "i": u(i), "t": float(i)} for i in range(30)]
            rows += [{"c": OTHER, "i": u(i), "t": float(i)} for i in range(7)]
            rows += [{"c": "https://me.example/x", "i": u(0), "t": 0.0}]
            await connection.execute(
                text("INSERT INTO collection_items (collection, item, data, created_at) VALUES (:c, :i, NULL, :t)"),
                rows,
            )
        async with store.writer.begin() as connection:
            await connection.run_sync(_schema_at, "head")
        async with store.read() as session:
            sizes = dict((await session.execute(select(CollectionSize.collection, CollectionSize.size))).all())
        assert sizes == {C: 30, OTHER: 7, "https://me.example/x": 1}
        await assert_exact(store, {C: 30, OTHER: 7, "https://me.example/x": 1, "https://me.example/empty": 0})

        # and the sizes keep going from there
        async with store.write() as session:
            assert await collections.add(session, C, u(30), 30.0)
            assert await collections.remove(session, OTHER, u(0))
        await assert_exact(store, {C: 31, OTHER: 6})

        # the downgrade drops the table and only that; upgrading again backfills afresh
        async with store.writer.begin() as connection:
            await connection.run_sync(_downgrade_to, "0001")
            assert "collection_sizes" not in await connection.run_sync(_tables)
            assert "collection_items" in await connection.run_sync(_tables)
        async with store.writer.begin() as connection:
            await connection.run_sync(_schema_at, "head")
        await assert_exact(store, {C: 31, OTHER: 6})
    finally:
        await store.close()


async def test_models_match_the_migrations(store: Store) -> None:
    """The migrated schema is the one the models describe (what `alembic revision --autogenerate` would see)."""
    async with store.writer.connect() as connection:
        assert await connection.run_sync(_model_differences) == []
