"""Series on a real store (SQLite and PostgreSQL) through the events kind's own rules and routes: every date its
own Event, its own Create, linked by the series; a weekly series across a DST change at the right UTC instants;
editing one date against this and all following; capacity below what a date sold refused with the store
unchanged; cancelling the following dates; the iCalendar of the series read back with the `icalendar` parser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from activities.errors import ActivityError
from activities.event import parse_event_input
from activities.series import parse_rule
from actors.events.schedule import record_sale
from actors.events.series import cancel_following, reschedule_following, schedule_series
from store import objects
from store.models import FanOut, StoredObject
from tests.feeds.helpers import form, move_event, new_calendar, slug_of
from tests.support.app import App, row_counts, running_app


async def new_series(app: App, calendar: str, fields: dict[str, str], **rule: str) -> list[dict[str, Any]]:
    async with app.store.write() as session:
        parsed = parse_rule(rule)
        assert parsed is not None
        _, docs = await schedule_series(session, app.services, calendar, parse_event_input(fields), None, parsed)
        return docs


async def edit_following(app: App, event: str, fields: dict[str, str]) -> list[dict[str, Any]]:
    async with app.store.write() as session:
        row = await objects.get(session, event)
        assert row is not None
        return await reschedule_following(session, app.services, row, parse_event_input(fields))


async def document(app: App, event: str) -> dict[str, Any]:
    async with app.store.read() as session:
        row = await objects.get(session, event)
        assert row is not None
        return row.data


async def sent(app: App, kind: str, since: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """The activities of `kind` the peer recorded to send (each with its fan-out row), those since `since`."""
    async with app.store.read() as session:
        rows = list(await session.scalars(select(StoredObject).where(StoredObject.type == kind)))
        fanned = set(await session.scalars(select(FanOut.activity_id)))
    found = {row.id: row.data for row in rows if row.id in fanned}
    return {k: v for k, v in found.items() if k not in (since or {})}


async def ics(app: App, path: str) -> Calendar:
    response = await app.client.get(path)
    assert response.status_code == 200, response.text
    return Calendar.from_ical(response.content)


def quiz(start: str = "2027-03-14T19:00", end: str = "2027-03-14T22:00", **more: str) -> dict[str, str]:
    return form("Quiz", start, end, **more)


async def test_a_weekly_series_across_dst_is_one_event_per_date_at_the_right_instant(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        docs = await new_series(app, calendar, quiz(), repeat="weekly", count="4")
        assert [slug_of(d["id"]) for d in docs] == [f"quiz-2027-{day}" for day in ("03-14", "03-21", "03-28", "04-04")]
        assert [datetime.fromisoformat(d["startTime"]).astimezone(UTC).hour for d in docs] == [19, 19, 18, 18]
        assert [d["startTime"][11:16] for d in docs] == ["19:00"] * 4  # the wall clock in London
        series = {d["series"] for d in docs}
        assert len(series) == 1 and series.pop() == "http://peer.test/series/quiz"

        creates = (await sent(app, "Create")).values()
        assert sorted(a["object"]["id"] for a in creates) == sorted(d["id"] for d in docs)  # one Create per date

        collection = (await app.client.get("/series/quiz", headers={"Accept": "application/activity+json"})).json()
        assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 4
        assert collection["name"] == "Quiz" and collection["summary"] == "Quiz, every week"
        assert "series" in str(
            (await app.client.get(docs[0]["id"], headers={"Accept": "application/activity+json"})).json()["@context"]
        )

        cal = await ics(app, "/series/quiz.ics")
        events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
        assert list(events) == [d["id"] for d in docs]
        zone = cal.walk("VTIMEZONE")[0].to_tz()
        for doc in docs:
            event = events[doc["id"]]
            assert str(event["related-to"]) == "http://peer.test/series/quiz"
            assert event["related-to"].params["RELTYPE"] == "PARENT"
            local = event.decoded("dtstart").replace(tzinfo=None)
            assert local.replace(tzinfo=zone).astimezone(UTC) == datetime.fromisoformat(doc["startTime"]).astimezone(
                UTC
            )

        page = await app.client.get(f"/events/{slug_of(docs[1]['id'])}")
        assert page.status_code == 200
        for doc in docs:
            assert doc["startTime"][:16].replace("T", " ") in page.text
        assert "(this one)" in page.text and 'href="http://peer.test/series/quiz.ics"' in page.text


async def test_editing_one_date_leaves_the_others_as_they_were(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        docs = await new_series(app, calendar, quiz(), repeat="weekly", count="3")
        before = await ics(app, "/series/quiz.ics")
        await move_event(app, docs[1]["id"], quiz("2027-03-21T20:00", "2027-03-21T23:00", location="The Barn"))
        after = await ics(app, "/series/quiz.ics")
        sequences = {str(e["uid"]): int(e["sequence"]) for e in after.walk("VEVENT")}
        assert sequences == {docs[0]["id"]: 0, docs[1]["id"]: 1, docs[2]["id"]: 0}
        assert [e.to_ical() for e in before.walk("VEVENT")][::2] == [e.to_ical() for e in after.walk("VEVENT")][::2]
        assert (await document(app, docs[1]["id"]))["series"] == docs[1]["series"]  # still one of the series


async def test_this_and_all_following_changes_what_changed_and_only_the_dates_it_changes(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        docs = await new_series(app, calendar, quiz(), repeat="weekly", count="4")
        ids = [d["id"] for d in docs]
        await move_event(app, ids[3], quiz("2027-04-04T19:00", "2027-04-04T22:00", location="The Barn"))
        before = await sent(app, "Update")

        changed = await edit_following(
            app, ids[1], quiz("2027-03-21T20:00", "2027-03-21T23:30", capacity="30", description="Teams of four")
        )
        assert [d["id"] for d in changed] == ids[1:]
        first, second, third, fourth = [await document(app, i) for i in ids]
        assert first["startTime"] == "2027-03-14T19:00:00+00:00" and first["maximumAttendeeCapacity"] == 50
        assert second["startTime"] == "2027-03-21T20:00:00+00:00"
        assert third["startTime"] == "2027-03-28T20:00:00+01:00" and third["endTime"] == "2027-03-28T23:30:00+01:00"
        assert fourth["startTime"] == "2027-04-04T20:00:00+01:00"
        assert {d["maximumAttendeeCapacity"] for d in (second, third, fourth)} == {30}
        assert {d["source"]["content"] for d in (second, third, fourth)} == {"Teams of four"}
        assert fourth["location"]["name"] == "The Barn"  # its own change stays: the place was not changed
        assert third["location"]["name"] == "The Hall"

        updates = (await sent(app, "Update", before)).values()
        assert sorted(a["object"]["id"] for a in updates) == sorted(ids[1:])
        cal = await ics(app, "/series/quiz.ics")
        assert {str(e["uid"]): int(e["sequence"]) for e in cal.walk("VEVENT")} == {
            ids[0]: 0, ids[1]: 1, ids[2]: 1, ids[3]: 2,
        }  # fmt: skip

        # nothing new for a date that already has it: only the dates that change get an Update
        before = await sent(app, "Update")
        await edit_following(
            app,
            ids[2],
            quiz(
                "2027-03-28T20:00",
                "2027-03-28T23:30",
                capacity="30",
                description="Teams of four",
                location="The Barn",
                status="EventRescheduled",
            ),
        )  # fmt: skip  (as the edit page shows it)
        updates = (await sent(app, "Update", before)).values()
        assert [a["object"]["id"] for a in updates] == [ids[2]]  # the 4th is at the Barn already


async def test_capacity_below_what_a_following_date_sold_is_refused_and_nothing_changes(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        docs = await new_series(app, calendar, quiz(price="5"), repeat="monthly", count="3")
        async with app.store.write() as session:
            await record_sale(session, app.services, docs[2]["id"], "http://shop.test/orders/1",
                              [f"http://shop.test/orders/1/tickets/{n}" for n in range(12)])  # fmt: skip
        counts = await row_counts(app.store)
        with pytest.raises(ActivityError) as refused:
            await edit_following(app, docs[0]["id"], quiz(price="5", capacity="10"))
        assert refused.value.reason == (
            "The date on Sun 9 May 2027: 12 tickets are sold or held already; capacity cannot go below that"
        )
        assert await row_counts(app.store) == counts
        assert [(await document(app, d["id"]))["maximumAttendeeCapacity"] for d in docs] == [50, 50, 50]
        assert (await document(app, docs[2]["id"]))["remainingAttendeeCapacity"] == 38  # its tickets stay sold


async def test_cancelling_this_and_following_cancels_them_with_their_notes(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        docs = await new_series(app, calendar, quiz(), repeat="weekly", count="4")
        async with app.store.write() as session:
            row = await objects.get(session, docs[2]["id"])
            assert row is not None
            assert await cancel_following(session, app.services, row) == 2
        deleted = sorted(a["object"]["id"] for a in (await sent(app, "Delete")).values())
        assert deleted == sorted(d["id"] for d in docs[2:])
        notes = [a["object"] for a in (await sent(app, "Create")).values() if a["object"]["type"] == "Note"]
        assert sorted(n["context"] for n in notes) == sorted(d["id"] for d in docs[2:])
        cal = await ics(app, "/series/quiz.ics")
        assert [str(e["status"]) for e in cal.walk("VEVENT")] == ["CONFIRMED", "CONFIRMED", "CANCELLED", "CANCELLED"]
        page = await app.client.get(f"/events/{slug_of(docs[0]['id'])}")
        assert page.text.count("Cancelled</span>") == 2
        assert (await app.client.get("/series/nope.ics")).status_code == 404


async def test_monthly_from_the_31st_falls_on_the_last_weekday_and_bad_ends_schedule_nothing(database_url: str) -> None:
    async with running_app(database_url, "events") as app:
        calendar = await new_calendar(app)
        docs = await new_series(
            app, calendar, quiz("2027-03-31T19:00", "2027-03-31T22:00"), repeat="monthly", count="3"
        )
        assert [d["startTime"] for d in docs] == [
            "2027-03-31T19:00:00+01:00",
            "2027-04-28T19:00:00+01:00",
            "2027-05-26T19:00:00+01:00",
        ]  # fmt: skip  (the last Wednesday of each month)
        counts = await row_counts(app.store)
        for rule, sentence in (
            ({"count": "0"}, "a series has between 2 and 52 dates"),
            ({"count": "1000"}, "a series has between 2 and 52 dates"),
            ({"until": "2027-03-01"}, "the series must end on or after its first date"),
        ):
            with pytest.raises(ActivityError) as refused:
                await new_series(app, calendar, quiz(), repeat="weekly", **rule)
            assert refused.value.reason == sentence
        assert await row_counts(app.store) == counts
