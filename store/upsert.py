"""INSERT … ON CONFLICT DO NOTHING for both dialects."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any], conflict: tuple[str, ...]) -> bool:
    """Insert a row unless one with the same `conflict` columns exists; True when inserted."""
    dialect = session.bind.dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(model).values(**values).on_conflict_do_nothing(index_elements=list(conflict))
    result = await session.execute(statement)
    return bool(result.rowcount)
