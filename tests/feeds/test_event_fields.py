"""The FEP-8a8e fields kept in step in the iCalendar feed (LOCATION, GEO, CATEGORIES, STATUS), and an event's
changes as its followers see them: `Update(Event)` with `updated`, `eventStatus` and `previousStartTime`, plus a
short public Note for a reschedule and a cancellation. Real store on both backends, real routes over ASGI."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import feedparser
from icalendar import Calendar
from sqlalchemy import select

from activities.event import parse_event_input
from activities.vocab import PUBLIC
from actors.events.schedule import schedule
from media.library import attachment
from store.models import StoredObject
from tests.feeds.helpers import cancel_event, form, move_event, new_calendar, new_event, slug_of
from tests.media import images
from tests.support.app import App, running_app

PLACE = {
    "address": "1 High Street",
    "locality": "Leeds",
    "latitude": "53.7997",
    "longitude": "-1.5492",
    "category": "Music",
}


async def sent(app: App, kind: str) -> list[dict[str, Any]]:
    async with app.store.read() as session:
        rows = await session.scalars(select(StoredObject).where(StoredObject.type == kind))
        return sorted((dict(r.data) for r in rows), key=lambda d: str(d.get("published") or d["id"]))


async def event_ics(app: App, event: str) -> Any:
    response = await app.client.get(f"/events/{slug_of(event)}.ics")
    assert response.status_code == 200, response.text
    [vevent] = Calendar.from_ical(response.content).walk("VEVENT")
    return vevent


async def test_the_ics_carries_place_coordinates_and_category(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        doc = await new_event(app, calendar, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00", **PLACE))
        vevent = await event_ics(app, doc["id"])
        assert str(vevent["location"]) == "The Hall, 1 High Street, Leeds"
        geo = vevent["geo"]
        assert (float(geo.latitude), float(geo.longitude)) == (53.7997, -1.5492)
        assert [str(c) for c in vevent["categories"].cats] == ["Music"]
        assert str(vevent["status"]) == "CONFIRMED"
        for form_ in ("atom", "rss"):
            feed = feedparser.parse((await app.client.get(f"/calendars/{slug_of(calendar)}.{form_}")).content)
            [entry] = feed.entries
            assert [tag.term for tag in entry.tags] == ["Music"], form_
        page = await app.client.get(f"/events/{slug_of(doc['id'])}", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "https://www.openstreetmap.org/?mlat=53.7997&amp;mlon=-1.5492" in page.text
        assert f'href="/events/{slug_of(doc["id"])}.ics"' in page.text and '<script src="http' not in page.text


async def test_a_moved_event_is_rescheduled_with_its_previous_start_and_a_note(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        doc = await new_event(app, calendar, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00", **PLACE))
        await move_event(app, doc["id"], form("Gig", "2027-07-08T19:00", "2027-07-08T23:00", **PLACE))
        [update] = await sent(app, "Update")
        event = update["object"]
        assert event["updated"] and event["published"] == doc["published"]
        assert event["eventStatus"] == "EventRescheduled"
        assert event["previousStartTime"] == "2027-07-01T19:00:00+01:00"
        assert event["summary"].startswith("<p>Rescheduled: Thu 8 July 2027, 19:00")
        notes = await sent(app, "Note")
        assert len(notes) == 1
        note = notes[0]
        assert note["to"] == [PUBLIC] and note["cc"] == [app.services.actor.followers]
        assert "is now on Thu 8 July 2027, 19:00 (was Thu 1 July 2027, 19:00)" in note["content"]
        creates = [c for c in await sent(app, "Create") if c["object"]["type"] == "Note"]
        assert [c["object"]["id"] for c in creates] == [note["id"]]
        assert (await app.client.get(note["id"], headers={"Accept": "application/activity+json"})).status_code == 200
        # a change of the description alone is an edit, not news: no second Note
        await move_event(app, doc["id"], form("Gig", "2027-07-08T19:00", "2027-07-08T23:00", **PLACE, description="x"))
        assert len(await sent(app, "Note")) == 1
        assert (await sent(app, "Update"))[-1]["object"]["previousStartTime"] == "2027-07-01T19:00:00+01:00"


async def test_a_cancelled_status_is_an_edit_and_cancelled_in_the_ics(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        doc = await new_event(app, calendar, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00"))
        await move_event(app, doc["id"], form("Gig", "2027-07-01T19:00", "2027-07-01T23:00", status="EventCancelled"))
        [update] = await sent(app, "Update")
        assert update["object"]["eventStatus"] == "EventCancelled" and update["object"]["updated"]
        vevent = await event_ics(app, doc["id"])
        assert str(vevent["status"]) == "CANCELLED" and int(vevent["sequence"]) == 1
        [note] = await sent(app, "Note")
        assert "Cancelled: Gig on Thu 1 July 2027, 19:00 will not take place." in note["content"]
        cal = Calendar.from_ical((await app.client.get(f"/calendars/{slug_of(calendar)}.ics")).content)
        assert [str(e["status"]) for e in cal.walk("VEVENT")] == ["CANCELLED"]


async def test_removing_an_event_is_announced_once(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        doc = await new_event(app, calendar, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00"))
        await cancel_event(app, doc["id"])
        [note] = await sent(app, "Note")
        assert "Cancelled: Gig" in note["content"]
        assert [d["object"]["id"] for d in await sent(app, "Delete")] == [doc["id"]]


async def test_a_poster_is_the_ics_attach_and_the_feeds_enclosure(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        async with app.store.write() as session:
            stored = await app.services.media.upload(
                session, "events", images.photo("PNG", (900, 600)), "The poster", app.services.clock()
            )
            image = attachment(stored, app.services.actor.base_url)
            data = replace(parse_event_input(form("Gig", "2027-07-01T19:00", "2027-07-01T23:00")), image=image)
            doc = await schedule(session, app.services, calendar, data, None)
        assert doc["image"]["url"].endswith("-900.png")
        vevent = await event_ics(app, doc["id"])
        assert str(vevent["attach"]) == doc["image"]["url"] and vevent["attach"].params["FMTTYPE"] == "image/png"
        feed = feedparser.parse((await app.client.get(f"/calendars/{slug_of(calendar)}.rss")).content)
        [entry] = feed.entries
        assert [(e.href, e.type) for e in entry.enclosures] == [(doc["image"]["url"], "image/png")]
        atom = feedparser.parse((await app.client.get(f"/calendars/{slug_of(calendar)}.atom")).content)
        assert [link.href for link in atom.entries[0].links] == [doc["id"]], "Atom: no stray alternate link"
        plain = await new_event(app, calendar, form("Talk", "2027-08-01T19:00", "2027-08-01T20:00"))
        assert "attach" not in await event_ics(app, plain["id"])
