"""What the store keeps of what strangers send: an accepted activity's id forever (it makes a replay a no-op),
its body only for a retention period, unless a listener failed on it (then the admin needs it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, Text, and_, cast, func, update

from store.db import Store, affected, table_of
from store.inbox_states import RecordState
from store.models import InboxActivity

PRUNED: dict[str, object] = {}  # the body of an activity past its retention


async def empty_in_batches(
    store: Store, table: Table, due: ColumnElement[bool], values: dict[str, Any], batch: int
) -> int:
    """Set `values` on the rows of `table` matching `due`, `batch` rows a transaction, so a first run over a large
    store does not hold one long write; how many rows. `due` must stop matching a row once it is emptied."""
    emptied = 0
    while True:
        async with store.write() as session:
            ids = table.select().with_only_columns(table.c.id).where(due).limit(batch).scalar_subquery()
            count = affected(await session.execute(update(table).where(table.c.id.in_(ids)).values(**values)))
        emptied += count
        if count < batch:
            return emptied


async def prune_inbox(store: Store, now: float, retention: float, batch: int = 5000) -> int:
    """Empty the bodies of activities received more than `retention` seconds ago; how many were emptied."""
    table = table_of(InboxActivity)
    due = and_(
        table.c.received_at < now - retention,
        table.c.state != RecordState.FAILED,
        func.length(cast(table.c.data, Text)) > 2,  # not pruned yet ("{}")
    )
    return await empty_in_batches(store, table, due, {"data": PRUNED}, batch)
