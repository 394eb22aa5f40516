"""How big the store is, per table, for the admin (what strangers' traffic makes it grow by)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text

from store.db import Store, dialect
from store.models import Base


@dataclass(frozen=True)
class TableSize:
    name: str
    rows: int
    bytes: int | None  # on disk, with indexes (PostgreSQL); None where the store cannot tell per table


async def table_sizes(store: Store) -> list[TableSize]:
    sizes = []
    async with store.read() as session:
        on_postgres = dialect(session) == "postgresql"
        for table in Base.metadata.sorted_tables:
            rows = int(await session.scalar(select(func.count()).select_from(table)) or 0)
            size = None
            if on_postgres:
                size = int(await session.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": table.name}) or 0)
            sizes.append(TableSize(table.name, rows, size))
    return sorted(sizes, key=lambda s: (s.bytes or 0, s.rows), reverse=True)


async def total_bytes(store: Store) -> int:
    """The whole database on disk."""
    async with store.read() as session:
        if dialect(session) == "postgresql":
            return int(await session.scalar(text("SELECT pg_database_size(current_database())")) or 0)
        pages = int(await session.scalar(text("PRAGMA page_count")) or 0)
        return pages * int(await session.scalar(text("PRAGMA page_size")) or 0)
