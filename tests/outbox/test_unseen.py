"""outbox/unseen.py: the delivery worker's bookkeeping leaves the write generation (what kept pages are kept under)
where it was, unless another commit moved it meanwhile."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from outbox.unseen import unseen_write
from store.db import open_store


async def test_bookkeeping_leaves_the_generation_but_not_another_commit(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        before = store.generation
        async with unseen_write(store) as session:
            await session.execute(text("SELECT 1"))
        assert store.generation == before, "bookkeeping only: kept pages stay"

        async with unseen_write(store) as session:
            async with store.read():
                pass
            store.generation += 1  # another commit of this process while the bookkeeping ran
        assert store.generation == before + 2, "another commit's move is kept"
    finally:
        await store.close()
