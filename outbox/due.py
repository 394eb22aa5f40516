"""When the delivery queue next has something to do, so that an idle worker can sleep until then."""

from __future__ import annotations

from sqlalchemy import case, func, select

from outbox.states import DeliveryState, FanOutState
from store.db import Store, table_of
from store.models import Delivery, FanOut


async def next_due(store: Store, now: float) -> float | None:
    """The earliest time a pending delivery or fan-out may be claimed, or None when none is pending.

    A leased one counts from the lease's end (a worker that died lets it lapse then). The scans go by the
    (state, next_attempt_at) indexes, and a queue at rest has few pending rows."""
    earliest: list[float] = []
    async with store.read() as session:
        for table, pending in ((table_of(Delivery), DeliveryState.PENDING), (table_of(FanOut), FanOutState.PENDING)):
            free = func.min(case((table.c.locked_until < now, table.c.next_attempt_at)))
            leased = func.min(case((table.c.locked_until >= now, table.c.locked_until)))
            row = (await session.execute(select(free, leased).where(table.c.state == pending))).one()
            earliest += [float(value) for value in row if value is not None]
    return min(earliest) if earliest else None
