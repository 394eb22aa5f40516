"""A date of a series and the series itself, as Fedify reads them: the organiser schedules a monthly series on
the events peer's form; Fedify fetches one date (signed GET) and the series' OrderedCollection, parses both, and
drops no term: `series` is defined by the Event's @context."""

from __future__ import annotations

import re

import pytest

from tests.interop.conftest import Rose
from tests.interop.fedify import FedifyPeer

pytestmark = pytest.mark.interop


def test_a_series_date_and_its_series_parse_in_fedify(fedify: FedifyPeer, rose: Rose) -> None:
    admin = rose.admin("events")
    calendar = f"{rose.events.url}/calendars/main"
    page = admin.client.get("/calendars").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    answer = admin.client.post("/calendars/schedule", data={
        "csrf": csrf.group(1), "calendar": calendar, "name": "Interop Series", "start": "2027-09-07T19:00",
        "end": "2027-09-07T21:00", "timezone": "Europe/London", "location": "The Hall", "capacity": "30",
        "price": "0", "repeat": "monthly", "count": "3",
    })  # fmt: skip
    assert answer.status_code == 303, answer.text[:1000]
    first = f"{rose.events.url}/events/interop-series-2027-09-07"
    event = rose.document(first)
    series = event["series"]
    assert series == f"{rose.events.url}/series/interop-series"

    got = fedify.lookup(first)
    assert got["ok"], got.get("error")
    assert got["dropped"] == [], got["dropped"]
    assert (got["type"], got["id"]) == ("Event", first)

    listed = fedify.lookup(series)
    assert listed["ok"], listed.get("error")
    assert listed["dropped"] == [], listed["dropped"]
    assert (listed["type"], listed["totalItems"]) == ("OrderedCollection", 3)
    dates = fedify.lookup(listed["first"])
    assert dates["ok"] and set(dates["items"]) == {
        first,
        f"{rose.events.url}/events/interop-series-2027-10-05",
        f"{rose.events.url}/events/interop-series-2027-11-02",
    }  # fmt: skip  (the 1st Tuesday of each month)
