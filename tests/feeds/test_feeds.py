"""Atom and RSS feeds of each calendar and of the blog, read back with `feedparser`: titles, absolute links,
dates, content, newest first. Real store on both backends, real routes over ASGI."""

from __future__ import annotations

import calendar as cal
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx

from actors.blog.posts import create_post, update_post
from store import objects
from tests.feeds.helpers import cancel_event, form, move_event, new_calendar, new_event, slug_of
from tests.support.app import App, running_app

TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml"}


async def parsed(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    form = path.rsplit(".", 1)[1]
    assert response.headers["content-type"].split(";")[0] == TYPES[form]
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == ("atom10" if form == "atom" else "rss20")
    return feed


def utc(struct: Any) -> datetime:
    return datetime.fromtimestamp(cal.timegm(struct), UTC)


async def test_a_calendar_feed_lists_its_events_newest_first(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        main = await new_calendar(app, "Main", "Gigs and talks")
        other = await new_calendar(app, "Other")
        first = await new_event(app, main, form("First gig", "2027-07-01T19:00", "2027-07-01T23:00"))
        second = await new_event(app, main, form("Second gig", "2027-03-28T19:00", "2027-03-28T23:00"))
        await new_event(app, other, form("Elsewhere", "2027-09-01T19:00", "2027-09-01T23:00"))
        for kind in ("atom", "rss"):
            feed = await parsed(app.client, f"/calendars/{slug_of(main)}.{kind}")
            assert feed.feed.title.startswith("Main")
            assert feed.feed.link == "http://peer.test/calendars"
            assert [e.title for e in feed.entries] == ["Second gig", "First gig"]
            assert [e.link for e in feed.entries] == [second["id"], first["id"]]
            entry = feed.entries[1]
            assert entry.id == first["id"]
            assert "Thu 1 July 2027, 19:00 · The Hall" in entry.summary  # the date line
            assert utc(entry.published_parsed) == datetime.fromisoformat(first["published"].replace("Z", "+00:00"))
        assert (await app.client.get("/calendars/nope.atom")).status_code == 404


async def test_a_changed_and_a_cancelled_event_show_in_the_calendar_feed(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        main = await new_calendar(app, "Main")
        gig = await new_event(app, main, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00"))
        talk = await new_event(app, main, form("Talk", "2027-07-02T19:00", "2027-07-02T21:00"))
        await move_event(app, gig["id"], form("Gig", "2027-07-03T19:00", "2027-07-03T23:00"))
        await cancel_event(app, talk["id"])
        feed = await parsed(app.client, f"/calendars/{slug_of(main)}.atom")
        entries = {e.id: e for e in feed.entries}
        assert "Sat 3 July 2027, 19:00" in entries[gig["id"]].summary
        assert entries[gig["id"]].updated_parsed >= entries[gig["id"]].published_parsed
        assert entries[talk["id"]].title == "Cancelled: Talk"


async def post(app: App, title: str, body: str) -> dict[str, Any]:
    async with app.store.write() as session:
        return await create_post(session, app.services, title, body)


async def test_the_blog_feeds_carry_its_posts(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        old = await post(app, "Older", "The first post.")
        new = await post(app, "Newer", "A *second* post.\n\nWith two paragraphs.")
        async with app.store.write() as session:
            row = await objects.get(session, old["id"])
            assert row is not None
            await update_post(session, app.services, row, "Older, edited", "The first post, edited.")
        for kind in ("atom", "rss"):
            feed = await parsed(app.client, f"/posts.{kind}")
            assert feed.feed.link == "http://peer.test/"
            assert [e.title for e in feed.entries] == ["Newer", "Older, edited"]
            assert [e.link for e in feed.entries] == [new["id"], old["id"]]
            assert all(e.link.startswith("http://peer.test/posts/") for e in feed.entries)
            newer = feed.entries[0]
            body = newer.content[0].value if kind == "atom" else newer.description  # RSS: the description
            assert body == new["content"]  # the stored, sanitized HTML
            assert utc(newer.published_parsed) == datetime.fromisoformat(new["published"].replace("Z", "+00:00"))
            if kind == "atom":
                assert feed.entries[1].updated_parsed >= feed.entries[1].published_parsed
