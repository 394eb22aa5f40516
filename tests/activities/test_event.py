from datetime import datetime
from decimal import Decimal

import pytest

from activities.errors import ActivityError
from activities.event import event_document, featured_post, parse_event_input, parse_price
from activities.fep8a8e import EventStatus, summary_line
from activities.vocab import PUBLIC

FORM = {
    "name": "Summer <b>Gig</b>",
    "start": "2027-07-01T19:00",
    "end": "2027-07-01T23:00",
    "timezone": "Europe/London",
    "location": "The Hall",
    "address": "1 High Street",
    "capacity": "100",
    "price": "12.5",
}


def test_form_becomes_aware_times_in_the_named_zone() -> None:
    data = parse_event_input(FORM)
    assert data.name == "Summer Gig"
    assert data.start.isoformat() == "2027-07-01T19:00:00+01:00"
    assert data.end.isoformat() == "2027-07-01T23:00:00+01:00"
    assert data.price == Decimal("12.50")


def test_summary_carries_date_time_place_and_price_for_mastodon() -> None:
    start = datetime.fromisoformat("2027-07-01T19:00:00+01:00")
    line = summary_line(start, "The Hall", Decimal("12.50"), "GBP", EventStatus.SCHEDULED)
    assert line == "Thu 1 July 2027, 19:00 · The Hall · 12.50 GBP"
    assert summary_line(start, "The Hall", Decimal(0), "GBP", EventStatus.SCHEDULED).endswith("· Free")
    postponed = summary_line(start, "The Hall", Decimal(0), "GBP", EventStatus.POSTPONED)
    assert postponed == "Postponed: Thu 1 July 2027, 19:00 · The Hall · Free"


def test_event_document_follows_fep_8a8e() -> None:
    data = parse_event_input(FORM)
    doc = event_document(
        event_id="https://e.example/events/summer-gig", organizer="https://e.example/actor",
        calendar="https://e.example/calendars/main", data=data, featured_post="https://b.example/posts/welcome",
        sold=3, public=PUBLIC, followers="https://e.example/actor/followers", extra_cc=["https://b.example/actor"],
        currency="GBP", published="2026-11-27T00:00:00Z",
    )  # fmt: skip
    assert doc["type"] == "Event"
    assert doc["location"] == {
        "type": "Place",
        "name": "The Hall",
        "address": {"type": "PostalAddress", "streetAddress": "1 High Street"},
    }
    assert doc["maximumAttendeeCapacity"] == 100 and doc["remainingAttendeeCapacity"] == 97
    assert doc["summary"] == "<p>Thu 1 July 2027, 19:00 · The Hall · 12.50 GBP</p>"
    assert doc["timezone"] == "Europe/London"
    assert doc["sold"] == "https://e.example/events/summer-gig/sold"
    assert doc["to"] == [PUBLIC] and "https://b.example/actor" in doc["cc"]
    assert featured_post(doc) == "https://b.example/posts/welcome"


def test_markup_in_names_and_places_never_reaches_the_summary() -> None:
    data = parse_event_input({**FORM, "name": "<script>alert(1)</script>Gig", "location": "<img src=x onerror=1>Hall"})
    doc = event_document(
        event_id="https://e.example/events/x", organizer="https://e.example/actor", calendar="c", data=data,
        featured_post=None, sold=0, public=PUBLIC, followers="f", extra_cc=[], currency="GBP", published="p",
    )  # fmt: skip
    assert doc["name"] == "Gig"
    assert "<img" not in doc["summary"] and "onerror" not in doc["summary"]
    assert "script" not in doc["name"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"end": "2027-07-01T18:00"}, "end must be after"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"capacity": "0"}, "capacity"),
        ({"capacity": "lots"}, "whole number"),
        ({"start": "tomorrow"}, "must look like"),
        ({"name": ""}, "name is required"),
        ({"name": "x" * 5000}, "longer than"),
        ({"price": "-1"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": "NaN"}, "price"),
    ],
)
def test_bad_event_input_is_refused_with_a_reason(change: dict[str, str], reason: str) -> None:
    with pytest.raises(ActivityError, match=reason):
        parse_event_input({**FORM, **change})


def test_price_is_normalised_to_two_decimals() -> None:
    assert parse_price("7") == Decimal("7.00")
