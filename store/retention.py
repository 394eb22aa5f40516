"""What the store keeps of what strangers send: an accepted activity's id forever (it makes a replay a no-op),
its body only for a retention period, unless a listener failed on it (then the admin needs it)."""

from __future__ import annotations

from sqlalchemy import Text, cast, func, update

from store.db import Store, affected, table_of
from store.inbox_states import RecordState
from store.models import InboxActivity

PRUNED: dict[str, object] = {}  # the body of an activity past its retention


async def prune_inbox(store: Store, now: float, retention: float, batch: int = 5000) -> int:
    """Empty the bodies of activities received more than `retention` seconds ago; how many were emptied.
    In batches, so a first run over a large store does not hold one long write."""
    table = table_of(InboxActivity)
    emptied = 0
    while True:
        async with store.write() as session:
            due = (
                table.select()
                .with_only_columns(table.c.id)
                .where(
                    table.c.received_at < now - retention,
                    table.c.state != RecordState.FAILED,
                    func.length(cast(table.c.data, Text)) > 2,  # not pruned yet ("{}")
                )
                .limit(batch)
                .scalar_subquery()
            )
            result = await session.execute(update(table).where(table.c.id.in_(due)).values(data=PRUNED))
            count = affected(result)
        emptied += count
        if count < batch:
            return emptied
