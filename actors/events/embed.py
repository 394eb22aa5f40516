"""The calendar widget other sites put in an iframe: a compact list of upcoming events (date, time, place and
the name linking to the event's page), one calendar's (`/calendars/<slug>/embed`) or every calendar's
(`/embed`). No script, no form, no cookie; only these pages may be framed, by the sources the
ROSE_ASH_EMBED_ANCESTORS setting names."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities import fep8a8e
from activities.fep8a8e import EventStatus
from actors.context import Services
from actors.events.calendars import all_calendars, calendar_data, calendar_id
from actors.events.filters import split
from actors.web import embeddable_page, services_of
from store import collections, objects

MAX_SHOWN = 20


@dataclass(frozen=True)
class WidgetLine:
    url: str
    name: str
    date: str  # in the event's own time zone, as its page shows it
    time: str
    place: str
    status: str  # "" when the event goes ahead as scheduled


def widget_line(event: dict[str, Any]) -> WidgetLine:
    start = datetime.fromisoformat(str(event["startTime"]))  # its offset is the event's time zone's
    place = fep8a8e.place_of(event)
    where = ", ".join(
        p for p in (str(place.get("name") or ""), fep8a8e.address_parts(place).get("addressLocality", "")) if p
    )
    if fep8a8e.online_url_of(event):
        where = f"{where} and online" if where else "Online"
    status = fep8a8e.status_of(event)
    shown = "" if status in (EventStatus.SCHEDULED, EventStatus.RESCHEDULED) else fep8a8e.STATUS_LABELS[status]
    return WidgetLine(
        url=str(event.get("url") or event["id"]),
        name=str(event.get("name") or ""),
        date=f"{start:%a} {start.day} {start:%b %Y}",
        time=f"{start:%H:%M}",
        place=where,
        status=shown,
    )


async def _upcoming(services: Services, calendars: list[str]) -> list[WidgetLine]:
    events: dict[str, dict[str, Any]] = {}
    async with services.store.read() as session:
        for calendar in calendars:
            for item in await collections.all_items(session, calendar):
                row = await objects.get(session, item.item)
                if row is not None and row.type == "Event" and row.deleted_at is None and row.public:
                    events[row.id] = row.data
    upcoming, _past = split(list(events.values()), services.clock())
    return [widget_line(e) for e in upcoming[:MAX_SHOWN]]


async def calendar_widget(request: Request) -> Response:
    services = services_of(request)
    calendar = calendar_id(services, request.path_params["slug"])
    async with services.store.read() as session:
        data = await calendar_data(session, services, calendar)
    if data is None:
        raise HTTPException(404, "There is no such calendar.")
    lines = await _upcoming(services, [calendar])
    home = services.actor.url(f"calendars#calendar-{request.path_params['slug']}")
    context = {"title": data.get("name") or "Events", "home": home, "lines": lines}
    return embeddable_page(services, "events/embed.html", context)


async def all_widget(request: Request) -> Response:
    services = services_of(request)
    async with services.store.read() as session:
        calendars = [c["id"] for c in await all_calendars(session, services)]
    lines = await _upcoming(services, calendars)
    context = {"title": "Events", "home": services.actor.url("calendars"), "lines": lines}
    return embeddable_page(services, "events/embed.html", context)


def snippet(widget: str, title: str) -> str:
    """The `<iframe>` an organiser copies into another site's page."""
    return (
        f'<iframe src="{html.escape(widget)}" title="{html.escape(title)}" width="100%" height="420" '
        'style="border:0" loading="lazy" referrerpolicy="strict-origin-when-cross-origin"></iframe>'
    )


ROUTES = [
    Route("/embed", all_widget),
    Route("/calendars/{slug}/embed", calendar_widget),
]
