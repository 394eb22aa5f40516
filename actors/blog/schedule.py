"""Scheduled publication: a housekeeping task publishes each draft whose time has come, once.

The schedule row is deleted by the transaction that publishes, guarded by its due time: two workers (or a
restart mid-way) cannot both publish, and a crash before the commit leaves the row for the next look."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import delete, func, select

from actors.blog.drafts import is_draft, publish
from actors.context import Services
from store import objects
from store.models import ScheduledPublication
from store.outage import log_round_failed

log = logging.getLogger(__name__)
BATCH = 20


async def publish_due(services: Services, now: float) -> list[str]:
    """Publish the drafts due by `now`; answers the ids published."""
    async with services.store.read() as session:
        due = list(
            await session.scalars(
                select(ScheduledPublication.object_id)
                .where(ScheduledPublication.actor == services.actor.name, ScheduledPublication.due_at <= now)
                .order_by(ScheduledPublication.due_at)
                .limit(BATCH)
            )
        )
    published: list[str] = []
    for object_id in due:
        async with services.store.write() as session:
            claimed = await session.execute(
                delete(ScheduledPublication).where(
                    ScheduledPublication.object_id == object_id, ScheduledPublication.due_at <= now
                )
            )
            if getattr(claimed, "rowcount", 0) != 1:
                continue  # another worker published it, or the editor changed its time
            row = await objects.get(session, object_id)
            if row is not None and row.deleted_at is None and is_draft(row):
                await publish(session, services, row)
                published.append(object_id)
    return published


async def next_due(services: Services) -> float | None:
    async with services.store.read() as session:
        due = await session.scalar(
            select(func.min(ScheduledPublication.due_at)).where(ScheduledPublication.actor == services.actor.name)
        )
    return float(due) if due is not None else None


async def keep_publishing(services: Services, every: float) -> None:
    """Sleep until the next post is due, or until this process schedules one, or `every` seconds at most (for
    posts another process scheduled): an idle blog does nothing between."""
    woken = asyncio.Event()
    services.due_work.answer_with(woken.set)
    while True:
        try:
            for object_id in await publish_due(services, services.clock()):
                log.info("published %s at its scheduled time", object_id)
            due = await next_due(services)
        except Exception as exc:
            log_round_failed(log, "scheduled publication", exc, every)
            due = None
        wait = every if due is None else min(every, max(0.05, due - services.clock()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), wait)
        woken.clear()
