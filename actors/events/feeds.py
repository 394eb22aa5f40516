"""Atom and RSS feeds of each calendar: its events, newest scheduled first, with their date line."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from activities.ical import poster_of
from actors.events import listing
from actors.events.calendars import calendars_id
from actors.events.listing import Listed
from actors.syndication import Feed, Format, Item, feed_response, parse_time
from actors.web import services_of


def item_of(entry: Listed) -> Item:
    data = entry.data
    name = str(data.get("name") or data["id"])
    summary = str(data.get("summary") or "")
    if entry.cancelled:
        name, summary = f"Cancelled: {name}", f"<p>Cancelled.</p>{summary}"
    published = parse_time(data.get("published"), entry.created)
    updated = entry.changed if entry.cancelled else parse_time(data.get("updated"), published)
    categories = (str(data["category"]),) if data.get("category") else ()
    content = str(data.get("content") or "") or summary
    return Item(str(data["id"]), name, published, updated, summary, content, categories, poster_of(data))


async def _calendar_feed(request: Request, form: Format) -> Response:
    services = services_of(request)
    slug = request.path_params["slug"]
    found = await listing.calendar_listing(services, slug)
    if found is None:
        return Response("no such calendar", 404, media_type="text/plain")
    calendar, data, entries = found
    name = str(data.get("name") or slug)
    feed = Feed(
        id=calendar,
        link=calendars_id(services),
        title=f"{name} · {services.site.kind_name}",
        subtitle=html.unescape(str(data.get("summary") or "")) or f"Events of the {name} calendar",
        self_url=calendar,
        items=[item_of(e) for e in entries],
    )
    return feed_response(feed, form)


async def calendar_atom(request: Request) -> Response:
    return await _calendar_feed(request, "atom")


async def calendar_rss(request: Request) -> Response:
    return await _calendar_feed(request, "rss")


ROUTES: list[BaseRoute] = [
    Route("/calendars/{slug}.atom", calendar_atom),
    Route("/calendars/{slug}.rss", calendar_rss),
]
