"""The blog index and /calendars announce their feeds with `<link rel="alternate">`, and each link answers with
its feed's content type."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx

from tests.feeds.helpers import form, new_calendar, new_event
from tests.support.app import BASE, running_app

HTML = {"accept": "text/html"}


class Alternates(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "link" and found.get("rel") == "alternate" and found.get("type") != "application/activity+json":
            self.links.append((str(found.get("type")), str(found.get("href"))))


async def alternates(client: httpx.AsyncClient, path: str) -> list[tuple[str, str]]:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = Alternates()
    parser.feed(response.text)
    for kind, href in parser.links:
        assert href.startswith(f"{BASE}/")
        feed = await client.get(href.removeprefix(BASE))
        assert feed.status_code == 200, href
        assert feed.headers["content-type"].split(";")[0] == kind, href
    return parser.links


async def test_the_blog_index_links_its_feeds(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        links = await alternates(app.client, "/")
        assert links == [
            ("application/atom+xml", f"{BASE}/posts.atom"),
            ("application/rss+xml", f"{BASE}/posts.rss"),
        ]


async def test_the_calendars_page_links_every_calendars_feeds(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        main = await new_calendar(app, "Main")
        await new_event(app, main, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00"))
        talks = await new_calendar(app, "Talks")
        links = set(await alternates(app.client, "/calendars"))
        assert ("text/calendar", f"{BASE}/events.ics") in links
        for calendar in (main, talks):
            assert {
                ("application/atom+xml", f"{calendar}.atom"),
                ("application/rss+xml", f"{calendar}.rss"),
                ("text/calendar", f"{calendar}.ics"),
            } <= links
