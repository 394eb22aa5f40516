"""The event page's counts kept in the process (actors/events/page_counts.py): kept between views, dropped
when a change to them commits here, kept when it rolls back, and a read that raced a commit is not kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from actors.events.page_counts import changed_after_commit, page_counts

EVENT = "https://events.example/events/rush"


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with AsyncSession(engine) as session:
        yield session
    await engine.dispose()


def reader(sold: list[int], reads: list[int]) -> Any:
    async def read() -> dict[str, Any]:
        reads.append(1)
        return {"sold": sold[0]}

    return read


async def test_kept_until_a_change_commits(session: AsyncSession) -> None:
    sold: list[int] = [0]
    reads: list[int] = []
    event = f"{EVENT}/1"
    assert await page_counts(event, reader(sold, reads)) == {"sold": 0}
    assert await page_counts(event, reader(sold, reads)) == {"sold": 0}
    assert len(reads) == 1  # the second view used what the first read

    async with session.begin():  # a change that rolls back changes nothing
        await session.execute(text("select 1"))
        changed_after_commit(session, event)
        await session.rollback()
    assert await page_counts(event, reader(sold, reads)) == {"sold": 0} and len(reads) == 1

    async with session.begin():  # a sale committed in this process: the next view reads again
        await session.execute(text("select 1"))
        changed_after_commit(session, event)
        sold[0] = 1
    assert await page_counts(event, reader(sold, reads)) == {"sold": 1}
    assert len(reads) == 2


async def test_a_read_that_raced_a_commit_is_not_kept(session: AsyncSession) -> None:
    event = f"{EVENT}/2"
    reads: list[int] = []

    async def racing() -> dict[str, Any]:  # the sale commits while the page's read is under way
        reads.append(1)
        async with session.begin():
            await session.execute(text("select 1"))
            changed_after_commit(session, event)
        return {"sold": 0}

    assert await page_counts(event, racing) == {"sold": 0}
    assert await page_counts(event, reader([1], reads)) == {"sold": 1}
