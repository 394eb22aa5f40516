"""Apply the Alembic migrations at start-up, once even when several processes start together."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from store.db import Store

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 7_411_123_905


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")


async def migrate(store: Store) -> None:
    async with store.writer.begin() as connection:
        await connection.run_sync(_upgrade)
