"""The inbox's ledger (inbox_activities): which of some activity ids it holds, and recording many rows at once.

Both run once for a batch of concurrent requests (inbox/batch.py). On PostgreSQL each is one statement sent to
asyncpg directly, prepared once for any batch size (the ids and rows go as arrays), outside a transaction
block: a single INSERT is atomic and committed by the time its answer arrives, so every request still answers
only after its own row is committed. Through SQLAlchemy (session, BEGIN, a multi-row VALUES compiled per batch
size, COMMIT) a batch cost more CPU than verifying the signatures of all its requests. SQLite goes through
`Store.write()`, whose single writer and `BEGIN IMMEDIATE` it needs."""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import bindparam, select

from store.db import Store
from store.driver import driver_connection
from store.models import InboxActivity
from store.upsert import insert_ignore_statement

Row = dict[str, Any]  # inbox.dispatch.inbox_row

_KNOWN = "SELECT id FROM inbox_activities WHERE id = ANY($1::varchar[])"
_RECORD = """
INSERT INTO inbox_activities (id, actor, type, data, recipient, state, error, received_at)
SELECT r.id, r.actor, r.type, r.data::json, r.recipient, r.state, NULL, r.received_at
FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::text[], $5::varchar[], $6::varchar[], $7::float8[])
    AS r(id, actor, type, data, recipient, state, received_at)
ON CONFLICT (id) DO NOTHING
RETURNING id
"""


async def known(store: Store, ids: list[str]) -> set[str]:
    """Those of `ids` that are recorded."""
    unique = list(set(ids))
    if store.dialect == "postgresql":
        async with driver_connection(store) as connection:
            return {row[0] for row in await connection.fetch(_KNOWN, unique)}
    async with store.read() as session:
        result = await (await session.connection()).execute(_known_statement(), {"ids": unique})
        return set(result.scalars())


async def record(store: Store, rows: list[Row]) -> set[str]:
    """Insert the rows (distinct ids) unless recorded already; the ids this call inserted, all committed."""
    if store.dialect == "postgresql":
        columns = ("id", "actor", "type", "data", "recipient", "state", "received_at")
        arrays = [[row[c] for row in rows] for c in columns]
        arrays[3] = [json.dumps(data) for data in arrays[3]]  # as SQLAlchemy's JSON type serialises
        try:
            async with driver_connection(store) as connection:
                inserted = {row[0] for row in await connection.fetch(_RECORD, *arrays)}
        finally:  # a write moves the generation on, as `Store.write()` does (actors/page_cache.py)
            store.generation += 1
        return inserted
    async with store.write() as session:
        result = await (await session.connection()).execute(_record_statement(), rows)
        return set(result.scalars())


@functools.cache
def _known_statement() -> Any:
    """SQLite's, built once: building a statement per batch cost more than running it."""
    column = InboxActivity.__table__.c.id
    return select(column).where(column.in_(bindparam("ids", expanding=True)))


@functools.cache
def _record_statement() -> Any:
    return insert_ignore_statement("sqlite", InboxActivity, ("id",)).returning(InboxActivity.__table__.c.id)
