"""INSERT … ON CONFLICT DO NOTHING / DO UPDATE for both dialects."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import affected, dialect

# One statement per (dialect, table, conflict columns), values bound at execution: building an ORM insert with
# `.values(**values)` for every row cost more than the round trip to the database.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def insert_ignore_statement(dialect: str, model: Any, conflict: tuple[str, ...]) -> Any:
    key = (dialect, model, conflict)
    statement = _STATEMENTS.get(key)
    if statement is None:
        module: Any = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(model.__table__).on_conflict_do_nothing(index_elements=list(conflict))
        _STATEMENTS[key] = statement
    return statement


async def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any], conflict: tuple[str, ...]) -> bool:
    """Insert a row unless one with the same `conflict` columns exists; True when inserted."""
    statement = insert_ignore_statement(dialect(session), model, conflict)
    result = await session.execute(statement, values)
    return bool(affected(result))


def insert_or_add_statement(dialect: str, model: Any, conflict: tuple[str, ...], column: str) -> Any:
    """INSERT … ON CONFLICT (conflict) DO UPDATE SET column = table.column + excluded.column: the row's `column`
    grows by the value bound for it, or the row is created with that value."""
    key = (dialect, model, conflict, column)
    statement = _STATEMENTS.get(key)
    if statement is None:
        module: Any = postgresql if dialect == "postgresql" else sqlite
        insert = module.insert(model.__table__)
        target = model.__table__.c[column]
        statement = insert.on_conflict_do_update(
            index_elements=list(conflict), set_={column: target + insert.excluded[column]}
        )
        _STATEMENTS[key] = statement
    return statement
