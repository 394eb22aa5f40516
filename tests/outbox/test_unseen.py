"""outbox/unseen.py: the delivery worker's bookkeeping leaves the write generation (what kept pages are kept under)
where it was, unless it changed what a page shows or another commit moved it meanwhile."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from outbox.unseen import unseen_write
from store.db import open_store


async def test_bookkeeping_leaves_the_generation_but_not_another_commit_or_a_shown_change(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        before = store.generation
        async with unseen_write(store) as (session, _):
            await session.execute(text("SELECT 1"))
        assert store.generation == before, "bookkeeping only: kept pages stay"

        async with unseen_write(store) as (session, seen):
            seen.shown = True
        assert store.generation == before + 1, "a change pages show moves it on"

        async with unseen_write(store) as (session, _):
            async with store.read():
                pass
            store.generation += 1  # another commit of this process while the bookkeeping ran
        assert store.generation == before + 3, "another commit's move is kept"
    finally:
        await store.close()
