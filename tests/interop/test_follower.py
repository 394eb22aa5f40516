"""Fedify as a follower: it finds our events and blog actors by WebFinger, follows them, and gets every
announcement (Create, Update, Delete of an Event or an Article) in its inbox, signed well enough for
Fedify to verify, and shaped well enough for Fedify's vocabulary to parse."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.interop.conftest import PUBLIC, Json, Rose
from tests.interop.fedify import FedifyPeer

pytestmark = pytest.mark.interop

LONDON = ZoneInfo("Europe/London")


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def london(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=LONDON)


def received(fedify: FedifyPeer, kind: str, object_id: str, actor: str) -> Json:
    """The activity of type `kind` about `object_id` that reached Fedify's inbox, verified."""
    record = fedify.wait_for_inbox(
        lambda r: object_id in (r.get("object_id"), (r.get("object") or {}).get("id")),
        activity_type=kind,
        actor=actor,
        timeout=20,
    )
    assert record["object_error"] is None, record["object_error"]
    assert record["dropped"] == [], f"terms Fedify's JSON-LD processor drops: {record['dropped']}"
    return record


def schedule(rose: Rose, name: str, start: str = "2027-07-01T19:00", end: str = "2027-07-01T23:00") -> str:
    return rose.c2s(
        "events",
        {
            "type": "Create",
            "object": {
                "type": "Event",
                "name": name,
                "startTime": start,
                "endTime": end,
                "timezone": "Europe/London",
                "location": {"type": "Place", "name": "The Hall", "address": "1 High Street"},
                "maximumAttendeeCapacity": 100,
                "price": "12.00",
            },
        },
    )


def assert_gone(fedify: FedifyPeer, rose: Rose, url: str, former_type: str) -> None:
    """The object's URL answers 410 Gone with a Tombstone, which Fedify parses."""
    response = rose.get(url)
    assert response.status_code == 410, response.text
    parsed = fedify.parse(response.json(), base_url=url)
    assert parsed["ok"], parsed
    assert (parsed["type"], parsed["id"], parsed["formerType"]) == ("Tombstone", url, former_type)
    assert parsed["deleted"], parsed
    assert parsed["dropped"] == []


# ------------------------------------------------------------------------------------------- events --


def test_fedify_finds_events_by_webfinger_and_follows(
    fedify: FedifyPeer, rose: Rose, fedify_follows: Callable[[str], Json]
) -> None:
    follow = fedify_follows("events")
    assert follow["webfinger"]["subject"] == f"acct:{rose.handle('events')}"
    assert follow["actor"] == rose.events.actor_id
    assert follow["inbox"] == rose.events.inbox
    state = next(f for f in fedify.following() if f["id"] == follow["follow_id"])
    assert state["state"] == "accepted"
    assert follow["accept"]["actor"] == rose.events.actor_id
    followers = f"{rose.events.actor_id}/followers"
    assert fedify.actor_id in rose.item_ids(followers)
    assert rose.document(followers)["totalItems"] >= 1


def test_scheduling_delivers_create_event(
    fedify: FedifyPeer, rose: Rose, fedify_follows: Callable[[str], Json]
) -> None:
    fedify_follows("events")
    name = f"Summer Gig {secrets.token_hex(3)}"
    event = schedule(rose, name)
    record = received(fedify, "Create", event, rose.events.actor_id)
    obj = record["object"]
    assert (obj["type"], obj["id"], obj["name"]) == ("Event", event, name)
    assert instant(obj["startTime"]) == london("2027-07-01T19:00")
    assert instant(obj["endTime"]) == london("2027-07-01T23:00")
    assert obj["location"] == {"type": "Place", "id": None, "name": "The Hall"}
    assert obj["attribution"] == rose.events.actor_id
    assert obj["url"] == event
    assert PUBLIC in obj["to"] and f"{rose.events.actor_id}/followers" in obj["cc"]


def test_rescheduling_delivers_update_event(
    fedify: FedifyPeer, rose: Rose, fedify_follows: Callable[[str], Json]
) -> None:
    fedify_follows("events")
    event = schedule(rose, f"Moved Gig {secrets.token_hex(3)}")
    received(fedify, "Create", event, rose.events.actor_id)
    rose.c2s(
        "events",
        {
            "type": "Update",
            "object": {"type": "Event", "id": event, "startTime": "2027-07-02T20:00", "endTime": "2027-07-02T23:30"},
        },
    )
    obj = received(fedify, "Update", event, rose.events.actor_id)["object"]
    assert obj["type"] == "Event"
    assert instant(obj["startTime"]) == london("2027-07-02T20:00")
    assert instant(obj["endTime"]) == london("2027-07-02T23:30")
    assert obj["location"]["name"] == "The Hall"
    assert obj["updated"], obj
    assert "2 July 2027, 20:00" in obj["summary"] and "1 July" not in obj["summary"] + obj["content"]


def test_cancelling_delivers_delete_and_leaves_a_tombstone(
    fedify: FedifyPeer, rose: Rose, fedify_follows: Callable[[str], Json]
) -> None:
    fedify_follows("events")
    event = schedule(rose, f"Called-off Gig {secrets.token_hex(3)}")
    received(fedify, "Create", event, rose.events.actor_id)
    rose.c2s("events", {"type": "Delete", "object": event})
    obj = received(fedify, "Delete", event, rose.events.actor_id)["object"]
    assert (obj["type"], obj["id"], obj["formerType"]) == ("Tombstone", event, "Event")
    assert obj["deleted"]
    assert_gone(fedify, rose, event, "Event")


# --------------------------------------------------------------------------------------------- blog --


def test_fedify_finds_blog_by_webfinger_and_follows(
    fedify: FedifyPeer, rose: Rose, fedify_follows: Callable[[str], Json]
) -> None:
    follow = fedify_follows("blog")
    assert follow["webfinger"]["subject"] == f"acct:{rose.handle('blog')}"
    assert follow["actor"] == rose.blog.actor_id
    assert fedify.actor_id in rose.item_ids(f"{rose.blog.actor_id}/followers")


def test_blog_post_lifecycle_reaches_fedify(
    fedify: FedifyPeer, rose: Rose, fedify_follows: Callable[[str], Json]
) -> None:
    fedify_follows("blog")
    title = f"Field notes {secrets.token_hex(3)}"
    post = rose.c2s("blog", {"type": "Create", "object": {"type": "Article", "name": title, "content": "First draft."}})
    obj = received(fedify, "Create", post, rose.blog.actor_id)["object"]
    assert (obj["type"], obj["id"], obj["name"]) == ("Article", post, title)
    assert "First draft." in obj["content"]
    assert obj["attribution"] == rose.blog.actor_id
    assert obj["published"]

    rose.c2s(
        "blog",
        {
            "type": "Update",
            "object": {"type": "Article", "id": post, "name": f"{title} (revised)", "content": "Final."},
        },
    )
    obj = received(fedify, "Update", post, rose.blog.actor_id)["object"]
    assert (obj["type"], obj["name"]) == ("Article", f"{title} (revised)")
    assert "Final." in obj["content"] and obj["updated"]

    rose.c2s("blog", {"type": "Delete", "object": post})
    obj = received(fedify, "Delete", post, rose.blog.actor_id)["object"]
    assert (obj["type"], obj["id"], obj["formerType"]) == ("Tombstone", post, "Article")
    assert_gone(fedify, rose, post, "Article")
