"""RSVPs from the fediverse against a real events process on both stores: the organiser schedules with the
event form (bad fields come back as sentences and change nothing), fediverse accounts (real loopback actors
signing for real) send `Join`: a free event answers `Accept` and lists them in its public attendees collection,
`Reject` when full; `Leave` frees the place; a ticketed event's `Reject` carries its buy link."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.hostile.helpers import StoreView, Unchanged, assert_refused
from tests.support.actors import RemoteActor
from tests.support.admin import AS2, Admin, collection, eventually
from tests.support.httpserver import FakeServer, Recorded
from tests.support.processes import PeerProcess

pytestmark = pytest.mark.federation

FORM = {
    "name": "Picnic",
    "start": "2027-06-05T12:00",
    "end": "2027-06-05T16:00",
    "timezone": "Europe/London",
    "location": "Roundhay Park",
    "locality": "Leeds",
    "latitude": "53.8372",
    "longitude": "-1.4983",
    "category": "Outdoors",
    "capacity": "2",
    "price": "0",
    "admission": "rsvp",
}


@pytest.fixture
def events(peer_process: Callable[..., PeerProcess]) -> PeerProcess:
    return peer_process("events")


@pytest.fixture
def organiser(events: PeerProcess) -> Iterator[Admin]:
    admin = Admin(events.url, events.admin_token).login()
    try:
        yield admin
    finally:
        admin.close()


def schedule(events: PeerProcess, admin: Admin, **change: str) -> httpx.Response:
    data = {**FORM, **change, "calendar": f"{events.url}/calendars/main", "csrf": admin.csrf("/calendars")}
    return admin.client.post("/calendars/schedule", data=data)


def scheduled(events: PeerProcess, admin: Admin, **change: str) -> str:
    answer = schedule(events, admin, **change)
    assert answer.status_code == 303, answer.text[:500]
    slug = answer.headers["location"].rsplit("#", 1)[1]
    return f"{events.url}/events/{slug}"


def document(url: str) -> dict[str, Any]:
    answer = httpx.get(url, headers={"Accept": AS2}, trust_env=False)
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = answer.json()
    return doc


def answers(server: FakeServer, actor: RemoteActor, join: dict[str, Any]) -> list[Recorded]:
    found = []
    for record in server.posts():
        doc = record.json()
        obj = doc.get("object")
        if doc.get("type") in ("Accept", "Reject") and isinstance(obj, dict) and obj.get("id") == join["id"]:
            found.append(record)
    return found


def join(events: PeerProcess, server: FakeServer, actor: RemoteActor, event: str) -> dict[str, Any]:
    """`actor` Joins `event`; the answer that reaches its inbox."""
    activity = actor.activity("Join", event, to=[events.actor_id])
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        posted = actor.post(http, events.inbox, activity)
    assert posted.status_code in (200, 202), posted.text
    [record] = eventually(lambda: answers(server, actor, activity), what=f"the answer to {actor.name}'s Join")
    doc: dict[str, Any] = record.json()
    assert doc["actor"] == events.actor_id and doc["to"] == [actor.id]
    assert "signature" in {k.lower() for k in record.headers}, "the answer is signed"
    return doc


def leave(events: PeerProcess, actor: RemoteActor, event: str) -> None:
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        posted = actor.post(http, events.inbox, actor.activity("Leave", event, to=[events.actor_id]))
    assert posted.status_code in (200, 202), posted.text


def test_the_form_refuses_bad_fields_with_sentences(events: PeerProcess, organiser: Admin) -> None:
    before = collection(events.url, "/events")["totalItems"]
    cases = {
        "latitude": ("95", "the latitude must be between -90 and 90"),
        "timezone": ("Europe/Atlantis", "unknown time zone Europe/Atlantis: give an IANA name like Europe/London"),
        "status": ("EventMaybe", "the status must be one of EventScheduled"),
        "online_url": ("ftp://x", "the online address must be a web address starting with https://"),
        "price": ("5", "an event that takes RSVPs is free: set the price to 0 or sell tickets"),
    }
    for field, (value, message) in cases.items():
        answer = schedule(events, organiser, **{field: value})
        assert answer.status_code == 400, field
        assert message in answer.text.replace("&#39;", "'"), (field, answer.text[:2000])
    assert collection(events.url, "/events")["totalItems"] == before


def test_a_free_event_takes_rsvps_until_full(
    events: PeerProcess, organiser: Admin, fake_server: Callable[[], FakeServer],
    remote_actor: Callable[..., RemoteActor],
) -> None:  # fmt: skip
    server = fake_server()
    ada, bob, cy = (remote_actor(name, server=server) for name in ("ada", "bob", "cy"))
    event = scheduled(events, organiser)
    doc = document(event)
    assert doc["joinMode"] == "free" and doc["attendees"] == f"{event}/attendees"
    assert doc["category"] == "Outdoors" and doc["location"]["latitude"] == 53.8372
    assert doc["summary"] == "<p>Sat 5 June 2027, 12:00 · Roundhay Park, Leeds · Free</p>"

    assert join(events, server, ada, event)["type"] == "Accept"
    assert join(events, server, bob, event)["type"] == "Accept"
    full = join(events, server, cy, event)
    assert full["type"] == "Reject" and full["summary"] == "This event is full."
    attendees = collection(events.url, f"/events/{event.rsplit('/', 1)[1]}/attendees")
    assert attendees["totalItems"] == 2 and set(attendees["items"]) == {ada.id, bob.id}
    assert document(event)["remainingAttendeeCapacity"] == 0

    leave(events, ada, event)
    eventually(lambda: collection(events.url, f"/events/{event.rsplit('/', 1)[1]}/attendees")["totalItems"] == 1,
               what="Ada's Leave to free her place")  # fmt: skip
    assert document(event)["remainingAttendeeCapacity"] == 1
    assert join(events, server, cy, event)["type"] == "Accept"
    page = httpx.get(event, headers={"Accept": "text/html"}, trust_env=False).text
    assert re.search(r"<strong>2</strong> / 2 attending", page)
    assert "https://www.openstreetmap.org/?mlat=53.8372" in page and "Outdoors" in page


def test_a_join_of_a_ticketed_event_is_rejected_with_the_buy_link(
    events: PeerProcess, organiser: Admin, fake_server: Callable[[], FakeServer],
    remote_actor: Callable[..., RemoteActor],
) -> None:  # fmt: skip
    server = fake_server()
    ada = remote_actor("ada", server=server)
    event = scheduled(events, organiser, name="Gig", admission="tickets", price="12.00")
    doc = document(event)
    assert doc["joinMode"] == "external" and doc["externalParticipationUrl"] == event
    assert "attendees" not in doc
    answer = join(events, server, ada, event)
    assert answer["type"] == "Reject"
    assert answer["summary"] == f"This event takes tickets: buy one at {event}"
    assert httpx.get(f"{event}/attendees", headers={"Accept": AS2}, trust_env=False).status_code == 404


def test_a_join_of_what_is_not_our_event_is_refused_and_changes_nothing(
    events: PeerProcess, organiser: Admin, remote_actor: Callable[..., RemoteActor]
) -> None:
    ada = remote_actor("ada")
    event = scheduled(events, organiser)
    attendees = f"/events/{event.rsplit('/', 1)[1]}/attendees"
    view = StoreView(events.database_url)
    try:
        with httpx.Client(trust_env=False, timeout=10.0) as http:
            # Leaving what one never joined is recorded (a replay changes nothing) and leaves the attendees be;
            # it also puts Ada's key in the peer's cache, which is no effect of the refusals below.
            assert actor_post(ada, http, events, "Leave", event).status_code == 202
            for target, reason in (
                (f"{events.url}/events/no-such-event", "no such event here"),
                (f"{events.url}/calendars/main", "not an event of this peer"),
                ("https://elsewhere.example/events/x", "not an event of this peer"),
            ):
                with Unchanged(view):
                    assert_refused(actor_post(ada, http, events, "Join", target), 422, reason)
    finally:
        view.close()
    assert collection(events.url, attendees)["totalItems"] == 0
    assert document(event)["remainingAttendeeCapacity"] == 2


def actor_post(actor: RemoteActor, http: httpx.Client, events: PeerProcess, kind: str, obj: str) -> httpx.Response:
    return actor.post(http, events.inbox, actor.activity(kind, obj, to=[events.actor_id]))


def test_joins_at_once_never_take_more_places_than_there_are(
    events: PeerProcess, organiser: Admin, fake_server: Callable[[], FakeServer],
    remote_actor: Callable[..., RemoteActor],
) -> None:  # fmt: skip
    """Eight accounts Join a two-place event at the same moment: two Accepts, six Rejects, two attendees."""
    server = fake_server()
    crowd = [remote_actor(f"p{n}", server=server) for n in range(8)]
    event = scheduled(events, organiser)
    with ThreadPoolExecutor(len(crowd)) as pool:
        answered = list(pool.map(lambda actor: join(events, server, actor, event)["type"], crowd))
    assert sorted(answered) == ["Accept", "Accept", *["Reject"] * 6]
    attendees = collection(events.url, f"/events/{event.rsplit('/', 1)[1]}/attendees")
    assert attendees["totalItems"] == 2 and len(attendees["items"]) == 2
    assert document(event)["remainingAttendeeCapacity"] == 0


def test_the_edit_form_shows_and_changes_the_new_fields(events: PeerProcess, organiser: Admin) -> None:
    event = scheduled(events, organiser, organizers="https://other.example/users/ann")
    edit = f"/events/{event.rsplit('/', 1)[1]}/edit"
    page = organiser.client.get(edit)
    assert page.status_code == 200
    for shown in ('value="Outdoors"', 'value="53.8372"', 'value="Leeds"', "https://other.example/users/ann",
                  '<option value="rsvp" selected>', '<option value="EventScheduled" selected>'):  # fmt: skip
        assert shown in page.text, shown

    before = document(event)
    refused = organiser.client.post(edit, data={**FORM, "latitude": "north", "csrf": organiser.csrf(edit)})
    assert refused.status_code == 400 and "the latitude must be a number like 53.7997" in refused.text
    assert document(event) == before

    changed = {**FORM, "status": "EventPostponed", "online_url": "https://meet.example/picnic"}
    done = organiser.client.post(edit, data={**changed, "csrf": organiser.csrf(edit)})
    assert done.status_code == 303, done.text[:500]
    after = document(event)
    assert after["eventStatus"] == "EventPostponed" and after["updated"]
    assert [p["type"] for p in after["location"]] == ["Place", "VirtualLocation"]
    assert after["organizers"] == [events.actor_id]  # the field left empty: no other organiser now
    assert after["summary"].startswith("<p>Postponed: Sat 5 June 2027, 12:00 · Roundhay Park, Leeds and online")


def test_no_ticket_is_sold_for_an_rsvp_or_a_cancelled_event(events: PeerProcess, organiser: Admin) -> None:
    free = scheduled(events, organiser)
    cancelled = scheduled(events, organiser, name="Gig", admission="tickets", price="12.00", status="EventCancelled")
    with httpx.Client(base_url=events.url, trust_env=False, timeout=10.0) as visitor:
        free_page = visitor.get(free, headers={"Accept": "text/html"}).text
        assert "/buy" not in free_page and "RSVP from your fediverse account" in free_page
        cancelled_page = visitor.get(cancelled, headers={"Accept": "text/html"}).text
        assert "/buy" not in cancelled_page and "No tickets are sold." in cancelled_page
        on_sale = scheduled(events, organiser, name="Open gig", admission="tickets", price="12.00")
        csrf = re.search(r'name="csrf" value="([^"]+)"', visitor.get(on_sale, headers={"Accept": "text/html"}).text)
        assert csrf, "an event on sale has its buy form, with the visitor's CSRF token"
        for event, reason in (
            (free, "This event is free and takes no tickets: RSVP from your fediverse account instead."),
            (cancelled, "This event is cancelled: no tickets are sold."),
        ):
            data = {"csrf": csrf.group(1), "name": "Ada", "email": "ada@example.org", "quantity": "1"}
            bought = visitor.post(f"{event}/buy", data=data)
            assert bought.status_code == 400 and reason in bought.text.replace("&#39;", "'"), bought.text[:1000]
            assert collection(events.url, f"/events/{event.rsplit('/', 1)[1]}/sold")["totalItems"] == 0
