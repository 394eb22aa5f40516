"""The calendar page a visitor reads: upcoming events soonest first, past ones apart, and filters by category,
place and date (a bad date is a sentence, not a crash). Real store on both backends, real routes over ASGI."""

from __future__ import annotations

import re

from tests.feeds.helpers import form, new_calendar, new_event
from tests.support.app import App, running_app


async def shown(app: App, query: str = "") -> tuple[list[str], list[str], str]:
    """(upcoming, past) event names on /calendars?query, and the page."""
    page = await app.client.get(f"/calendars{query}", headers={"Accept": "text/html"})
    text = page.text
    upcoming_part, _, past_part = text.partition('<details class="past">')
    names = re.compile(r'<div class="event" id="[^"]+">\s*<h3><a href="[^"]+">([^<]+)</a>')
    return names.findall(upcoming_part), names.findall(past_part), text


async def test_upcoming_and_past_with_filters(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        await new_event(app, calendar, form("Last year", "2025-05-01T19:00", "2025-05-01T22:00", category="Music"))
        await new_event(app, calendar, form("Late gig", "2027-09-01T19:00", "2027-09-01T22:00", category="Music"))
        await new_event(app, calendar, form("Early talk", "2027-03-01T19:00", "2027-03-01T21:00", category="Talks",
                                            location="Town Hall", address="Park Row", locality="Leeds"))  # fmt: skip
        await new_event(app, calendar, form("Stream", "2027-04-01T19:00", "2027-04-01T20:00", location="",
                                            address="", online_url="https://meet.example/r"))  # fmt: skip

        upcoming, past, page = await shown(app)
        assert upcoming == ["Early talk", "Stream", "Late gig"] and past == ["Last year"]
        assert '<option value="Music">Music</option>' in page and '<option value="Talks">Talks</option>' in page

        assert (await shown(app, "?category=music"))[:2] == (["Late gig"], ["Last year"])
        assert (await shown(app, "?place=park+row"))[:2] == (["Early talk"], [])
        assert (await shown(app, "?place=leeds"))[:2] == (["Early talk", "Late gig"], ["Last year"])
        assert (await shown(app, "?place=online"))[:2] == (["Stream"], [])
        assert (await shown(app, "?from=2027-03-15&to=2027-08-31"))[:2] == (["Stream"], [])
        upcoming, past, page = await shown(app, "?category=Dance")
        assert (upcoming, past) == ([], []) and "No upcoming event matches the filter." in page

        bad = await app.client.get("/calendars?from=tomorrow", headers={"Accept": "text/html"})
        assert bad.status_code == 400 and "the from date must look like 2027-07-01" in bad.text
        backwards = await app.client.get("/calendars?from=2027-05-01&to=2027-04-01", headers={"Accept": "text/html"})
        assert backwards.status_code == 400 and "must not be before" in backwards.text
