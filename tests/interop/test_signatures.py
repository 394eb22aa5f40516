"""Both HTTP signature schemes, inbound. Fedify signs each activity with exactly the scheme a test forces
(no double-knock fallback) and our inbox answers which one it verified; a body that is not the signed one
is refused under either. And Fedify's own sending, which knocks with one scheme and falls back to the
other on refusal, gets through whichever scheme it tries first."""

from __future__ import annotations

import json
import secrets

import pytest

from tests.interop.conftest import Json, Rose, wait_until
from tests.interop.fedify import DRAFT_CAVAGE, RFC9421, FedifyPeer, Spec

pytestmark = pytest.mark.interop

SPECS = [RFC9421, DRAFT_CAVAGE]
OUR_NAME = {RFC9421: "rfc9421", DRAFT_CAVAGE: "draft-cavage"}


def follow_of(fedify: FedifyPeer, target: str) -> Json:
    return {
        "id": f"{fedify.origin}/follows/{secrets.token_hex(8)}",
        "type": "Follow",
        "actor": fedify.actor_id,
        "object": target,
    }


def assert_signed_with(sent: Json, spec: Spec) -> None:
    """What Fedify put on the wire is the scheme the test asked for, and only that one."""
    headers = sent["request_headers"]
    if spec == RFC9421:
        assert "signature-input" in headers and "content-digest" in headers, headers
        assert '"@method"' in headers["signature-input"] and '"@target-uri"' in headers["signature-input"]
    else:
        assert "signature-input" not in headers and "digest" in headers, headers
        assert 'headers="(request-target)' in headers["signature"]


@pytest.mark.parametrize("inbox", ["actor inbox", "shared inbox"])
@pytest.mark.parametrize("spec", SPECS)
def test_inbox_verifies_the_scheme_fedify_signed_with(fedify: FedifyPeer, rose: Rose, spec: Spec, inbox: str) -> None:
    shop = rose.shop
    follow = follow_of(fedify, shop.actor_id)
    sent = fedify.send(to=shop.actor_id, activity=follow, spec=spec, shared_inbox=inbox == "shared inbox")
    assert_signed_with(sent, spec)
    assert sent["inbox"] == (f"{shop.url}/inbox" if inbox == "shared inbox" else shop.inbox)
    assert sent["status"] == 202, sent
    assert json.loads(sent["body"]) == {"status": "processed", "id": follow["id"], "signature": OUR_NAME[spec]}

    # It took effect: our Accept of that Follow reaches Fedify, which verifies our signature in turn.
    accept = fedify.wait_for_inbox(lambda r: r["object_id"] == follow["id"], activity_type="Accept", timeout=20)
    assert accept["actor"] == shop.actor_id

    # The same activity again is a replay: recognised, changes nothing.
    again = fedify.send(to=shop.actor_id, activity=follow, spec=spec)
    assert again["status"] == 202, again
    assert json.loads(again["body"])["status"] == "duplicate"

    # Undo, signed the same way, is verified the same way.
    undo = {"id": f"{fedify.origin}/undos/{secrets.token_hex(8)}", "type": "Undo", "object": follow}
    sent = fedify.send(to=shop.actor_id, activity=undo, spec=spec)
    assert sent["status"] == 202, sent
    assert json.loads(sent["body"]) == {"status": "processed", "id": undo["id"], "signature": OUR_NAME[spec]}
    assert fedify.actor_id not in rose.item_ids(f"{shop.actor_id}/followers")


@pytest.mark.parametrize("spec", SPECS)
def test_inbox_refuses_a_body_that_is_not_the_signed_one(fedify: FedifyPeer, rose: Rose, spec: Spec) -> None:
    follow = follow_of(fedify, rose.shop.actor_id)
    sent = fedify.send(to=rose.shop.actor_id, activity=follow, spec=spec, tamper_body=True)
    assert sent["status"] == 401, sent
    assert fedify.actor_id not in rose.item_ids(f"{rose.shop.actor_id}/followers")


@pytest.mark.parametrize("spec", SPECS)
def test_inbox_refuses_an_unsigned_or_stale_post(fedify: FedifyPeer, rose: Rose, spec: Spec) -> None:
    unsigned = fedify.send(to=rose.shop.actor_id, activity=follow_of(fedify, rose.shop.actor_id), spec="none")
    assert unsigned["status"] == 401, unsigned
    stale = fedify.send(
        to=rose.shop.actor_id,
        activity=follow_of(fedify, rose.shop.actor_id),
        spec=spec,
        signed_at="2020-01-01T00:00:00Z",
    )
    assert stale["status"] == 401, stale


def test_fedify_knocking_with_draft_cavage_first_gets_through(rose: Rose, fedify: FedifyPeer) -> None:
    """The session's Fedify peer knocks with RFC 9421 first (its follows in test_follower get through);
    this one starts with draft-cavage, as Fedify does for servers it remembers that way."""
    with FedifyPeer(actor="bob", first_knock=DRAFT_CAVAGE) as bob:
        result = bob.follow(handle=rose.handle("shop"))
        assert result["ok"], result
        bob.wait_for_follow(result["follow_id"], timeout=20)
        wait_until(lambda: bob.actor_id in rose.item_ids(f"{rose.shop.actor_id}/followers"), "bob among followers")
