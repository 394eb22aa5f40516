"""Series of events: each date its own Event (own id, capacity, tickets, Create to followers), linked by the
series, an OrderedCollection of its dates in order. The organiser edits one date or that date and all following
ones, and cancels one or all following; each date that changes gets its own Update (or Delete and Note)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.errors import ActivityError, RuleRefused
from activities.event import EventInput, parse_event_input
from activities.fep8a8e import EventStatus, status_of
from activities.series import SeriesRule, carry, changed_fields, describe, occurrences
from activities.text import slugify
from actors.context import Services
from actors.events import revisions
from actors.events.event_form import form_of_event
from actors.events.schedule import cancel, reschedule, schedule
from store import collections, objects
from store.models import StoredObject


def series_index(services: Services) -> str:
    """Every series of ours, each item holding the series' name, rule and calendar (not served)."""
    return services.actor.url("series")


def series_of(event: dict[str, Any]) -> str | None:
    series = event.get("series")
    return series if isinstance(series, str) else None


async def series_data(session: AsyncSession, services: Services, series: str) -> dict[str, Any] | None:
    item = await collections.get(session, series_index(services), series)
    return item.data or {} if item else None


async def _free_series_id(session: AsyncSession, services: Services, name: str) -> str:
    base = services.actor.url(f"series/{slugify(name, 48)}")
    series, n = base, 1
    while await collections.get(session, series_index(services), series) is not None:
        n += 1
        series = f"{base}-{n}"
    return series


async def schedule_series(
    session: AsyncSession, services: Services, calendar: str, data: EventInput, post: str | None, rule: SeriesRule
) -> tuple[str, list[dict[str, Any]]]:
    """Every date of the series as its own Event, in the caller's one transaction: all of them or none."""
    dates = occurrences(data, rule)
    now = services.clock()
    series = await _free_series_id(session, services, data.name)
    info = {
        "name": data.name,
        "repeat": rule.repeat.value,
        "rule": describe(rule, data.start.date()),
        "calendar": calendar,
        "attributedTo": services.actor.id,
    }
    await collections.add(session, series_index(services), series, now, info)
    docs = []
    for occurrence in dates:
        doc = await schedule(session, services, calendar, occurrence, post, series=series)
        await collections.add(session, series, doc["id"], now, {"startTime": doc["startTime"]})
        docs.append(doc)
    return series, docs


async def dates_of(session: AsyncSession, series: str) -> list[str]:
    """The series' events in the order they were scheduled (first date first)."""
    return [item.item for item in await collections.all_items(session, series, newest_first=False)]


async def this_and_following(session: AsyncSession, row: StoredObject) -> list[StoredObject]:
    """`row` and the live dates after it in its series (just `row` when it is in none)."""
    series = series_of(row.data)
    ids = await dates_of(session, series) if series else []
    if row.id not in ids:
        return [row]
    out = []
    for event in ids[ids.index(row.id) :]:
        found = await objects.get(session, event)
        if found is not None and found.type == "Event" and found.deleted_at is None:
            out.append(found)
    return out


def _when(doc: dict[str, Any]) -> str:
    moment = datetime.fromisoformat(str(doc["startTime"]))
    return f"{moment.strftime('%a')} {moment.day} {moment.strftime('%B %Y')}"


async def reschedule_following(
    session: AsyncSession, services: Services, row: StoredObject, new: EventInput
) -> list[dict[str, Any]]:
    """`row` becomes `new`; each following date of its series takes the fields changed there (the others stay as
    that date has them). Only the dates that change are rescheduled (an Update each, SEQUENCE bumped). Any date
    that cannot take the change refuses the whole edit, with a sentence naming that date."""
    old = parse_event_input(form_of_event(row.data))
    changed = changed_fields(old, new)
    docs = [await reschedule(session, services, row, new)]
    if not changed:
        return docs
    for other in (await this_and_following(session, row))[1:]:
        mine = parse_event_input(form_of_event(other.data))
        try:
            moved = carry(old, new, mine)
            if not changed_fields(mine, moved):
                continue
            docs.append(await reschedule(session, services, other, moved))
        except ActivityError as exc:
            raise RuleRefused(f"The date on {_when(other.data)}: {exc.reason}") from None
    return docs


async def cancel_following(session: AsyncSession, services: Services, row: StoredObject) -> int:
    """Cancel `row` and the live dates after it (each its Delete and its Note); how many were cancelled."""
    rows = await this_and_following(session, row)
    for each in rows:
        await cancel(session, services, each)
    return len(rows)


async def series_dates(session: AsyncSession, services: Services, event: dict[str, Any]) -> list[dict[str, Any]]:
    """The dates of `event`'s series for its page: id, startTime, cancelled; [] when it is in none."""
    series = series_of(event)
    info = await series_data(session, services, series) if series else None
    if series is None or info is None:
        return []
    out = []
    for event_id in await dates_of(session, series):
        row = await objects.get(session, event_id)
        if row is None:
            continue
        if row.type == "Event" and row.deleted_at is None:
            cancelled = status_of(row.data) == EventStatus.CANCELLED  # cancelled by its status, still an Event
            out.append({"id": row.id, "startTime": row.data.get("startTime"), "cancelled": cancelled})
            continue
        last = await revisions.cancelled_data(session, str(info.get("calendar")), row.id)
        if last is not None:
            out.append({"id": row.id, "startTime": last.get("startTime"), "cancelled": True})
    return out


async def is_series(session: AsyncSession, services: Services, series: str) -> bool:
    return await series_data(session, services, series) is not None


async def series_fields(session: AsyncSession, services: Services, series: str) -> dict[str, Any]:
    info = await series_data(session, services, series) or {}
    return {
        "name": info.get("name", ""),
        "summary": f"{info.get('name', '')}, {info.get('rule', '')}",
        "attributedTo": info.get("attributedTo"),
        "context": info.get("calendar"),
    }
