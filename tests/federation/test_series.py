"""Series against a real events process on both stores, with a real follower on loopback: the organiser's form
refuses bad repeat fields with sentences and changes nothing; a weekly series across the clocks going forward
reaches the follower as one signed Create per date, each at the right instant and linked to the series; editing
this and all following dates sends an Update for each of them, one date alone just its own; cancelling this and
the following dates sends their Deletes and Notes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.support.actors import RemoteActor
from tests.support.admin import AS2, Admin, collection, eventually
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess

pytestmark = pytest.mark.federation

FORM = {
    "name": "Quiz night",
    "start": "2027-03-14T19:00",
    "end": "2027-03-14T22:00",
    "timezone": "Europe/London",
    "location": "The Hall",
    "capacity": "40",
    "price": "5",
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


def schedule(events: PeerProcess, admin: Admin, **fields: str) -> httpx.Response:
    data = {**FORM, **fields, "calendar": f"{events.url}/calendars/main", "csrf": admin.csrf("/calendars")}
    return admin.client.post("/calendars/schedule", data=data)


def received(server: FakeServer, kind: str, object_type: str = "Event") -> list[dict[str, Any]]:
    found = []
    for record in server.posts():
        doc = record.json()
        if doc.get("type") == kind and isinstance(obj := doc.get("object"), dict) and obj.get("type") == object_type:
            assert "signature" in {k.lower() for k in record.headers}
            found.append(doc)
    return found


def followed(events: PeerProcess, server: FakeServer, follower: RemoteActor) -> None:
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        answer = follower.post(http, events.inbox, follower.activity("Follow", events.actor_id))
    assert answer.status_code == 202, answer.text
    eventually(lambda: follower.id in collection(events.url, "/actor/followers")["items"], what="the follow")


def test_a_series_reaches_a_follower_date_by_date_and_edits_reach_only_the_dates_they_change(
    events: PeerProcess, organiser: Admin, fake_server: Callable[[], FakeServer],
    remote_actor: Callable[..., RemoteActor],
) -> None:  # fmt: skip
    server = fake_server()
    followed(events, server, remote_actor("zoe", server=server))

    before = collection(events.url, "/events")["totalItems"]
    refusals = {
        ("0", ""): "a series has between 2 and 52 dates",
        ("1000", ""): "a series has between 2 and 52 dates",
        ("", "2027-03-01"): "the series must end on or after its first date",
        ("", "2029-03-14"): "that last date gives more than 52 dates: choose an earlier one or a number of dates",
        ("3", "2027-05-01"): "give the series an end date or a number of dates, not both",
        ("", ""): "a repeating event needs an end: a last date or a number of dates",
    }
    for (count, until), sentence in refusals.items():
        answer = schedule(events, organiser, repeat="weekly", count=count, until=until)
        assert answer.status_code == 400, (count, until)
        assert sentence in answer.text, (count, until, answer.text[:2000])
    assert schedule(events, organiser, repeat="fortnightly", count="3").status_code == 400
    assert collection(events.url, "/events")["totalItems"] == before
    with httpx.Client(trust_env=False) as http:
        assert http.get(f"{events.url}/series/quiz-night", headers={"Accept": AS2}).status_code == 404

    page = organiser.client.get("/calendars")
    assert "Monthly repeats on the same weekday of the month" in page.text

    answer = schedule(events, organiser, repeat="weekly", count="4")
    assert answer.status_code == 303, answer.text[:1000]
    ids = [f"{events.url}/events/quiz-night-2027-{day}" for day in ("03-14", "03-21", "03-28", "04-04")]
    assert answer.headers["location"].endswith("#quiz-night-2027-03-14")
    creates = eventually(lambda: (found := received(server, "Create")) and len(found) == 4 and found,
                         what="four Creates at the follower")  # fmt: skip
    by_id = {c["object"]["id"]: c["object"] for c in creates}
    assert sorted(by_id) == sorted(ids)
    series = f"{events.url}/series/quiz-night"
    assert {o["series"] for o in by_id.values()} == {series}
    instants = [datetime.fromisoformat(by_id[i]["startTime"]).astimezone(UTC) for i in ids]
    assert [t.hour for t in instants] == [19, 19, 18, 18]  # 19:00 in London, GMT then BST
    assert collection(events.url, "/series/quiz-night")["totalItems"] == 4

    page = organiser.client.get("/events/quiz-night-2027-03-21")
    assert page.status_code == 200 and "All dates of this series" in page.text
    assert all(f'href="{i}"' in page.text for i in (ids[0], ids[2], ids[3]))
    edit = organiser.client.get("/events/quiz-night-2027-03-21/edit")
    assert "Change this and all following dates (2 more)" in edit.text

    # this and all following: the 2nd, 3rd and 4th dates change, each an Update
    answer = organiser.client.post("/events/quiz-night-2027-03-21/edit", data={
        **FORM, "start": "2027-03-21T19:30", "end": "2027-03-21T22:30", "name": "Pub quiz", "scope": "following",
        "csrf": organiser.csrf("/events/quiz-night-2027-03-21/edit"),
    })  # fmt: skip
    assert answer.status_code == 303, answer.text[:1000]
    updates = eventually(lambda: (found := received(server, "Update")) and len(found) >= 3 and found,
                         what="three Updates")  # fmt: skip
    assert sorted(u["object"]["id"] for u in updates) == sorted(ids[1:])
    assert {u["object"]["name"] for u in updates} == {"Pub quiz"}
    assert {u["object"]["startTime"][11:16] for u in updates} == {"19:30"}
    assert all(u["object"].get("updated") for u in updates)

    # this date only: just its own Update
    answer = organiser.client.post("/events/quiz-night-2027-03-14/edit", data={
        **FORM, "capacity": "20", "scope": "this", "csrf": organiser.csrf("/events/quiz-night-2027-03-14/edit"),
    })  # fmt: skip
    assert answer.status_code == 303, answer.text[:1000]
    updates = eventually(lambda: (found := received(server, "Update")) and len(found) >= 4 and found)
    assert [u["object"]["id"] for u in updates[3:]] == [ids[0]]
    bad = organiser.client.post("/events/quiz-night-2027-03-14/edit", data={
        **FORM, "scope": "everything", "csrf": organiser.csrf("/events/quiz-night-2027-03-14/edit"),
    })  # fmt: skip
    assert bad.status_code == 400 and "choose this date or this and all following dates" in bad.text

    # cancel this and all following: a Delete and a Note for each
    answer = organiser.client.post("/events/quiz-night-2027-03-28/cancel", data={
        "scope": "following", "csrf": organiser.csrf("/events/quiz-night-2027-03-28/edit"),
    })  # fmt: skip
    assert answer.status_code == 303
    deletes = eventually(lambda: (found := received(server, "Delete", "Tombstone")) and len(found) >= 2 and found)
    assert sorted(d["object"]["id"] for d in deletes) == sorted(ids[2:])

    def cancelled() -> list[dict[str, Any]]:
        return [n for n in received(server, "Create", "Note") if "Cancelled: " in n["object"]["content"]]

    notes = eventually(lambda: len(cancelled()) >= 2 and cancelled(), what="the Notes of the cancellations")
    assert sorted(n["object"]["context"] for n in notes) == sorted(ids[2:])

    def rescheduled() -> list[dict[str, Any]]:
        return [n for n in received(server, "Create", "Note") if "Rescheduled: " in n["object"]["content"]]

    moved = eventually(lambda: len(rescheduled()) >= 3 and rescheduled(), what="the Notes of the new time")
    assert sorted(n["object"]["context"] for n in moved) == sorted(ids[1:])  # the new time of day, told date by date
    assert len(received(server, "Update")) == 4  # nothing else was sent
    with httpx.Client(trust_env=False) as http:
        assert http.get(ids[1], headers={"Accept": AS2}).json()["type"] == "Event"
        assert http.get(ids[3], headers={"Accept": AS2}).json()["type"] == "Tombstone"
