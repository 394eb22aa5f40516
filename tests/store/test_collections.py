"""Ordered collections: set semantics, counts, and keyset paging that is correct in both directions and
costs the same on page 1,000 of 100k items as on page 1 (shown by the work the database reports, not by
timing)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from store import Store, collections

C = "https://me.example/actor/followers"
OTHER = "https://me.example/actor/following"
SIZE = 20


async def fill(store: Store, n: int, collection: str = C, interleave: str | None = None) -> list[str]:
    """Add n items (oldest first); with `interleave`, another collection's items sit between them."""
    items = [f"https://x.example/u/{i}" for i in range(n)]
    async with store.write() as session:
        for i, item in enumerate(items):
            assert await collections.add(session, collection, item, float(i))
            if interleave:
                await collections.add(session, interleave, f"{item}/other", float(i))
    return items


async def test_add_is_a_set_and_remove_reports(store: Store) -> None:
    async with store.write() as session:
        assert await collections.add(session, C, "https://x.example/a", 1.0, {"note": 1})
        assert not await collections.add(session, C, "https://x.example/a", 2.0)
        assert await collections.add(session, OTHER, "https://x.example/a", 3.0)
    async with store.read() as session:
        assert await collections.count(session, C) == 1
        assert await collections.contains(session, C, "https://x.example/a")
        row = await collections.get(session, C, "https://x.example/a")
        assert row is not None and row.data == {"note": 1} and row.created_at == 1.0
    async with store.write() as session:
        await collections.set_data(session, C, "https://x.example/a", {"note": 2})
        assert await collections.remove(session, C, "https://x.example/a")
        assert not await collections.remove(session, C, "https://x.example/a")
    async with store.read() as session:
        assert await collections.count(session, C) == 0
        assert await collections.count(session, OTHER) == 1
        assert not await collections.contains(session, C, "https://x.example/a")


async def test_all_items_in_both_orders(store: Store) -> None:
    items = await fill(store, 5, interleave=OTHER)
    async with store.read() as session:
        assert [r.item for r in await collections.all_items(session, C)] == items[::-1]
        assert [r.item for r in await collections.all_items(session, C, newest_first=False)] == items


async def test_empty_collection_has_one_empty_page(store: Store) -> None:
    async with store.read() as session:
        page = await collections.page(session, C, size=SIZE)
    assert (page.items, page.next_cursor, page.prev_cursor) == ([], None, None)


async def walk_forward(store: Store, size: int) -> list[list[str]]:
    pages, before = [], None
    async with store.read() as session:
        while True:
            page = await collections.page(session, C, before=before, size=size)
            pages.append([r.item for r in page.items])
            if page.next_cursor is None:
                return pages
            before = page.next_cursor
            assert len(pages) < 1000


async def walk_back(store: Store, size: int, after: int) -> list[list[str]]:
    pages = []
    async with store.read() as session:
        while True:
            page = await collections.page(session, C, after=after, size=size)
            pages.append([r.item for r in page.items])
            if page.prev_cursor is None:
                return pages
            after = page.prev_cursor
            assert len(pages) < 1000


