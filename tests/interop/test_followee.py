"""Fedify as the followee: our blog's admin follows the Fedify actor by its handle; the blog finds it by
WebFinger, fetches it with a signed GET that Fedify verifies, sends a signed Follow that Fedify verifies
and accepts, and both sides record the relationship."""

from __future__ import annotations

import pytest

from tests.interop.conftest import AS2, Json, Rose, wait_until
from tests.interop.fedify import FedifyPeer

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def blog_follows_fedify(fedify_session: FedifyPeer, rose_session: Rose) -> Json:
    target = rose_session.follow("blog", fedify_session.handle)
    follow = fedify_session.wait_for_inbox(activity_type="Follow", actor=rose_session.blog.actor_id, timeout=20)
    return {"target": target, "follow": follow}


def test_the_admin_follow_finds_the_fedify_actor_by_webfinger(fedify: FedifyPeer, blog_follows_fedify: Json) -> None:
    assert blog_follows_fedify["target"] == fedify.actor_id


def test_fedify_verifies_and_accepts_our_follow(fedify: FedifyPeer, rose: Rose, blog_follows_fedify: Json) -> None:
    follow = blog_follows_fedify["follow"]  # in Fedify's inbox: its signature verified
    assert follow["object_id"] == fedify.actor_id
    assert follow["id"].startswith(rose.blog.url + "/")
    delivery = wait_until(
        lambda: next((d for d in fedify.deliveries() if d["id"] == follow["id"]), None), "Fedify's answer to the POST"
    )
    assert delivery["status"] == 202 and delivery["unverified_reason"] is None, delivery
    assert delivery["signature_spec"] == "rfc9421"  # our first knock; the fallback is tested in test_signatures

    def answered() -> Json | None:
        reply: Json = next(r for r in fedify.inbox() if r["id"] == follow["id"])["reply"]
        return reply if reply["status"] != "pending" else None

    reply = wait_until(answered, "Fedify's answer to our Follow")
    assert reply["type"] == "Accept" and reply["status"] == "sent", reply
    assert rose.blog.actor_id in fedify.followers()


def test_both_sides_record_the_follow(fedify: FedifyPeer, rose: Rose, blog_follows_fedify: Json) -> None:
    following = f"{rose.blog.actor_id}/following"
    wait_until(lambda: fedify.actor_id in rose.item_ids(following), "the Fedify actor in the blog's following")
    assert rose.document(following)["totalItems"] >= 1
    # Fedify's followers collection, as anyone reads it.
    followers = rose.client.get(f"{fedify.actor_id}/followers", headers={"Accept": AS2})
    assert followers.status_code == 200, followers.text
    doc = followers.json()
    items = doc.get("orderedItems") or doc.get("items") or []
    assert rose.blog.actor_id in [i if isinstance(i, str) else i.get("id") for i in items], doc


def test_fedify_verifies_our_signed_gets_of_its_actor(
    fedify: FedifyPeer, rose: Rose, blog_follows_fedify: Json
) -> None:
    key_id = f"{rose.blog.actor_id}#main-key"
    gets = [r for r in fedify.requests() if r["path"] == "/users/alice" and r["key_id"] == key_id]
    assert gets, f"no signed GET of the actor from the blog: {fedify.requests()}"
    for get in gets:
        assert get["verified"] and get["key_owner"] == rose.blog.actor_id, get
    # Whatever else our peers fetched from Fedify signed, Fedify verified too.
    unverified = [r for r in fedify.requests() if not r["verified"]]
    assert not unverified, unverified
