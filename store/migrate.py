"""Apply the Alembic migrations at start-up, once even when several processes start together.

A store already at the newest revision is recognised without loading Alembic. A long-lived process (a peer, a
worker) has anything newer applied by a short-lived child process (`python -m store.migrate`, the store's URL on
its standard input), so that it never carries Alembic's 10 MiB resident for the rest of its life."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from store.db import Store, open_store

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 7_411_123_905
_ASSIGNMENT = re.compile(r'^(revision|down_revision)\s*(?::[^=]*)?=\s*["\']([^"\']+)["\']', re.MULTILINE)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The one revision no other migration builds on, read from the migration files themselves;
    None when that is not a single revision (a branch, or a file this reading does not understand)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
        if "down_revision" in found:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _current_revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()  # a new store
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


class MigrationError(Exception):
    """The store's migrations could not be applied; the message says why in a sentence."""


def _at_head(connection: Connection) -> bool:
    head = head_revision()
    return head is not None and _current_revisions(connection) == {head}


def _upgrade(connection: Connection) -> None:
    if _at_head(connection):
        return
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")


async def migrate(store: Store) -> None:
    """Bring the store to the newest revision in this process."""
    async with store.writer.begin() as connection:
        await connection.run_sync(_upgrade)


async def migrate_apart(store: Store) -> None:
    """Bring the store to the newest revision, any migration run by a child process (see the module's note).
    An in-memory SQLite store exists only in this process, so it is migrated here."""
    async with store.writer.begin() as connection:
        if await connection.run_sync(_at_head):
            return
    if store.dialect == "sqlite" and ":memory:" in store.url:
        await migrate(store)
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "store.migrate",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await child.communicate(store.url.encode())
    if child.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        raise MigrationError(f"the store's migrations failed: {lines[-1] if lines else f'exit {child.returncode}'}")


async def _migrate_url(url: str) -> None:
    store = open_store(url)
    try:
        await migrate(store)
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(_migrate_url(sys.stdin.read().strip()))
