"""Event objects as FEP-8a8e (a common approach to the Event type) has them, where it applies: name,
startTime and endTime with their offset, the IANA timezone they were set in, location as a Place,
maximumAttendeeCapacity (and what remains), the sold collection any reader may count (totalItems public,
buyers never shown), and the events actor's upcomingEvents collection. Read as anyone reads them: an
unsigned GET. An event's poster is its AS2 `image`, which Fedify parses with its media type, size and alt text.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.interop.conftest import Json, Rose, World
from tests.interop.fedify import FedifyPeer
from tests.media import images

pytestmark = pytest.mark.interop


def test_an_event_has_the_fep_8a8e_fields(rose: Rose, world: World) -> None:
    event = rose.document(world.event)
    assert (event["type"], event["id"], event["name"]) == ("Event", world.event, "Interop Night")
    start, end = datetime.fromisoformat(event["startTime"]), datetime.fromisoformat(event["endTime"])
    assert start.tzinfo is not None and end.tzinfo is not None, "times carry their UTC offset"
    assert start < end
    zone = ZoneInfo(event["timezone"])  # an IANA name
    assert event["timezone"] == "Europe/London"
    local = start.astimezone(zone)
    assert start.utcoffset() == local.utcoffset(), "the offset is the time zone's at that moment"
    assert (local.hour, local.minute) == (19, 0)
    assert event["location"] == {
        "type": "Place",
        "name": "The Hall",
        "address": {"type": "PostalAddress", "streetAddress": "1 High Street"},
    }
    assert event["eventStatus"] == "EventScheduled"
    assert event["organizers"] == [rose.events.actor_id]
    assert event["joinMode"] == "external" and event["externalParticipationUrl"] == world.event
    assert event["summary"] == "<p>Thu 1 July 2027, 19:00 · The Hall · Free</p>"  # the suite's events are free (conftest)
    assert event["maximumAttendeeCapacity"] == 50
    assert isinstance(event["remainingAttendeeCapacity"], int)
    assert event["attributedTo"] == rose.events.actor_id
    assert event["context"] == world.calendar


def test_the_sold_collection_is_public_counts_tickets_and_hides_buyers(rose: Rose, world: World) -> None:
    sold_url = rose.document(world.event)["sold"]
    assert sold_url == f"{world.event}/sold"
    before = rose.document(sold_url)
    assert before["type"] == "OrderedCollection" and isinstance(before["totalItems"], int)
    assert before["totalItems"] >= 1  # the world's purchase

    name, email = f"Grace {secrets.token_hex(2)}", f"grace-{secrets.token_hex(3)}@example.org"
    assert rose.buy_ticket(world.event, name=name, email=email, quantity=2)["state"] == "confirmed"
    after = rose.document(sold_url)
    assert after["totalItems"] == before["totalItems"] + 2
    event = rose.document(world.event)
    assert event["remainingAttendeeCapacity"] == event["maximumAttendeeCapacity"] - after["totalItems"]

    page = rose.get(f"{sold_url}?page=true").text
    for private in (name, email, "ada@example.org"):
        assert private not in page


def test_the_events_actor_lists_upcoming_events(rose: Rose, world: World) -> None:
    upcoming = rose.document(rose.events.actor_id)["upcomingEvents"]
    collection = rose.document(upcoming)
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] >= 1
    assert world.event in rose.item_ids(upcoming)

    soon = rose.c2s(
        "events",
        {
            "type": "Create",
            "object": {
                "type": "Event",
                "name": f"Pop-up {secrets.token_hex(3)}",
                "startTime": "2027-09-01T18:00",
                "endTime": "2027-09-01T20:00",
                "timezone": "Europe/Paris",
                "location": {"type": "Place", "name": "The Yard"},
                "maximumAttendeeCapacity": 10,
            },
        },
    )
    assert soon in rose.item_ids(upcoming)
    assert rose.document(soon)["timezone"] == "Europe/Paris"
    assert datetime.fromisoformat(rose.document(soon)["startTime"]).utcoffset() == ZoneInfo("Europe/Paris").utcoffset(
        datetime(2027, 9, 1, 18)
    )
    rose.c2s("events", {"type": "Delete", "object": soon})
    assert soon not in rose.item_ids(upcoming)


def _fedify_image(fedify: FedifyPeer, url: str) -> Json | None:
    got = fedify.lookup(url)
    assert got["ok"], f"Fedify could not fetch or parse {url}: {got.get('error')}"
    assert got["dropped"] == [], f"terms a JSON-LD consumer drops: {got['dropped']}"
    assert got["json_ld"]["type"] == "Event"
    image: Json | None = got["json_ld"].get("image")  # Fedify's own serialization of what its vocabulary kept
    return image


def test_fedify_reads_the_events_poster_as_its_image(fedify: FedifyPeer, rose: Rose) -> None:
    admin = rose.admin("events")
    form = {
        "csrf": admin.csrf,
        "calendar": f"{rose.events.url}/calendars/main",
        "name": f"Poster night {secrets.token_hex(3)}",
        "start": "2027-07-02T19:00",
        "end": "2027-07-02T22:00",
        "timezone": "Europe/London",
        "location": "The Hall",
        "capacity": "40",
        "price": "0",
        "poster_alt": "The poster: a guitar in orange light",
    }
    poster = {"poster": ("poster.jpg", images.photo("JPEG", (1200, 800), gps=True), "image/jpeg")}
    answer = admin.client.post("/calendars/schedule", data=form, files=poster)
    assert answer.status_code == 303, answer.text[:500]
    event = f"{rose.events.url}/events/{answer.headers['location'].rsplit('#', 1)[1]}"
    ours = rose.document(event)["image"]
    assert _fedify_image(fedify, event) == {
        "type": "Image",
        "url": ours["url"],
        "mediaType": "image/jpeg",
        "width": 1200,
        "height": 800,
        "name": "The poster: a guitar in orange light",
    }

    edit = f"/events/{event.rsplit('/', 1)[1]}/edit"
    png = {"poster": ("poster.png", images.photo("PNG", (600, 900)), "image/png")}
    changed = admin.client.post(edit, data={**form, "poster_alt": "The new poster, upright"}, files=png)
    assert changed.status_code == 303, changed.text[:500]
    image = _fedify_image(fedify, event)
    assert image is not None and image["url"] != ours["url"]
    assert (image["mediaType"], image["width"], image["height"], image["name"]) == (
        "image/png", 600, 900, "The new poster, upright",
    )  # fmt: skip

    removed = admin.client.post(edit, data={**form, "poster_remove": "1"})
    assert removed.status_code == 303, removed.text[:500]
    assert _fedify_image(fedify, event) is None