@pytest.mark.parametrize("n", [1, 19, 20, 21, 40, 57])
async def test_walk_every_page_forward_and_back(store: Store, n: int) -> None:
    items = await fill(store, n, interleave=OTHER)
    newest_first = items[::-1]
    forward = await walk_forward(store, SIZE)
    assert [item for page in forward for item in page] == newest_first
    assert all(len(page) == SIZE for page in forward[:-1])
    assert len(forward) == -(-n // SIZE)

    # From the oldest item, `after` walks back to the newest, page by page, without gaps or repeats.
    async with store.read() as session:
        oldest = (await collections.all_items(session, C, newest_first=False))[0].seq
        last = await collections.page(session, C, before=oldest + 1, size=SIZE)
    assert [r.item for r in last.items] == [items[0]]
    assert last.next_cursor is None
    assert (last.prev_cursor is not None) == (n > 1)
    if n > 1:
        back = await walk_back(store, SIZE, after=oldest)
        assert [item for page in reversed(back) for item in page] == newest_first[:-1]
        assert all(len(page) == SIZE for page in back[:-1])


async def test_cursors_link_pages_both_ways(store: Store) -> None:
    await fill(store, 50)
    async with store.read() as session:
        first = await collections.page(session, C, size=SIZE)
        assert first.prev_cursor is None and first.next_cursor is not None
        second = await collections.page(session, C, before=first.next_cursor, size=SIZE)
        assert second.prev_cursor is not None and second.next_cursor is not None
        # `prev` of page two is page one again
        again = await collections.page(session, C, after=second.prev_cursor, size=SIZE)
        assert [r.item for r in again.items] == [r.item for r in first.items]
        assert again.prev_cursor is None
        third = await collections.page(session, C, before=second.next_cursor, size=SIZE)
        assert len(third.items) == 10 and third.next_cursor is None


async def test_paging_survives_concurrent_inserts(store: Store) -> None:
    """Keyset cursors do not shift when new items arrive between page loads (OFFSET paging would repeat)."""
    items = await fill(store, 45)
    async with store.read() as session:
        first = await collections.page(session, C, size=SIZE)
    async with store.write() as session:
        for i in range(5):
            await collections.add(session, C, f"https://x.example/new/{i}", 100.0 + i)
    async with store.read() as session:
        second = await collections.page(session, C, before=first.next_cursor, size=SIZE)
    assert [r.item for r in second.items] == items[::-1][SIZE : 2 * SIZE]


# Page 1,000 of 100k items: the same work as page 1.

BIG = 100_000


async def bulk_fill(store: Store) -> None:
    """100k items of C interleaved with 100k of another collection, generated inside the database."""
    if store.dialect == "sqlite":
        statement = """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :big)
            INSERT INTO collection_items (collection, item, data, created_at)
            SELECT c.name, 'https://x.example/u/' || n.i, NULL, n.i
            FROM n CROSS JOIN (SELECT :c AS name, 0 AS o UNION ALL SELECT :other, 1) AS c
            ORDER BY n.i, c.o"""
    else:
        statement = """
            INSERT INTO collection_items (collection, item, data, created_at)
            SELECT c.name, 'https://x.example/u/' || n.i, NULL, n.i
            FROM generate_series(0, :big - 1) AS n(i) CROSS JOIN (VALUES (:c, 0), (:other, 1)) AS c(name, o)
            ORDER BY n.i, c.o"""
    async with store.write() as session:
        await session.execute(text(statement), {"big": BIG, "c": C, "other": OTHER})
    async with store.write() as session:
        await session.execute(text("ANALYZE"))


@contextmanager
def captured(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (as sent to the driver, with their parameters) run on the reader engine."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(store.reader.sync_engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(store.reader.sync_engine, "before_cursor_execute", capture)


async def page_queries(store: Store, number: int) -> tuple[list[tuple[str, Any]], list[str]]:
    """The queries `collections.page` runs for page `number` (cursor taken from the item before it)."""
    async with store.read() as session:
        if number == 1:
            before = None
        else:
            # the cursor a client holds after page number-1: the seq of that page's last item
            anchor = await session.scalar(
                text(
                    "SELECT seq FROM collection_items WHERE collection = :c ORDER BY seq DESC LIMIT 1 OFFSET :o"
                ).bindparams(c=C, o=(number - 1) * SIZE - 1)
            )
            before = int(anchor)
        with captured(store) as statements:
            page = await collections.page(session, C, before=before, size=SIZE)
    assert len(page.items) == SIZE
    return statements, [r.item for r in page.items]


def offset_query(store: Store, number: int) -> tuple[str, Any]:
    """What OFFSET paging would run for the same page, to show the measure tells the two apart."""
    if store.dialect == "sqlite":
        return (
            "SELECT * FROM collection_items WHERE collection = ? ORDER BY seq DESC LIMIT ? OFFSET ?",
            (C, SIZE + 1, (number - 1) * SIZE),
        )
    return (
        "SELECT * FROM collection_items WHERE collection = $1::VARCHAR ORDER BY seq DESC LIMIT $2::INTEGER "
        "OFFSET $3::INTEGER",
        (C, SIZE + 1, (number - 1) * SIZE),
    )


def sqlite_cost(path: str, statement: str, parameters: Any) -> tuple[int, str]:
    """Virtual-machine steps SQLite takes for a query (a deterministic work count) and its plan."""
    conn = sqlite3.connect(path)
    try:
        steps = 0

        def tick() -> int:
            nonlocal steps
            steps += 1
            return 0

        # The plan first: it loads the schema, whose reading (its steps grow with every table) is no work of
        # the query's.
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, parameters))
        conn.set_progress_handler(tick, 1)
        conn.execute(statement, parameters).fetchall()
        conn.set_progress_handler(None, 1)
        return steps, plan
    finally:
        conn.close()


