"""iCalendar feeds of the events peer, read back with the `icalendar` parser: each calendar's, each event's and
all events'; UID stable and SEQUENCE rising across changes, STATUS:CANCELLED after a cancel, local times right on
both sides of a DST change. Real store on both backends, real routes over ASGI."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar, Event, Timezone

from tests.feeds.helpers import cancel_event, form, move_event, new_calendar, new_event, slug_of
from tests.support.app import running_app


async def ics(client: httpx.AsyncClient, path: str) -> Calendar:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "filename=" in response.headers["content-disposition"]
    assert response.headers["content-disposition"].endswith('.ics"')
    return Calendar.from_ical(response.content)


def events_of(cal: Calendar) -> dict[str, Event]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


async def test_each_event_has_its_fields_in_its_own_zone(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app, "Main")
        doc = await new_event(
            app, calendar, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00", description="Bring friends & food")
        )
        cal = await ics(app.client, f"/events/{slug_of(doc['id'])}.ics")
        assert str(cal["version"]) == "2.0" and cal.get("prodid")
        [event] = cal.walk("VEVENT")
        assert str(event["uid"]) == doc["id"]
        assert str(event["summary"]) == "Gig"
        assert str(event["location"]) == "The Hall, 1 High Street, Leeds"
        assert str(event["description"]) == "Bring friends & food"  # plain text, not HTML
        assert str(event["url"]) == doc["id"] and doc["id"].startswith("http://peer.test/")
        assert str(event["status"]) == "CONFIRMED"
        assert int(event["sequence"]) == 0
        assert event.decoded("dtstamp").tzinfo is not None
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert event["dtstart"].params["TZID"] == "Europe/London"
        assert start.astimezone(UTC) == datetime(2027, 7, 1, 18, 0, tzinfo=UTC)  # BST is UTC+1
        assert end.astimezone(UTC) == datetime(2027, 7, 1, 22, 0, tzinfo=UTC)
        assert [str(z["tzid"]) for z in cal.walk("VTIMEZONE")] == ["Europe/London"]


async def test_local_times_are_right_on_both_sides_of_dst(database_url: str) -> None:
    """One Europe/London event in March before the clocks go forward, one after, one in November; and one in
    New York. Read through the VTIMEZONEs the feed carries (not the parser's own zone database), each start is
    the right UTC instant."""
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app, "Main")
        cases = {
            "Before": ("2027-03-27T19:00", "Europe/London", datetime(2027, 3, 27, 19, 0, tzinfo=UTC)),
            "After": ("2027-03-28T19:00", "Europe/London", datetime(2027, 3, 28, 18, 0, tzinfo=UTC)),
            "November": ("2027-11-06T19:00", "Europe/London", datetime(2027, 11, 6, 19, 0, tzinfo=UTC)),
            "Summer NY": ("2027-07-04T20:00", "America/New_York", datetime(2027, 7, 5, 0, 0, tzinfo=UTC)),
        }
        ids = {}
        for name, (start, zone, _) in cases.items():
            doc = await new_event(app, calendar, form(name, start, start[:11] + "23:30", zone))
            ids[name] = doc["id"]
        cal = await ics(app.client, f"/calendars/{slug_of(calendar)}.ics")
        zones = {str(z["tzid"]): z for z in cal.walk("VTIMEZONE")}
        assert set(zones) == {"Europe/London", "America/New_York"}
        events = events_of(cal)
        for name, (start, zone, utc) in cases.items():
            event = events[ids[name]]
            assert event["dtstart"].params["TZID"] == zone
            local = datetime.fromisoformat(start)
            assert event.decoded("dtstart").replace(tzinfo=None) == local
            own = _zone_of(zones[zone])
            assert local.replace(tzinfo=own).astimezone(UTC) == utc, name
            assert local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) == utc, name


def _zone_of(vtimezone: Timezone) -> object:
    """The feed's own VTIMEZONE as a tzinfo."""
    return vtimezone.to_tz()


async def test_uid_stays_and_sequence_rises_through_reschedule_and_cancel(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app, "Main")
        doc = await new_event(app, calendar, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00"))
        path = f"/events/{slug_of(doc['id'])}.ics"
        [first] = (await ics(app.client, path)).walk("VEVENT")

        await move_event(app, doc["id"], form("Gig, moved", "2027-07-02T20:00", "2027-07-02T23:00"))
        [moved] = (await ics(app.client, path)).walk("VEVENT")
        assert str(moved["uid"]) == str(first["uid"])
        assert int(moved["sequence"]) == int(first["sequence"]) + 1
        assert str(moved["summary"]) == "Gig, moved"
        assert moved.decoded("dtstart").astimezone(UTC) == datetime(2027, 7, 2, 19, 0, tzinfo=UTC)
        assert moved.decoded("dtstamp") >= first.decoded("dtstamp")

        await cancel_event(app, doc["id"])
        [gone] = (await ics(app.client, path)).walk("VEVENT")
        assert str(gone["uid"]) == str(first["uid"])
        assert int(gone["sequence"]) == int(moved["sequence"]) + 1
        assert str(gone["status"]) == "CANCELLED"
        assert str(gone["summary"]) == "Gig, moved"  # the last data of the event, kept past its Tombstone
        assert gone.decoded("dtstart").astimezone(UTC) == datetime(2027, 7, 2, 19, 0, tzinfo=UTC)

        for feed in (f"/calendars/{slug_of(calendar)}.ics", "/events.ics"):
            event = events_of(await ics(app.client, feed))[doc["id"]]
            assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2


async def test_all_events_spans_every_calendar_and_unknown_ones_are_404(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        main, talks = await new_calendar(app, "Main"), await new_calendar(app, "Talks")
        gig = await new_event(app, main, form("Gig", "2027-07-01T19:00", "2027-07-01T23:00"))
        talk = await new_event(app, talks, form("Talk", "2027-08-01T19:00", "2027-08-01T21:00", "UTC"))
        everything = events_of(await ics(app.client, "/events.ics"))
        assert set(everything) == {gig["id"], talk["id"]}
        assert everything[talk["id"]].decoded("dtstart") == datetime(2027, 8, 1, 19, 0, tzinfo=UTC)
        assert set(events_of(await ics(app.client, f"/calendars/{slug_of(talks)}.ics"))) == {talk["id"]}
        assert (await app.client.get("/calendars/nope.ics")).status_code == 404
        assert (await app.client.get("/events/nope.ics")).status_code == 404
