"""FEP-8a8e with Fedify as the other side: every new field of an Event (status, organizers, category, a Place
with its postal address and coordinates beside a VirtualLocation, joinMode) and the attendees collection parse
in Fedify's vocabulary with no term dropped; a Fedify account RSVPs with `Join` and gets `Accept`, and once the
event is full a second Fedify server's account gets `Reject`. A Fedify follower gets a reschedule and a
cancellation as `Update(Event)` with `updated` (an edit, to Mastodon) and as a public Note each."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pytest

from tests.interop.conftest import Json, Rose, wait_until
from tests.interop.fedify import RFC9421, FedifyPeer, running_fedify_peer

pytestmark = pytest.mark.interop


def free_event(rose: Rose, capacity: int, **more: object) -> str:
    return rose.c2s(
        "events",
        {
            "type": "Create",
            "object": {
                "type": "Event",
                "name": f"Picnic {secrets.token_hex(3)}",
                "startTime": "2027-06-05T12:00",
                "endTime": "2027-06-05T16:00",
                "timezone": "Europe/London",
                "location": {"type": "Place", "name": "Roundhay Park"},
                "maximumAttendeeCapacity": capacity,
                "price": "0",
                "joinMode": "free",
                **more,
            },
        },
    )


def parsed(fedify: FedifyPeer, url: str) -> Json:
    got = fedify.lookup(url)
    assert got["ok"], f"Fedify could not fetch or parse {url}: {got.get('error')}"
    assert got["dropped"] == [], f"terms of {url} a JSON-LD consumer drops: {got['dropped']}"
    return got


def join(fedify: FedifyPeer, rose: Rose, event: str) -> Json:
    """Fedify's actor Joins `event`; our answer as Fedify's inbox recorded it."""
    activity = {"id": f"{fedify.origin}/joins/{secrets.token_hex(8)}", "type": "Join", "object": event}
    sent = fedify.send(to=rose.events.actor_id, activity=activity, spec=RFC9421)
    assert sent["status"] == 202, sent
    assert json.loads(sent["body"])["status"] == "processed", sent
    return wait_until(
        lambda: next((r for r in fedify.inbox() if r["object_id"] == activity["id"]), None),
        f"our answer to {fedify.actor_id}'s Join",
        timeout=20,
    )


def test_every_new_event_field_parses_in_fedify(fedify: FedifyPeer, rose: Rose) -> None:
    event = rose.c2s(
        "events",
        {
            "type": "Create",
            "object": {
                "type": "Event",
                "name": f"Hybrid talk {secrets.token_hex(3)}",
                "startTime": "2027-10-02T18:30",
                "endTime": "2027-10-02T20:00",
                "timezone": "Europe/Berlin",
                "eventStatus": "EventPostponed",
                "category": "Talks",
                "organizers": [fedify.actor_id],
                "location": [
                    {
                        "type": "Place",
                        "name": "Town Hall",
                        "address": {
                            "type": "PostalAddress",
                            "streetAddress": "Markt 1",
                            "addressLocality": "Köln",
                            "postalCode": "50667",
                            "addressCountry": "DE",
                        },
                        "latitude": 50.9381,
                        "longitude": 6.9588,
                    },
                    {"type": "VirtualLocation", "url": "https://meet.example/room"},
                ],
                "maximumAttendeeCapacity": 30,
                "price": "5.00",
            },
        },
    )
    served = rose.document(event)
    assert served["eventStatus"] == "EventPostponed" and served["category"] == "Talks"
    assert served["organizers"] == [rose.events.actor_id, fedify.actor_id]
    assert served["location"][0]["address"]["addressLocality"] == "Köln"
    assert served["location"][1] == {"type": "VirtualLocation", "url": "https://meet.example/room"}
    assert served["joinMode"] == "external" and served["externalParticipationUrl"] == event
    line = f"Postponed: Sat 2 October 2027, 18:30 · Town Hall, Köln and online · 5.00 {served['priceCurrency']}"
    assert served["summary"] == f"<p>{line}</p>"
    got = parsed(fedify, event)
    assert (got["type"], got["id"], got["startTime"]) == ("Event", event, "2027-10-02T16:30:00Z")
    assert got["location"]["type"] == "Place" and got["location"]["name"] == "Town Hall"
    assert got["summary"] == served["summary"]


def test_a_fedify_account_rsvps_and_a_full_event_refuses(fedify: FedifyPeer, rose: Rose) -> None:
    event = free_event(rose, capacity=1)
    served = rose.document(event)
    assert served["joinMode"] == "free" and served["attendees"] == f"{event}/attendees"

    accept = join(fedify, rose, event)
    assert (accept["type"], accept["actor"]) == ("Accept", rose.events.actor_id)
    assert accept["dropped"] == [] and accept["received"]["object"]["object"] == event
    attendees = parsed(fedify, f"{event}/attendees")
    assert attendees["type"] == "OrderedCollection" and attendees["totalItems"] == 1
    page = parsed(fedify, attendees["first"])
    assert page["items"] == [fedify.actor_id]

    with running_fedify_peer(actor="bob") as other:
        reject = join(other, rose, event)
        assert (reject["type"], reject["actor"]) == ("Reject", rose.events.actor_id)
        assert reject["received"]["summary"] == "This event is full."
    assert parsed(fedify, f"{event}/attendees")["totalItems"] == 1


def test_a_reschedule_and_a_cancel_reach_a_fedify_follower_as_edits_and_notes(
    fedify: FedifyPeer, rose: Rose, fedify_follows: Callable[[str], Json]
) -> None:
    fedify_follows("events")
    event = free_event(rose, capacity=5)

    def arrived(kind: str, seen: int) -> Callable[[], list[Json] | None]:
        def check() -> list[Json] | None:
            found = [r for r in fedify.inbox() if r["type"] == kind and r["object_id"] == event]
            return found if len(found) > seen else None

        return check

    moved = {"type": "Event", "id": event, "startTime": "2027-06-12T12:00", "endTime": "2027-06-12T16:00"}
    rose.c2s("events", {"type": "Update", "object": moved})
    update = wait_until(arrived("Update", 0), "the reschedule at Fedify")[-1]
    assert update["dropped"] == []
    assert update["object"]["updated"] is not None, "Mastodon shows an Update with `updated` as an edit"
    assert update["received"]["object"]["eventStatus"] == "EventRescheduled"
    assert update["received"]["object"]["previousStartTime"] == "2027-06-05T12:00:00+01:00"

    def note(words: str) -> Json | None:
        return next(
            (
                r
                for r in fedify.inbox()
                if r["type"] == "Create"
                and (r["object"] or {}).get("type") == "Note"
                and words in r["object"]["content"]
            ),
            None,
        )

    rescheduled = wait_until(lambda: note("is now on Sat 12 June 2027, 12:00"), "the reschedule Note at Fedify")
    assert "https://www.w3.org/ns/activitystreams#Public" in rescheduled["object"]["to"]
    assert rescheduled["object"]["url"] == event

    rose.c2s("events", {"type": "Update", "object": {"type": "Event", "id": event, "eventStatus": "EventCancelled"}})
    cancelled = wait_until(arrived("Update", 1), "the cancellation at Fedify")[-1]
    assert cancelled["received"]["object"]["eventStatus"] == "EventCancelled"
    assert cancelled["object"]["updated"] is not None
    wait_until(lambda: note("will not take place"), "the cancellation Note at Fedify")
    ics = rose.get(f"{event}.ics", accept="text/calendar")
    assert ics.status_code == 200 and "STATUS:CANCELLED" in ics.text