async def postgres_cost(store: Store, statement: str, parameters: Any) -> tuple[int, str]:
    """Rows PostgreSQL reads for a query (from EXPLAIN ANALYZE: rows each scan returned plus rows its filter
    threw away) and the plan's node types."""
    async with store.read() as session:
        conn = await session.connection()
        result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
        raw = result.scalar_one()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]

    def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("Plans", []):
            yield from walk(child)

    nodes = list(walk(plan))
    scanned = sum(
        (int(n.get("Actual Rows", 0)) + int(n.get("Rows Removed by Filter", 0))) * int(n.get("Actual Loops", 1))
        for n in nodes
        if "Scan" in n["Node Type"]
    )
    kinds = " | ".join(f"{n['Node Type']} {n.get('Index Name', '')}".strip() for n in nodes)
    return scanned, kinds


async def cost(store: Store, statements: list[tuple[str, Any]]) -> tuple[int, list[str]]:
    total, plans = 0, []
    for statement, parameters in statements:
        if store.dialect == "sqlite":
            work, plan = sqlite_cost(store.url.split(":///", 1)[1], statement, parameters)
        else:
            work, plan = await postgres_cost(store, statement, parameters)
        total += work
        plans.append(plan)
    return total, plans


@pytest.mark.slow
async def test_page_1000_of_100k_costs_what_page_1_costs(store: Store) -> None:
    await bulk_fill(store)
    first_sql, first_items = await page_queries(store, 1)
    deep_sql, deep_items = await page_queries(store, 1000)
    assert first_items[0] == f"https://x.example/u/{BIG - 1}"
    assert deep_items[0] == f"https://x.example/u/{BIG - 1 - 999 * SIZE}"

    first_cost, first_plans = await cost(store, first_sql)
    deep_cost, deep_plans = await cost(store, deep_sql)
    offset_cost, _ = await cost(store, [offset_query(store, 1000)])

    # Every query is an index walk in seq order: none sorts or scans the whole table. (SQLite takes the
    # (collection, seq) index; PostgreSQL may prefer walking the primary key backwards and filtering when
    # one collection is half the table — the rows it reads are counted below either way.)
    assert len(first_plans) == 1 and len(deep_plans) == 2, (first_plans, deep_plans)
    for plan in first_plans + deep_plans:
        if store.dialect == "sqlite":
            assert "USING" in plan and "INDEX ix_collection_items_collection_seq" in plan, plan
            assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
        else:
            assert "Index" in plan, (plan, first_cost, deep_cost)
            assert "Sort" not in plan and "Seq Scan" not in plan, plan

    # Page 1,000 asks one more tiny question than page 1 (is there a newer page? one index probe), so
    # it may cost a little more, but nothing that grows with its position.
    if store.dialect == "sqlite":
        assert deep_cost <= 1.5 * first_cost + 100, (first_cost, deep_cost)
    else:
        assert first_cost <= 3 * (SIZE + 1), first_cost
        assert deep_cost <= first_cost + 3, (first_cost, deep_cost)
    # The measure is sensitive: OFFSET paging to the same page does work proportional to the offset.
    assert offset_cost > 50 * deep_cost, (offset_cost, deep_cost)
