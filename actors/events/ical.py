"""iCalendar (RFC 5545) feeds: each calendar, each event and all events, with a VTIMEZONE for every zone
the events are in, so their local times stay right across DST."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from activities import fep8a8e
from activities.ical import YEAR as _YEAR
from activities.ical import description_of as _description
from activities.ical import local_time as _local
from activities.ical import location_of as _location
from activities.ical import poster_of
from actors.events import listing
from actors.events.listing import Listed
from actors.web import services_of

if TYPE_CHECKING:
    from icalendar import Calendar, Event

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _status(entry: Listed) -> str:
    if entry.cancelled:
        return "CANCELLED"
    return "TENTATIVE" if fep8a8e.status_of(entry.data) == fep8a8e.EventStatus.POSTPONED else "CONFIRMED"


def vevent(entry: Listed) -> Event:
    data = entry.data
    zone = str(data.get("timezone") or "UTC")
    from icalendar import Event  # imported when a calendar is first read: 2 MiB an idle peer need not hold

    event = Event()
    event.add("uid", str(data["id"]))
    event.add("dtstamp", entry.changed)
    event.add("created", entry.created)
    event.add("last-modified", entry.changed)
    event.add("sequence", entry.sequence)
    event.add("dtstart", _local(str(data["startTime"]), zone))
    event.add("dtend", _local(str(data["endTime"]), zone))
    event.add("summary", str(data.get("name") or ""))
    if location := _location(data):
        event.add("location", location)
    if description := _description(data):
        event.add("description", description)
    event.add("url", str(data.get("url") or data["id"]))
    event.add("status", _status(entry))
    place = fep8a8e.place_of(data)
    if isinstance(place.get("latitude"), (int, float)) and isinstance(place.get("longitude"), (int, float)):
        event.add("geo", (float(place["latitude"]), float(place["longitude"])))
    if category := data.get("category"):
        event.add("categories", [str(category)])
    if isinstance(series := data.get("series"), str):
        # every date of a series points at the series' id, so calendars can group them; each date stays an event
        # of its own (its own UID, status and SEQUENCE), not an RRULE, since each can change or be cancelled alone
        event.add("related-to", series, parameters={"RELTYPE": "PARENT"})
    if poster := poster_of(data):
        event.add("attach", poster[0], parameters={"FMTTYPE": poster[1]})
    return event


def calendar_of(entries: list[Listed], name: str) -> Calendar:
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", "-//Rose Ash//Events//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for entry in entries:
        cal.add_component(vevent(entry))
    if entries:
        starts = [datetime.fromisoformat(str(e.data["startTime"])).date() for e in entries]
        ends = [datetime.fromisoformat(str(e.data["endTime"])).date() for e in entries]
        cal.add_missing_timezones(first_date=min(starts) - _YEAR, last_date=max(ends) + _YEAR)
    return cal


def ics_response(cal: Calendar, filename: str) -> Response:
    return Response(
        cal.to_ical(),
        media_type=CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}.ics"'},
    )


async def calendar_ics(request: Request) -> Response:
    services = services_of(request)
    slug = request.path_params["slug"]
    found = await listing.calendar_listing(services, slug)
    if found is None:
        return Response("no such calendar", 404, media_type="text/plain")
    _, data, entries = found
    return ics_response(calendar_of(entries, str(data.get("name") or slug)), slug)


async def event_ics(request: Request) -> Response:
    services = services_of(request)
    slug = request.path_params["slug"]
    async with services.store.read() as session:
        entry = await listing.one(session, services, services.actor.url(f"events/{slug}"))
    if entry is None:
        return Response("no such event", 404, media_type="text/plain")
    return ics_response(calendar_of([entry], str(entry.data.get("name") or slug)), slug)


async def series_ics(request: Request) -> Response:
    services = services_of(request)
    slug = request.path_params["slug"]
    async with services.store.read() as session:
        found = await listing.series_listing(session, services, services.actor.url(f"series/{slug}"))
    if found is None:
        return Response("no such series", 404, media_type="text/plain")
    name, entries = found
    return ics_response(calendar_of(entries, name), slug)


async def all_ics(request: Request) -> Response:
    services = services_of(request)
    async with services.store.read() as session:
        entries = await listing.every(session, services)
    return ics_response(calendar_of(entries, services.site.kind_name), "events")


ROUTES: list[BaseRoute] = [
    Route("/events.ics", all_ics),
    Route("/calendars/{slug}.ics", calendar_ics),
    Route("/events/{slug}.ics", event_ics),
    Route("/series/{slug}.ics", series_ics),
]
