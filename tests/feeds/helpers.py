"""An events peer in-process (tests/support/app.py) with calendars and events made by the organiser's own rules
(actors/events/calendars.py, schedule.py): the feeds are then fetched over its real routes."""

from __future__ import annotations

from typing import Any

from activities.event import parse_event_input
from actors.events.calendars import create_calendar
from actors.events.schedule import cancel, reschedule, schedule
from store import objects
from tests.support.app import App


def form(name: str, start: str, end: str, zone: str = "Europe/London", **more: str) -> dict[str, str]:
    return {
        "name": name,
        "start": start,
        "end": end,
        "timezone": zone,
        "location": "The Hall",
        "address": "1 High Street, Leeds",
        "capacity": "50",
        "price": "0",
        **more,
    }


async def new_calendar(app: App, name: str = "Main", summary: str = "") -> str:
    async with app.store.write() as session:
        return await create_calendar(session, app.services, name, summary)


async def new_event(app: App, calendar: str, fields: dict[str, str]) -> dict[str, Any]:
    async with app.store.write() as session:
        return await schedule(session, app.services, calendar, parse_event_input(fields), None)


async def move_event(app: App, event: str, fields: dict[str, str]) -> None:
    async with app.store.write() as session:
        row = await objects.get(session, event)
        assert row is not None
        await reschedule(session, app.services, row, parse_event_input(fields))


async def cancel_event(app: App, event: str) -> None:
    async with app.store.write() as session:
        row = await objects.get(session, event)
        assert row is not None
        await cancel(session, app.services, row)


def slug_of(url: str) -> str:
    return url.rsplit("/", 1)[1]
