"""The FEP-8a8e fields an organiser's form becomes: status, organizers, category, a Place with its postal address
and coordinates, a VirtualLocation, joinMode; and each bad field refused with a sentence."""

from __future__ import annotations

from typing import Any

import pytest

from activities.errors import ActivityError
from activities.event import event_document, parse_event_input
from activities.fep8a8e import form_of
from activities.vocab import PUBLIC

FORM = {
    "name": "Gig",
    "start": "2027-07-01T19:00",
    "end": "2027-07-01T23:00",
    "timezone": "Europe/London",
    "location": "The Hall",
    "address": "1 High Street",
    "locality": "Leeds",
    "postcode": "LS1 1AA",
    "country": "GB",
    "latitude": "53.7997",
    "longitude": "-1.5492",
    "capacity": "100",
    "price": "12.5",
    "category": "Music",
    "organizers": "https://other.example/users/ann",
}
EVENT = "https://e.example/events/gig"
ACTOR = "https://e.example/actor"


def document(form: dict[str, str]) -> dict[str, Any]:
    return event_document(
        event_id=EVENT, organizer=ACTOR, calendar="https://e.example/calendars/main", data=parse_event_input(form),
        featured_post=None, sold=0, public=PUBLIC, followers=f"{ACTOR}/followers", extra_cc=[], currency="GBP",
        published="2026-12-01T00:00:00Z",
    )  # fmt: skip


def test_an_in_person_ticketed_event() -> None:
    doc = document(FORM)
    assert doc["eventStatus"] == "EventScheduled"
    assert doc["organizers"] == [ACTOR, "https://other.example/users/ann"]
    assert doc["category"] == "Music"
    assert doc["location"] == {
        "type": "Place",
        "name": "The Hall",
        "address": {
            "type": "PostalAddress",
            "streetAddress": "1 High Street",
            "addressLocality": "Leeds",
            "postalCode": "LS1 1AA",
            "addressCountry": "GB",
        },
        "latitude": 53.7997,
        "longitude": -1.5492,
    }
    assert doc["joinMode"] == "external" and doc["externalParticipationUrl"] == EVENT
    assert "attendees" not in doc
    assert doc["summary"] == "<p>Thu 1 July 2027, 19:00 · The Hall, Leeds · 12.50 GBP</p>"


def test_online_hybrid_and_free_rsvp_events() -> None:
    online = document({**FORM, "location": "", "address": "", "latitude": "", "longitude": "",
                       "online_url": "https://meet.example/room", "price": "0", "admission": "rsvp"})  # fmt: skip
    assert online["location"] == {"type": "VirtualLocation", "url": "https://meet.example/room"}
    assert online["joinMode"] == "free" and online["attendees"] == f"{EVENT}/attendees"
    assert online["summary"] == "<p>Thu 1 July 2027, 19:00 · Online · Free</p>"
    hybrid = document({**FORM, "online_url": "https://meet.example/room"})
    assert [p["type"] for p in hybrid["location"]] == ["Place", "VirtualLocation"]
    assert "The Hall, Leeds and online" in hybrid["summary"]
    moved = document({**FORM, "online_url": "https://meet.example/room", "status": "EventMovedOnline"})
    assert moved["location"]["type"] == "VirtualLocation"
    assert moved["summary"].startswith("<p>Moved online: ")


def test_the_edit_form_reads_back_what_it_wrote() -> None:
    for form in (FORM, {**FORM, "online_url": "https://meet.example/room", "price": "0", "admission": "rsvp",
                        "status": "EventPostponed"}):  # fmt: skip
        again = document({**form, **form_of(document(form))})
        assert again == document(form)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "EventMaybe"}, "the status must be one of EventScheduled"),
        ({"latitude": "91"}, "the latitude must be between -90 and 90"),
        ({"longitude": "east"}, "the longitude must be a number"),
        ({"longitude": ""}, "give both the latitude and the longitude"),
        ({"online_url": "javascript:alert(1)"}, "the online address must be a web address"),
        ({"organizers": "ann@example.org"}, "each organiser must be a web address"),
        ({"organizers": " ".join(f"https://o.example/{n}" for n in range(6))}, "at most 5 other organisers"),
        ({"category": "<b>;DROP"}, "the category may hold letters"),
        ({"admission": "rsvp"}, "an event that takes RSVPs is free"),
        ({"admission": "maybe"}, "admission must be one of tickets, rsvp"),
        ({"status": "EventMovedOnline"}, "an event moved online needs its online address"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone Mars/Olympus: give an IANA name"),
        ({"timezone": "+01:00"}, "unknown time zone"),
        ({"location": ""}, "location is required"),
    ],
)
def test_bad_fields_are_refused_with_a_sentence(change: dict[str, str], message: str) -> None:
    with pytest.raises(ActivityError) as refused:
        parse_event_input({**FORM, **change})
    assert refused.value.reason.startswith(message), refused.value.reason
