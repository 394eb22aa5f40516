"""The start-up shortcut that skips Alembic on a store at the newest revision must agree with Alembic itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from store.db import open_store
from store.migrate import MigrationError, alembic_config, head_revision, migrate_apart


def test_head_read_from_the_files_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_two_heads_are_not_mistaken_for_one(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    (tmp_path / "c.py").write_text('revision: str = "c"\ndown_revision: str | None = "a"\n')
    assert head_revision(tmp_path) is None
    (tmp_path / "c.py").unlink()
    assert head_revision(tmp_path) == "b"


async def test_a_new_store_is_migrated_by_a_child_process_and_a_current_one_is_left_alone(database_url: str) -> None:
    store = open_store(database_url)
    try:
        await migrate_apart(store)  # a new store: its migrations run in `python -m store.migrate`
        async with store.read() as session:
            assert set((await session.execute(text("SELECT version_num FROM alembic_version"))).scalars()) == {
                head_revision()
            }
            await session.execute(text("SELECT count(*) FROM objects"))  # the schema is there
        async with store.write() as session:
            await session.execute(text("UPDATE alembic_version SET version_num = 'not-a-revision'"))
        with pytest.raises(MigrationError, match="the store's migrations failed"):
            await migrate_apart(store)  # the child cannot find that revision: one sentence, not a traceback
    finally:
        await store.close()
