"""Events as the iCalendar and Atom/RSS feeds list them: live ones and cancelled ones (their last document
kept by actors/events/revisions.py), each with its SEQUENCE and when it last changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.fep8a8e import EventStatus, status_of
from actors.context import Services
from actors.events import revisions
from actors.events.calendars import all_calendars, calendar_data, calendar_id
from actors.events.schedule import events_id
from actors.events.series import series_index
from store import collections
from store.models import StoredObject


@dataclass(frozen=True)
class Listed:
    data: dict[str, Any]  # the Event document (the last one before a cancellation)
    cancelled: bool
    sequence: int
    changed: datetime  # when the event was last scheduled, rescheduled or cancelled (UTC)
    created: datetime


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC).replace(microsecond=0)


async def _rows(session: AsyncSession, ids: list[str]) -> dict[str, StoredObject]:
    rows = await session.scalars(select(StoredObject).where(StoredObject.id.in_(ids)))
    return {row.id: row for row in rows}


async def _listed(session: AsyncSession, row: StoredObject, calendar: str | None) -> Listed | None:
    if row.type == "Event" and row.deleted_at is None and row.public:
        data: dict[str, Any] | None = row.data
        cancelled = status_of(row.data) == EventStatus.CANCELLED  # cancelled by its status, still an Event
    elif row.type == "Tombstone" and row.data.get("formerType") == "Event" and calendar is not None:
        data, cancelled = await revisions.cancelled_data(session, calendar, row.id), True
    else:
        return None
    if data is None:
        return None
    return Listed(
        data, cancelled, await revisions.sequence(session, row.id), _utc(row.updated_at), _utc(row.created_at)
    )


async def of_calendar(session: AsyncSession, calendar: str) -> list[Listed]:
    """The calendar's events, newest scheduled first, cancelled ones included."""
    ids = [item.item for item in await collections.all_items(session, calendar)]
    rows = await _rows(session, ids)
    out = [await _listed(session, rows[i], calendar) for i in ids if i in rows]
    return [entry for entry in out if entry is not None]


async def one(session: AsyncSession, services: Services, event: str) -> Listed | None:
    rows = await _rows(session, [event])
    if event not in rows:
        return None
    prefix = services.actor.url("calendars/")
    calendars = await collections.holding(session, event, prefix, "/cancelled")
    calendar = calendars[0].removesuffix("/cancelled") if calendars else None
    return await _listed(session, rows[event], calendar)


async def every(session: AsyncSession, services: Services) -> list[Listed]:
    """Every event of every calendar, cancelled ones included, and any other event of ours."""
    seen: dict[str, Listed] = {}
    for calendar in await all_calendars(session, services):
        for entry in await of_calendar(session, calendar["id"]):
            seen.setdefault(entry.data["id"], entry)
    rest = [i.item for i in await collections.all_items(session, events_id(services)) if i.item not in seen]
    for row in (await _rows(session, rest)).values():
        if (found := await _listed(session, row, None)) is not None:
            seen[row.id] = found
    return sorted(seen.values(), key=lambda e: e.created, reverse=True)


async def calendar_listing(services: Services, slug: str) -> tuple[str, dict[str, Any], list[Listed]] | None:
    """A calendar of ours by its slug: its id, its data and its events; None when there is no such calendar."""
    calendar = calendar_id(services, slug)
    async with services.store.read() as session:
        data = await calendar_data(session, services, calendar)
        if data is None:
            return None
        return calendar, data, await of_calendar(session, calendar)


async def series_listing(session: AsyncSession, services: Services, series: str) -> tuple[str, list[Listed]] | None:
    """A series of ours: its name and its dates, first date first, cancelled ones included; None when unknown."""
    item = await collections.get(session, series_index(services), series)
    if item is None:
        return None
    data = item.data or {}
    calendar = data.get("calendar")
    ids = [i.item for i in await collections.all_items(session, series, newest_first=False)]
    rows = await _rows(session, ids)
    out = [await _listed(session, rows[i], calendar if isinstance(calendar, str) else None) for i in ids if i in rows]
    return str(data.get("name") or ""), [entry for entry in out if entry is not None]
