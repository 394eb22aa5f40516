"""The migrations build exactly the schema the models declare, on both stores."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from store import Store
from store.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(store: Store) -> None:
    async with store.writer.connect() as connection:
        differences = await connection.run_sync(_differences)
    ignored = {"alembic_version"}
    real = [d for d in differences if not (d[0] == "remove_table" and d[1].name in ignored)]
    assert real == [], real
